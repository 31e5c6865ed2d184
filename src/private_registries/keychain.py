"""The keychain: turns each registry entry into a credential, the way its type says.

Static entries (basic, dockerhub) are used as they are; GHCR takes the GitHub token; ECR exchanges
AWS credentials. Each type's module is imported only when an entry of that type is present (boto3
is slow to import), and each gets all its entries at once, so it can batch (one ECR call per region).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.hosts import RegistryType
from private_registries.secret import Secret
from private_registries.transport import Transport

Outcome = Credential | RegistriesError

_MODULES = {
    RegistryType.BASIC: "basic",
    RegistryType.DOCKERHUB: "basic",
    RegistryType.GHCR: "ghcr",
    RegistryType.ECR: "ecr",
    RegistryType.ECR_PUBLIC: "ecr",
}


@dataclass(frozen=True)
class Context:
    """What resolvers may use: the environment (explicit, never os.environ), HTTP, the GitHub token."""

    env: Mapping[str, str]
    transport: Transport
    github_token: Secret | None = None
    aws_role_to_assume: str | None = None  # for ECR entries that name no role of their own
    aws_region: str | None = None  # for ECR entries whose region nothing else tells


class Resolver(Protocol):
    def __call__(self, registries: Sequence[Registry], context: Context) -> list[Outcome]: ...


def resolve_all(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    """A credential (or the reason there is none) for each registry, in the same order."""
    with ThreadPoolExecutor(max_workers=len(_MODULES)) as pool:
        return [future.result() for future in resolve_async(registries, context, pool)]


def resolve_async(registries: Sequence[Registry], context: Context, pool: Executor) -> list[Future[Outcome]]:
    """One future per registry, each done as soon as its kind's resolver is: a caller can start
    using the static credentials while ECR tokens are still being exchanged."""
    futures: list[Future[Outcome]] = [Future() for _ in registries]
    groups: dict[str, list[int]] = {}
    for index, registry in enumerate(registries):
        groups.setdefault(_MODULES[registry.type], []).append(index)

    def run(module_name: str, indexes: list[int]) -> None:
        try:
            module = importlib.import_module(f"private_registries.registries.{module_name}")
            resolver: Resolver = module.resolve
            outcomes = resolver([registries[i] for i in indexes], context)
        except BaseException as exc:
            for index in indexes:
                futures[index].set_exception(exc)
            raise
        for index, outcome in zip(indexes, outcomes, strict=True):
            futures[index].set_result(outcome)

    for name, indexes in groups.items():
        pool.submit(run, name, indexes)
    return futures


def automatic(servers: Sequence[str], context: Context) -> list[Registry]:
    """Registries we may use without an entry, when an image needs them: ghcr.io with the GitHub
    token, ECR hosts with the AWS credentials of the environment (or the job's role)."""
    from private_registries.hosts import detect_type
    from private_registries.registries.ghcr import github_token

    found = []
    for server in servers:
        kind = detect_type(server)
        if kind == RegistryType.GHCR and github_token(context):
            found.append(Registry(server, None, None, kind, source="automatic (GitHub token)"))
        elif kind in {RegistryType.ECR, RegistryType.ECR_PUBLIC} and aws_credentials_in(context):
            found.append(Registry(server, None, None, kind, source="automatic (AWS credentials)"))
    return found


# What says the environment holds AWS credentials (without asking AWS): keys, a profile, a web
# identity (IRSA), container credentials (ECS, EKS Pod Identity).
_AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def aws_credentials_in(context: Context) -> bool:
    """Whether to exchange AWS credentials for an ECR image nobody named: only when there are some
    (a public ECR image pulls anonymously; a private one then fails its pre-flight, named)."""
    return bool(context.aws_role_to_assume) or any(
        context.env.get(name) for name in _AWS_CREDENTIAL_VARIABLES
    )
