"""Where registries are kept between runs: a local file by default, or GitHub Actions secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from private_registries.config import Registry


class Store(Protocol):
    description: str

    def entries(self) -> list[Registry]:
        """Every registry held. A store that cannot read secrets back gives them without passwords."""
        ...

    def add(self, registry: Registry) -> None: ...

    def remove(self, server: str) -> None:
        """Forget `server`; raise NoSuchRegistry if it is not held."""
        ...

    def credentials(self) -> list[Registry]:
        """Every registry with its password, for login; raise where the store cannot give them."""
        ...


@dataclass(frozen=True)
class StoreOptions:
    """Which store the command line chose (`--repo`/`--env`/`--org`, else the local file)."""

    repo: str | None = None
    environment: str | None = None
    org: str | None = None
    path: Path | None = None

    @property
    def is_github(self) -> bool:
        return bool(self.repo or self.org)


def open_store(options: StoreOptions, env: Mapping[str, str]) -> Store:
    if options.is_github:
        from private_registries.store.github import GitHubStore

        return GitHubStore.from_options(options, env)
    from private_registries.store.local import LocalStore

    return LocalStore(options.path or LocalStore.default_path(env), env)
