"""Where registries are kept between runs: a local file by default, or GitHub Actions secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from private_registries.config import Registry
from private_registries.errors import Caveat
from private_registries.store.options import StoreOptions


class Store(Protocol):
    description: str
    caveats: list[Caveat]  # what reading it found worth a warning (a file others can read)

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


def open_store(options: StoreOptions, env: Mapping[str, str]) -> Store:
    if options.is_github:
        from private_registries.store.github import GitHubStore

        return GitHubStore.from_options(options, env)
    from private_registries.store.local import LocalStore

    return LocalStore(options.path or LocalStore.default_path(env), env)
