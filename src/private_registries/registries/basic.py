"""Registries with a static username and password: any Distribution registry, Harbor, NGC, Docker Hub."""

from __future__ import annotations

from collections.abc import Sequence

from private_registries.config import Registry
from private_registries.context import Context, Outcome
from private_registries.credential import Credential
from private_registries.errors import InputError
from private_registries.secret import Secret


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    return [_static(registry) for registry in registries]


# Docker's convention (docker-credential-helpers): this username means the password is an identity
# token, an OAuth refresh token that the registry's realm trades for access tokens.
IDENTITY_TOKEN_USERNAME = "<token>"


def _static(registry: Registry) -> Outcome:
    if not registry.username or registry.password is None:
        return InputError(f"{registry.source or registry.server}: needs a username and a password")
    if registry.username == IDENTITY_TOKEN_USERNAME:
        return Credential(registry, registry.username, Secret(""), identity_token=registry.password)
    return Credential(registry, registry.username, registry.password)
