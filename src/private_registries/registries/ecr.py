"""Amazon ECR (private and Public): trade AWS credentials for a 12-hour registry password.

Private registries are grouped by region (and role, and FIPS): one GetAuthorizationToken call
serves every account of a group. ECR Public has one token, from us-east-1.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from private_registries.aws import UNREADABLE, Aws, describe
from private_registries.config import Registry
from private_registries.context import Context, Outcome, by_group, named
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.hosts import RegistryType, parse_ecr
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure

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
    aws = Aws(
        context.env, context.transport, fork_pull_request=context.fork_pull_request, tokens=context.job_tokens
    )

    def exchange(group: _Group, members: list[Registry]) -> list[Outcome]:
        return _public(aws, group, members) if group.public else _private(aws, group, members)

    return by_group(registries, lambda registry: _group_of(registry, context), exchange)


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
    call, found = _called(
        aws,
        call,
        "ecr",
        lambda: aws.client("ecr", group.region, role=group.role, fips=group.fips),
        lambda client: client.get_authorization_token(registryIds=accounts),
    )
    listed = found.get("authorizationData") if isinstance(found, dict) else None
    if not isinstance(listed, list) or not all(isinstance(d, dict) for d in listed):
        raise aws.malformed(call, "ecr", "no authorizationData")
    by_account = {_endpoint_account(d.get("proxyEndpoint")): d for d in listed}
    results: list[Outcome] = []
    for registry in members:
        data = by_account.get(_account(registry))
        if data is None:
            results.append(
                RegistriesError(f"{registry.server}: {call}: AWS returned no token for this account")
            )
            continue
        results.append(_credential(aws, call, "ecr", registry, data))
    return results


def _public(aws: Aws, group: _Group, members: list[Registry]) -> list[Outcome]:
    call, found = _called(
        aws,
        "ECR Public GetAuthorizationToken",
        "ecr-public",
        lambda: aws.client("ecr-public", ECR_PUBLIC_REGION, role=group.role),
        lambda client: client.get_authorization_token(),
    )
    data = found.get("authorizationData") if isinstance(found, dict) else None
    if not isinstance(data, dict):
        raise aws.malformed(call, "ecr-public", "no authorizationData")
    return [_credential(aws, call, "ecr-public", registry, data) for registry in members]


def _called(
    aws: Aws, call: str, service: str, make: Callable[[], Any], ask: Callable[[Any], Any]
) -> tuple[str, Any]:
    """The call's answer, and the call named with the endpoint it went to; botocore's failures (and the
    transport's) described for a user."""
    from botocore.parsers import ResponseParserError

    try:
        client = make()
    except RegistriesError:
        raise
    except Exception as exc:  # botocore's errors, described for a user
        raise describe(exc, call, fork=aws.fork_pull_request) from None
    call = f"{call} at {client.meta.endpoint_url}"
    try:
        return call, ask(client)
    except NetworkFailure as failure:
        raise aws.unreachable(call, service, failure) from None
    except (ResponseParserError, *UNREADABLE):
        api = "ECR Public" if service == "ecr-public" else "ECR"
        raise aws.malformed(call, service, f"something that is not an {api} answer") from None
    except Exception as exc:
        raise describe(exc, call, fork=aws.fork_pull_request) from None


def _credential(aws: Aws, call: str, service: str, registry: Registry, data: dict[str, Any]) -> Outcome:
    """The registry's credential from its authorizationData, or its failure naming what was wrong."""
    token = data.get("authorizationToken")
    if token is None:
        return named(
            registry, aws.malformed(call, service, "an authorizationData without an authorizationToken")
        )
    if isinstance(token, str):
        Secret(token)  # masked, whatever it turns out to hold
    try:
        decoded = base64.b64decode(token, validate=True) if isinstance(token, str) else None
    except ValueError:
        decoded = None
    if decoded is None:
        return named(registry, aws.malformed(call, service, "an authorizationToken that is not base64"))
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return named(registry, aws.malformed(call, service, "an authorizationToken that is not UTF-8"))
    username, colon, password = text.partition(":")
    if not (colon and password):
        return named(
            registry, aws.malformed(call, service, "an authorizationToken that is not USER:PASSWORD")
        )
    expires = data.get("expiresAt")
    return Credential(
        replace(registry, username=username or USERNAME),
        username or USERNAME,
        Secret(password),
        expires_at=expires if isinstance(expires, datetime) else None,
    )


def _endpoint_account(endpoint: object) -> str:
    """`https://123456789012.dkr.ecr.us-east-1.amazonaws.com` -> `123456789012` ("" if not a string)."""
    if not isinstance(endpoint, str):
        return ""
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0]
