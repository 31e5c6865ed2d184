"""Registries with a static username and password: any Distribution registry, Harbor, NGC, Docker Hub."""

from __future__ import annotations

from collections.abc import Sequence

from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import InputError
from private_registries.keychain import Context, Outcome


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    return [_static(registry) for registry in registries]


def _static(registry: Registry) -> Outcome:
    if not registry.username or registry.password is None:
        return InputError(f"{registry.source or registry.server}: needs a username and a password")
    return Credential(registry, registry.username, registry.password)
