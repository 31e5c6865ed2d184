"""What resolving a credential may use, and what it gives: the resolvers' side of the keychain.

It sits apart from the keychain so that the resolvers (registries/*) and the keychain that calls
them both import it, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from private_registries.auth.endpoint import Endpoints
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import RegistriesError, internal_error
from private_registries.oidc import JobTokens
from private_registries.secret import Secret
from private_registries.transport import Transport

Outcome = Credential | RegistriesError
K = TypeVar("K")

# What says the environment holds AWS credentials (without asking AWS): keys, a profile, a web
# identity (IRSA), container credentials (ECS, EKS Pod Identity).
AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@dataclass(frozen=True, kw_only=True)
class Context:
    """The environment (an explicit mapping, never os.environ), HTTP, and the job's own identities."""

    env: Mapping[str, str]
    transport: Transport
    github_token: Secret | None = None  # for ghcr.io: the action's input, else GITHUB_TOKEN / GH_TOKEN
    aws_role_to_assume: str | None = None  # for ECR entries that name no role of their own
    aws_region: str | None = None  # for ECR entries whose region nothing else tells
    fork_pull_request: bool = False  # GitHub gives such a job no secrets and no OIDC token
    # The keyless clouds' defaults, for entries (and images nobody named) that set none of their own.
    gcp_workload_identity_provider: str | None = None
    gcp_service_account: str | None = None
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    # Shared by every resolution: the job's OIDC token of each audience, and each registry's scheme.
    job_tokens: JobTokens = field(init=False, repr=False, compare=False)
    endpoints: Endpoints = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = JobTokens(self.env, self.transport, fork=self.fork_pull_request)
        object.__setattr__(self, "job_tokens", tokens)
        object.__setattr__(self, "endpoints", Endpoints(self.transport))

    @property
    def has_aws_credentials(self) -> bool:
        """Whether to exchange AWS credentials for an ECR image nobody named: only when there are some
        (a public ECR image pulls anonymously; a private one then fails its pre-flight, named)."""
        return bool(self.aws_role_to_assume) or any(self.env.get(name) for name in AWS_CREDENTIAL_VARIABLES)

    @property
    def has_gcp_identity(self) -> bool:
        return bool(self.gcp_workload_identity_provider)

    @property
    def has_azure_identity(self) -> bool:
        return bool(self.azure_client_id and self.azure_tenant_id)


def github_token_from(env: Mapping[str, str]) -> Secret | None:
    """The GitHub token a command finds in its environment."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if env.get(name):
            return Secret(env[name])
    return None


def by_group(
    registries: Sequence[Registry],
    sort: Callable[[Registry], K | Outcome],
    exchange: Callable[[K, list[Registry]], list[Outcome]],
) -> list[Outcome]:
    """Each registry's outcome, in order: settled at once where `sort` gives one (a password of its own,
    a field missing), else by its group's `exchange` (one call per region, identity, connection),
    every group at once. A group's failure, or a bug met in it, costs that group's registries only."""
    outcomes: list[Outcome | None] = [None] * len(registries)
    groups: dict[K, list[int]] = {}
    for index, registry in enumerate(registries):
        key = sort(registry)
        if isinstance(key, Credential | RegistriesError):
            outcomes[index] = key
        else:
            groups.setdefault(key, []).append(index)

    def run(key: K, indexes: list[int]) -> None:
        members = [registries[index] for index in indexes]
        try:
            results = exchange(key, members)
        except RegistriesError as error:
            results = [named(registry, error) for registry in members]
        except Exception as exc:  # a bug, met with one group
            results = [internal_error(registry.server, exc) for registry in members]
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = result

    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        for future in [pool.submit(run, key, indexes) for key, indexes in groups.items()]:
            future.result()
    return [outcome for outcome in outcomes if outcome is not None]


def named(registry: Registry, error: RegistriesError) -> RegistriesError:
    """A group's failure as this registry's own: its message starts with the server."""
    if error.message.startswith(f"{registry.server}: "):
        return error
    return error.reworded(f"{registry.server}: {error.message}", error.hint)


class Resolver(Protocol):
    """A kind of registry's exchange: an outcome for each registry, in order (so it can batch)."""

    def __call__(self, registries: Sequence[Registry], context: Context) -> list[Outcome]: ...
