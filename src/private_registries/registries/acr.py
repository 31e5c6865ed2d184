"""Azure Container Registry, keyless: the job's OIDC token (audience `api://AzureADTokenExchange`) as a
client assertion to Entra ID for an access token, then each registry's `/oauth2/exchange` for a
refresh token, which docker uses as the password of the null GUID user (what `az acr login` does).

msal asks Entra ID, its HTTP sent through our transport; one Entra token serves every registry of
an identity (tenant, client id, cloud); the registries' exchanges run side by side. An entry with a
password (a repository-scoped token, the admin user, a service principal's secret) is used as it is.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import requests

from private_registries import fixes, oidc
from private_registries.config import Registry
from private_registries.context import Context, Outcome, by_group
from private_registries.credential import Credential
from private_registries.errors import ErrorKind, InputError, RegistriesError
from private_registries.hosts import AZURE_CLOUDS, AzureCloud, azure_cloud
from private_registries.registries import answers
from private_registries.secret import Secret
from private_registries.text import cut
from private_registries.transport import NetworkFailure, Transport

USERNAME = "00000000-0000-0000-0000-000000000000"
AUDIENCE = "api://AzureADTokenExchange"
AUTHORITY_VARIABLE = "AZURE_AUTHORITY_HOST"  # azure-identity's own: a sovereign cloud, a stand-in
REFRESH_LIFETIME = datetime.timedelta(hours=3)  # ACR's refresh tokens, when theirs cannot be read
_PUBLIC = AZURE_CLOUDS[".azurecr.io"]
# Entra ID's refusals a user can act on, by code.
_UNKNOWN_TENANT = "AADSTS90002"
_UNKNOWN_CLIENT = "AADSTS700016"
_NO_FEDERATED_CREDENTIAL = ("AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213")


@dataclass(frozen=True)
class _Identity:
    tenant: str
    client_id: str
    authority_host: str
    resource: str


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    def exchange(identity: _Identity, members: list[Registry]) -> list[Outcome]:
        token = _entra_token(identity, context)
        with ThreadPoolExecutor(max_workers=len(members)) as pool:
            return list(pool.map(lambda r: _registry_token(r, identity, token, context), members))

    return by_group(registries, lambda registry: _sort(registry, context), exchange)


def _sort(registry: Registry, context: Context) -> _Identity | Outcome:
    """The identity the registry is logged in to as, or its outcome at once: its own username and
    password (a repository-scoped token, the admin user), or no identity to use."""
    if registry.password is not None:
        if not registry.username:
            return InputError(f"{registry.source or registry.server}: a password needs a username beside it")
        return Credential(registry, registry.username, registry.password)
    identity = _identity(registry, context)
    if identity is None:
        return InputError(
            f"{registry.source or registry.server}: no Azure identity for {registry.server} "
            "(azure-client-id and azure-tenant-id)",
            hint=fixes.NO_AZURE_IDENTITY,
        )
    return identity


def _identity(registry: Registry, context: Context) -> _Identity | None:
    client = registry.azure_client_id or context.azure_client_id
    tenant = registry.azure_tenant_id or context.azure_tenant_id
    if not (client and tenant):
        return None
    cloud: AzureCloud = azure_cloud(registry.server) or _PUBLIC
    host = (context.env.get(AUTHORITY_VARIABLE) or cloud.authority_host).rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    return _Identity(tenant, client, host, cloud.resource)


# --- Entra ID: the job's token for an access token ---------------------------------------------------


def _entra_token(identity: _Identity, context: Context) -> Secret:
    import msal

    assertion = context.job_tokens.token(AUDIENCE)
    http = _Http(context.transport)
    authority = f"{identity.authority_host}/{identity.tenant}"
    try:
        app = msal.ConfidentialClientApplication(
            identity.client_id,
            client_credential={"client_assertion": assertion.reveal()},
            authority=authority,
            http_client=http,
            instance_discovery=False,  # the authority is the cloud's own: nothing to look up
            token_cache=msal.TokenCache(),
        )
        answer = app.acquire_token_for_client(scopes=[f"{identity.resource}/.default"])
    except NetworkFailure as failure:
        raise RegistriesError(f"Entra ID at {http.where()}: {failure.reason}", kind=failure.kind) from None
    except ValueError:  # msal's words for an authority it could not read: the tenant, mostly
        raise _entra_refused(http, identity, assertion, {}) from None
    if not isinstance(answer, dict):
        raise RegistriesError(f"Entra ID at {http.where()} answered no token", kind=ErrorKind.PROTOCOL)
    token = answer.get("access_token")
    if isinstance(token, str) and token:
        return Secret(token)
    raise _entra_refused(http, identity, assertion, answer)


def _entra_refused(
    http: _Http, identity: _Identity, assertion: Secret, answer: Mapping[str, Any]
) -> RegistriesError:
    response = http.last
    description = str(answer.get("error_description") or "")
    code = description.split(":", 1)[0] if description.startswith("AADSTS") else ""
    if not code and response is not None:
        code = answers.error_code(response)
    said = (
        answers.refusal(response)
        if response is not None and response.status_code != 200
        else cut(f"{answer.get('error', '')}: {description.splitlines()[0] if description else ''}", 240)
    )
    if code == _UNKNOWN_TENANT or (response is not None and "openid-configuration" in response.url):
        return InputError(
            f"Entra ID knows no tenant {cut(identity.tenant)}: {said}",
            hint="azure-tenant-id is the directory (tenant) ID of the app registration: "
            "az account show --query tenantId",
        )
    if code == _UNKNOWN_CLIENT:
        return InputError(
            f"Entra ID knows no application {cut(identity.client_id)} "
            f"in tenant {cut(identity.tenant)}: {said}",
            hint="azure-client-id is the app registration's (or managed identity's) client ID: "
            "az ad app list --display-name NAME --query [].appId",
        )
    if code in _NO_FEDERATED_CREDENTIAL:
        return RegistriesError(
            f"Entra ID refused the job's token for app {identity.client_id}: {said}",
            kind=ErrorKind.REJECTED,
            hint=fixes.federated_credential(identity.client_id, oidc.said(assertion)),
        )
    return RegistriesError(
        f"Entra ID refused the job's token for app {identity.client_id}: {said}", kind=ErrorKind.REJECTED
    )


class _Http:
    """msal's http_client: its GETs and POSTs through our transport; the last answer kept for errors."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.last: requests.Response | None = None
        self._lock = threading.Lock()

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        return self._send("GET", url, params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> requests.Response:
        return self._send("POST", url, params=params, data=data, headers=headers)

    def close(self) -> None:
        pass

    def _send(self, method: str, url: str, *, headers: Any, **kwargs: Any) -> requests.Response:
        response = self.transport.request(method, url, headers=dict(headers or {}), **kwargs)
        token = answers.json_of(response).get("access_token")
        if isinstance(token, str) and token:
            Secret(token)  # masked the moment it exists
        with self._lock:
            self.last = response
        return response

    def where(self) -> str:
        return self.last.url.split("?", 1)[0] if self.last is not None else "its authority"


# --- the registry: the access token for a refresh token ----------------------------------------------


def _registry_token(registry: Registry, identity: _Identity, token: Secret, context: Context) -> Outcome:
    try:
        base = context.endpoints.base_url(registry.server, insecure=registry.insecure)
        url = f"{base}/oauth2/exchange"
        response = context.transport.request(
            "POST",
            url,
            data={
                "grant_type": "access_token",
                "service": registry.server,
                "tenant": identity.tenant,
                "access_token": token.reveal(),
            },
            headers={"Accept": "application/json"},
            allow_redirects=False,  # the body holds a token: it goes to the registry, nowhere else
        )
    except NetworkFailure as failure:
        return RegistriesError(
            f"{registry.server}: ACR's token exchange: {failure.reason}", kind=failure.kind
        )
    refresh = answers.json_of(response).get("refresh_token")
    if response.status_code != 200 or not isinstance(refresh, str) or not refresh:
        if response.status_code == 200:
            return RegistriesError(
                f"{registry.server}: {url} answered without a refresh token", kind=ErrorKind.PROTOCOL
            )
        kind = ErrorKind.FORBIDDEN if response.status_code == 403 else ErrorKind.REJECTED
        return RegistriesError(
            f"{registry.server}: ACR refused the Entra ID token of app {identity.client_id}: "
            f"{answers.refusal(response)}",
            kind=kind,
            hint=fixes.ACR_PULL,
        )
    secret = Secret(refresh)
    return Credential(
        replace(registry, username=USERNAME),
        USERNAME,
        secret,
        expires_at=_expiry(secret),
        rejected_hint=fixes.ACR_PULL,
    )


def _expiry(refresh: Secret) -> datetime.datetime:
    """When the refresh token ends: its own `exp` (ACR's are JWTs), else ACR's usual three hours."""
    exp = oidc.claims(refresh).get("exp")
    now = datetime.datetime.now(datetime.UTC)
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        try:
            return datetime.datetime.fromtimestamp(exp, datetime.UTC)
        except (OverflowError, ValueError, OSError):
            pass
    return now + REFRESH_LIFETIME
