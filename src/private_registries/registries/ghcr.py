"""GitHub's container registry: the GitHub token is the password, the workflow's actor the username."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from private_registries import fixes
from private_registries.config import Registry
from private_registries.context import Context, Outcome
from private_registries.credential import Credential
from private_registries.errors import InputError

# Installation tokens (the job's GITHUB_TOKEN, GitHub App tokens) start with ghs_ and die with the job.
_JOB_TOKEN_PREFIX = "ghs_"


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    return [_resolve(registry, context) for registry in registries]


def _resolve(registry: Registry, context: Context) -> Outcome:
    password = registry.password or context.github_token
    if password is None:
        return InputError(
            f"{registry.source or registry.server}: no token for {registry.server}",
            hint=fixes.NO_GITHUB_TOKEN,
        )
    username = registry.username or context.env.get("GITHUB_ACTOR") or "x-access-token"
    lifetime = "end of the job" if password.reveal().startswith(_JOB_TOKEN_PREFIX) else None
    return Credential(
        replace(registry, username=username),
        username,
        password,
        lifetime=lifetime,
        rejected_hint=fixes.GITHUB_TOKEN_REFUSED,
    )
