"""The embedded default store: a JSON file, mode 0600, written atomically under a lock."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from private_registries.config import Registry, parse_entries
from private_registries.errors import Caveat, Location, NoSuchRegistry, StoreError
from private_registries.fsutil import atomic_write, ensure_private_dir, locked

FORMAT_VERSION = 1


class LocalStore:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env
        self.description = f"local store {path}"
        self.caveats: list[Caveat] = []

    @staticmethod
    def default_path(env: Mapping[str, str]) -> Path:
        base = env.get("XDG_CONFIG_HOME") or os.path.join(
            env.get("HOME") or os.path.expanduser("~"), ".config"
        )
        return Path(base) / "private-registries" / "registries.json"

    def entries(self) -> list[Registry]:
        return self._read()

    def credentials(self) -> list[Registry]:
        return self._read()

    def add(self, registry: Registry) -> None:
        ensure_private_dir(self.path.parent)
        with locked(self.path):
            registries = {r.server: r for r in self._read()}
            registries[registry.server] = registry
            self._write(list(registries.values()))

    def remove(self, server: str) -> None:
        if not self.path.exists():
            raise NoSuchRegistry(server)
        with locked(self.path):
            registries = self._read()
            kept = [r for r in registries if r.server != server]
            if len(kept) == len(registries):
                raise NoSuchRegistry(server)
            self._write(kept)

    def _read(self) -> list[Registry]:
        try:
            raw = self.path.read_bytes()
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot read {self.description}: {exc.strerror}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            caveat = Caveat(
                f"{self.path} is readable by other users; run: chmod 600 {self.path}",
                Location(str(self.path)),
            )
            if caveat not in self.caveats:
                self.caveats.append(caveat)
        try:
            data: Any = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = (
                f" (line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            )
            raise StoreError(
                f"{self.path} is not valid JSON{where}; it was left as it is",
                hint="fix the file, or move it away to start a new store",
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("registries"), list):
            raise StoreError(
                f'{self.path} is not a registries store (no "registries" list); it was left as it is',
                hint="move it away to start a new store",
            )
        return parse_entries(data["registries"], str(self.path), self.env)

    def _write(self, registries: list[Registry]) -> None:
        document = {"version": FORMAT_VERSION, "registries": [r.to_entry() for r in registries]}
        try:
            atomic_write(self.path, (json.dumps(document, indent=2) + "\n").encode())
        except OSError as exc:
            raise StoreError(f"cannot write {self.description}: {exc.strerror}") from None
