"""The Docker token protocol: trade a credential (or a refresh token) for a short-lived Bearer token."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from private_registries.auth.challenge import Challenge
from private_registries.credential import Credential
from private_registries.errors import ErrorKind, RegistryError
from private_registries.hosts import hostname, is_loopback
from private_registries.secret import Secret
from private_registries.text import cut
from private_registries.transport import NetworkFailure, Transport

REJECTED_HINT = "check the username and password (or token) for this registry"
DEFAULT_EXPIRES_IN = 60  # seconds, as the protocol says when the server gives none
CLIENT_ID = "private-registries"
MAX_TOKEN = 64 * 1024  # characters: registries' tokens are a few kilobytes


@dataclass(frozen=True)
class Token:
    value: Secret
    expires_at: datetime


def fetch_token(
    transport: Transport,
    challenge: Challenge,
    credential: Credential | None,
    *,
    server: str,
    scopes: Sequence[str] = (),
    insecure: bool = False,
) -> Token:
    """GET (or, with a refresh token, POST) the challenge's realm and return the token it grants."""
    realm = challenge.realm
    if not realm:
        raise RegistryError(server, "the registry's Bearer challenge names no realm", kind=ErrorKind.PROTOCOL)
    parts = urlsplit(realm)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RegistryError(
            server, f"the token realm {cut(realm)} is not an http(s) URL", kind=ErrorKind.PROTOCOL
        )
    if credential and parts.scheme == "http" and not _plain_http_allowed(parts.hostname, server, insecure):
        raise RegistryError(
            server,
            f"the token realm {realm} is plain HTTP; credentials are sent only over HTTPS",
            kind=ErrorKind.TLS,
            hint="serve the token endpoint over HTTPS (plain HTTP is allowed only on loopback or for a "
            "registry marked insecure: true, and only on the registry's own host)",
        )
    params: dict[str, str | list[str]] = {}
    if challenge.service:
        params["service"] = challenge.service
    if scopes:
        params["scope"] = list(scopes)
    try:
        if credential and credential.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token.reveal(),
                "client_id": CLIENT_ID,
                **({"service": challenge.service} if challenge.service else {}),
                **({"scope": " ".join(scopes)} if scopes else {}),
            }
            response = transport.request("POST", realm, data=form)
        elif credential:
            params["account"] = credential.username
            # Basic auth as docker sends it, UTF-8 (requests would encode it as Latin-1, or fail)
            basic = {"Authorization": f"Basic {credential.auth().reveal()}"}
            response = transport.request("GET", realm, params=params, headers=basic)
        else:
            response = transport.request("GET", realm, params=params)
    except NetworkFailure as failure:
        raise RegistryError(server, f"token endpoint {realm}: {failure.reason}", kind=failure.kind) from None
    if response.status_code == 401:
        raise RegistryError(
            server,
            "credential rejected by the token endpoint (401 Unauthorized)",
            kind=ErrorKind.REJECTED,
            hint=(credential and credential.rejected_hint) or REJECTED_HINT,
        )
    if response.status_code == 403:
        raise RegistryError(
            server,
            "credential accepted but refused access by the token endpoint (403 Forbidden)",
            kind=ErrorKind.FORBIDDEN,
            hint="the account may lack pull rights, or the token lacks the read:packages scope",
        )
    if response.status_code != 200:
        raise RegistryError(
            server, f"token endpoint {realm} answered {response.status_code}", kind=ErrorKind.PROTOCOL
        )
    return _parse(response.text, server, realm)


def _parse(body: str, server: str, realm: str) -> Token:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        data = {}
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value:
        raise RegistryError(
            server, f"token endpoint {realm} answered without a token", kind=ErrorKind.PROTOCOL
        )
    if len(value) > MAX_TOKEN:  # it would go back in every request's headers
        raise RegistryError(
            server,
            f"token endpoint {realm} answered a token of more than {MAX_TOKEN // 1024} KiB",
            kind=ErrorKind.PROTOCOL,
        )
    token = Secret(value)
    expires_in = data.get("expires_in")
    if (
        not isinstance(expires_in, int | float)
        or isinstance(expires_in, bool)
        or expires_in < DEFAULT_EXPIRES_IN
    ):
        expires_in = DEFAULT_EXPIRES_IN
    issued = _parse_time(data.get("issued_at")) or datetime.now(UTC)
    return Token(token, issued + timedelta(seconds=float(expires_in)))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _plain_http_allowed(realm_host: str, server: str, insecure: bool) -> bool:
    """Plain HTTP to the realm only where the registry itself may be spoken to so: a loopback or insecure
    registry, and only on the registry's own host (a realm on loopback serving a registry elsewhere
    is no safer than any other)."""
    return realm_host == hostname(server).lower() and (insecure or is_loopback(server))
