"""GitHub's container registry: the GitHub token is the password, the workflow's actor the username."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import InputError
from private_registries.keychain import Context, Outcome
from private_registries.secret import Secret

REJECTED = (
    "the GitHub token was refused: it may have expired (the job's GITHUB_TOKEN lives only as long as the "
    "job) or lack access to the packages; give the job\n  permissions:\n    packages: read\n"
    "or use a personal access token with read:packages"
)
# Installation tokens (the job's GITHUB_TOKEN, GitHub App tokens) start with ghs_ and die with the job.
_JOB_TOKEN_PREFIX = "ghs_"


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    return [_resolve(registry, context) for registry in registries]


def github_token(context: Context) -> Secret | None:
    if context.github_token:
        return context.github_token
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if context.env.get(name):
            return Secret(context.env[name])
    return None


def _resolve(registry: Registry, context: Context) -> Outcome:
    password = registry.password or github_token(context)
    if password is None:
        return InputError(
            f"{registry.source or registry.server}: no token for {registry.server}",
            hint="give the action github-token (the default is the job's token), set GITHUB_TOKEN, "
            "or add a password-env naming a personal access token with read:packages",
        )
    username = registry.username or context.env.get("GITHUB_ACTOR") or "x-access-token"
    lifetime = "end of the job" if password.reveal().startswith(_JOB_TOKEN_PREFIX) else None
    return Credential(
        replace(registry, username=username), username, password, lifetime=lifetime, rejected_hint=REJECTED
    )
