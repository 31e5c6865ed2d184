"""The embedded default store: a JSON file, mode 0600, written atomically under a lock.

An entry that cannot be read (edited by hand, written by an older version) costs only itself: it is
named in a warning, left in the file as it is, and the others are listed, added and removed as usual.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from private_registries.config import Registry, parse_entry
from private_registries.errors import Caveat, InputError, Location, NoSuchRegistry, StoreError
from private_registries.fsutil import atomic_write, ensure_private_dir, locked
from private_registries.hosts import parse_server

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
        return _good(self._read())

    def credentials(self) -> list[Registry]:
        return _good(self._read())

    def add(self, registry: Registry) -> None:
        try:
            ensure_private_dir(self.path.parent)
            with locked(self.path):
                items = self._read()
                # in the place of the one it replaces, if any
                at = next((i for i, item in enumerate(items) if item.server == registry.server), len(items))
                kept = [item for item in items if item.server != registry.server]
                kept.insert(at, registry)
                self._write(kept)
        except OSError as exc:  # the folder or the lock (_read and _write say their own)
            raise self._cannot_write(exc) from None

    def remove(self, server: str) -> None:
        if not self.path.exists():
            raise NoSuchRegistry(server)
        try:
            with locked(self.path):
                items = self._read()
                kept = [item for item in items if item.server != server]
                if len(kept) == len(items):
                    raise NoSuchRegistry(server)
                self._write(kept)
        except OSError as exc:
            raise self._cannot_write(exc) from None

    def _cannot_write(self, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write {self.description}: {exc.strerror or type(exc).__name__}; it was left as it is",
            hint=f"make {self.path.parent} writable, or name another store file with --store FILE",
        )

    def _read(self) -> list[Registry | _Unreadable]:
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
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
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
        items: list[Registry | _Unreadable] = []
        for index, entry in enumerate(data["registries"], 1):
            try:
                items.append(parse_entry(entry, f"{self.path}: entry {index}", self.env))
            except InputError as error:
                items.append(_Unreadable(entry))
                caveat = Caveat(
                    f"{error.message}; the entry was skipped and left in the file as it is "
                    "(registries add SERVER ... replaces it, registries remove SERVER drops it)",
                    Location(str(self.path)),
                )
                if caveat not in self.caveats:
                    self.caveats.append(caveat)
        return items

    def _write(self, items: list[Registry | _Unreadable]) -> None:
        entries = [item.to_entry() for item in items]
        document = {"version": FORMAT_VERSION, "registries": entries}
        try:
            atomic_write(self.path, (json.dumps(document, indent=2) + "\n").encode())
        except OSError as exc:
            raise self._cannot_write(exc) from None


class _Unreadable:
    """An entry of the file that is not a valid registry: kept, byte for byte as JSON gives it back."""

    def __init__(self, entry: object) -> None:
        self.entry = entry

    @property
    def server(self) -> str | None:
        """Its server as `add` and `remove` would name it, if it has one that can be read."""
        server = self.entry.get("server") if isinstance(self.entry, dict) else None
        if not isinstance(server, str):
            return None
        try:
            return parse_server(server, "")
        except InputError:
            return server.strip()

    def to_entry(self) -> object:
        return self.entry


def _good(items: list[Registry | _Unreadable]) -> list[Registry]:
    return [item for item in items if isinstance(item, Registry)]
