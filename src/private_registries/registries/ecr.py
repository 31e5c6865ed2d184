"""Amazon ECR (private and Public): trade AWS credentials for a 12-hour registry password.

Private registries are grouped by region (and role, and FIPS): one GetAuthorizationToken call
serves every account of a group. ECR Public has one token, from us-east-1.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from private_registries.aws import Aws, describe
from private_registries.config import Registry
from private_registries.context import Context, Outcome
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.hosts import RegistryType, parse_ecr
from private_registries.secret import Secret

ECR_PUBLIC_REGION = "us-east-1"
USERNAME = "AWS"


@dataclass(frozen=True)
class _Group:
    """Registries that one call can serve."""

    public: bool
    region: str
    role: str | None
    fips: bool


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    aws = Aws(context.env, context.transport, fork_pull_request=context.fork_pull_request)
    groups: dict[_Group, list[int]] = {}
    for index, registry in enumerate(registries):
        groups.setdefault(_group_of(registry, context), []).append(index)
    outcomes: list[Outcome | None] = [None] * len(registries)

    def exchange(group: _Group, indexes: list[int]) -> None:
        members = [registries[i] for i in indexes]
        try:
            results = _public(aws, group, members) if group.public else _private(aws, group, members)
        except RegistriesError as error:
            results = [error] * len(members)
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = result

    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        for future in [pool.submit(exchange, group, indexes) for group, indexes in groups.items()]:
            future.result()
    return [outcome for outcome in outcomes if outcome is not None]


def _group_of(registry: Registry, context: Context) -> _Group:
    role = registry.aws_role_to_assume or context.aws_role_to_assume
    if registry.type == RegistryType.ECR_PUBLIC:
        return _Group(True, ECR_PUBLIC_REGION, role, False)
    host = parse_ecr(registry.server)
    region = registry.aws_region or (host.region if host else None) or context.aws_region or ""
    return _Group(False, region, role, bool(host and host.fips))


def _account(registry: Registry) -> str:
    host = parse_ecr(registry.server)
    return registry.aws_account or (host.account if host else "")


def _private(aws: Aws, group: _Group, members: list[Registry]) -> list[Outcome]:
    accounts = sorted({_account(r) for r in members})
    call = f"ECR GetAuthorizationToken in {group.region} for {', '.join(accounts)}"
    try:
        client = aws.client("ecr", group.region, role=group.role, fips=group.fips)
        answer = client.get_authorization_token(registryIds=accounts)
    except RegistriesError:
        raise
    except Exception as exc:  # botocore's errors, described for a user
        raise describe(exc, call, fork=aws.fork_pull_request) from None
    by_account = {
        _endpoint_account(d.get("proxyEndpoint", "")): d for d in answer.get("authorizationData", [])
    }
    results: list[Outcome] = []
    for registry in members:
        data = by_account.get(_account(registry))
        if data is None:
            results.append(
                RegistriesError(f"{registry.server}: {call}: AWS returned no token for this account")
            )
            continue
        results.append(_credential(registry, data))
    return results


def _public(aws: Aws, group: _Group, members: list[Registry]) -> list[Outcome]:
    call = "ECR Public GetAuthorizationToken"
    try:
        client = aws.client("ecr-public", ECR_PUBLIC_REGION, role=group.role)
        data = client.get_authorization_token()["authorizationData"]
    except RegistriesError:
        raise
    except Exception as exc:
        raise describe(exc, call, fork=aws.fork_pull_request) from None
    return [_credential(registry, data) for registry in members]


def _credential(registry: Registry, data: dict[str, Any]) -> Credential:
    token = Secret(data["authorizationToken"])
    username, _, password = base64.b64decode(token.reveal()).decode().partition(":")
    expires = data.get("expiresAt")
    return Credential(
        replace(registry, username=username or USERNAME),
        username or USERNAME,
        Secret(password),
        expires_at=expires if isinstance(expires, datetime) else None,
    )


def _endpoint_account(endpoint: str) -> str:
    """`https://123456789012.dkr.ecr.us-east-1.amazonaws.com` -> `123456789012`."""
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0]
