"""Google Artifact Registry and Container Registry, keyless: the job's OIDC token exchanged at Google's
STS for a federated token (RFC 8693), then, with a service account, `generateAccessToken` on IAM
Credentials. Docker's username is `oauth2accesstoken`, the password the access token (an hour).

google-auth's identity-pool credentials do the exchange, as google-github-actions/auth has it done;
their HTTP goes through our transport (bounds, retries, CA bundle). Registries of one identity (the
same provider and service account) share one exchange; identities are exchanged side by side.
An entry with a password (a service account key, `_json_key`) is used as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests

from private_registries import fixes, oidc
from private_registries.config import Registry
from private_registries.context import Context, Outcome, by_group
from private_registries.credential import Credential
from private_registries.errors import ErrorKind, InputError, RegistriesError
from private_registries.registries import answers
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure, Transport

USERNAME = "oauth2accesstoken"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
STS = "https://sts.googleapis.com"
IAM = "https://iamcredentials.googleapis.com"
# Where the exchanges go instead (a Private Service Connect endpoint, a test's stand-in): a base URL.
STS_VARIABLE = "REGISTRIES_GCP_STS_ENDPOINT"
IAM_VARIABLE = "REGISTRIES_GCP_IAM_ENDPOINT"
LIFETIME = 3600


@dataclass(frozen=True)
class _Identity:
    provider: str
    service_account: str | None


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    def exchange(identity: _Identity, members: list[Registry]) -> list[Outcome]:
        token, expiry = _exchange(identity, context)
        return [
            Credential(
                replace(registry, username=USERNAME),
                USERNAME,
                token,
                expires_at=expiry,
                rejected_hint=fixes.GCP_READER,
            )
            for registry in members
        ]

    return by_group(registries, lambda registry: _identity(registry, context), exchange)


def _identity(registry: Registry, context: Context) -> _Identity | Outcome:
    """The identity the registry is read as, or its outcome at once: its own password (a service
    account key, `_json_key`), or no provider to ask."""
    if registry.password is not None:
        username = registry.username or USERNAME
        return Credential(replace(registry, username=username), username, registry.password)
    provider = registry.workload_identity_provider or context.gcp_workload_identity_provider
    if not provider:
        return InputError(
            f"{registry.source or registry.server}: no workload identity provider for {registry.server}",
            hint=fixes.NO_PROVIDER,
        )
    # the job's service account goes with the job's provider, not with an entry's own
    account = registry.service_account or (
        None if registry.workload_identity_provider else context.gcp_service_account
    )
    return _Identity(provider, account)


def audience(provider: str) -> str:
    """What google-github-actions/auth asks the job's token for: the provider's default audience."""
    return f"https://iam.googleapis.com/{provider}"


def _exchange(identity: _Identity, context: Context) -> tuple[Secret, datetime.datetime | None]:
    from google.auth import exceptions, identity_pool

    job_token = context.job_tokens.token(audience(identity.provider))
    http = _Request(context.transport)
    sts, iam = _base(context.env, STS_VARIABLE, STS), _base(context.env, IAM_VARIABLE, IAM)
    account = identity.service_account
    credentials = identity_pool.Credentials(
        audience=f"//iam.googleapis.com/{identity.provider}",
        subject_token_type="urn:ietf:params:oauth:token-type:jwt",  # noqa: S106 (a type's name)
        token_url=f"{sts}/v1/token",
        subject_token_supplier=_JobToken(job_token),
        service_account_impersonation_url=(
            f"{iam}/v1/projects/-/serviceAccounts/{account}:generateAccessToken" if account else None
        ),
        service_account_impersonation_options={"token_lifetime_seconds": LIFETIME} if account else {},
        scopes=[SCOPE],
    )
    try:
        credentials.refresh(http)
    except NetworkFailure as failure:
        raise RegistriesError(f"{http.called()}: {failure.reason}", kind=failure.kind) from None
    except (exceptions.GoogleAuthError, ValueError, KeyError, TypeError):
        raise _refused(http, identity, job_token) from None
    token = credentials.token
    if not isinstance(token, str) or not token:
        raise RegistriesError(f"{http.called()} answered without a token", kind=ErrorKind.PROTOCOL)
    expiry = credentials.expiry
    if isinstance(expiry, datetime.datetime) and expiry.tzinfo is None:  # google-auth's naive UTC
        expiry = expiry.replace(tzinfo=datetime.UTC)
    return Secret(token), expiry if isinstance(expiry, datetime.datetime) else None


def _base(env: Mapping[str, str], variable: str, default: str) -> str:
    return (env.get(variable) or default).rstrip("/")


def _refused(http: _Request, identity: _Identity, job_token: Secret) -> RegistriesError:
    """What Google said, and the fix on Google's side for it."""
    response = http.last
    if response is None:  # google-auth failed before asking
        return RegistriesError("Google's token exchange failed before it was sent", kind=ErrorKind.PROTOCOL)
    said = answers.refusal(response)
    if "generateAccessToken" in response.url and identity.service_account:
        return RegistriesError(
            f"Google IAM refused to let this job impersonate {identity.service_account}: {said}",
            kind=ErrorKind.FORBIDDEN,
            hint=fixes.impersonation_refused(identity.service_account, identity.provider),
        )
    if response.status_code == 200:
        return RegistriesError(
            f"{http.called()} answered something that is not a token", kind=ErrorKind.PROTOCOL
        )
    return RegistriesError(
        f"Google STS refused the job's token for {identity.provider}: {said}",
        kind=ErrorKind.REJECTED,
        hint=fixes.provider_refused(identity.provider, oidc.said(job_token)),
    )


class _JobToken:
    """google-auth's subject token supplier: the job's token, already fetched."""

    def __init__(self, token: Secret) -> None:
        self.token = token

    def get_subject_token(self, context: Any, request: Any) -> str:
        return self.token.reveal()


class _Response:
    """google-auth's Response, from ours."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.data = response.content


class _Request:
    """google-auth's Request: its calls, sent through our transport; the last answer kept for errors."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.last: requests.Response | None = None
        self.url = ""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        self.url = url
        response = self.transport.request(method, url, headers=dict(headers or {}), data=body)
        self.last = response
        for token in _tokens_in(response):
            Secret(token)  # masked the moment it exists
        return _Response(response)

    def called(self) -> str:
        name = "Google IAM Credentials" if "generateAccessToken" in self.url else "Google STS"
        return f"{name} at {self.url.split('?', 1)[0]}"


def _tokens_in(response: requests.Response) -> list[str]:
    data = answers.json_of(response)
    return [
        value for key in ("access_token", "accessToken") if isinstance(value := data.get(key), str) and value
    ]
