"""One registry, one credential: ping `/v2/`, answer its challenge (Basic or Bearer), keep the tokens.

This is the part that knows the registry protocol; which credential to use is the keychain's
business (it hands the client a way to get it, waited for only when a challenge needs it), and
how bytes move is the transport's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests

from private_registries import fixes
from private_registries.auth.challenge import Challenge, preferred
from private_registries.auth.endpoint import Endpoints
from private_registries.auth.token import REJECTED_HINT, Token, fetch_token
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import ErrorKind, RegistryError
from private_registries.hosts import api_host
from private_registries.text import cut
from private_registries.transport import NetworkFailure, same_origin

# Renew a token this long before it runs out, so a request never carries one that expires in flight.
_TOKEN_MARGIN = timedelta(seconds=10)


@dataclass(frozen=True)
class CredentialCheck:
    """How a credential was checked: `scheme` is basic, bearer, or none (the registry is open)."""

    scheme: str
    expires_at: datetime | None = None


def _anonymous() -> Credential | None:
    return None


class RegistryClient:
    def __init__(
        self,
        endpoints: Endpoints,
        registry: Registry,
        credential: Callable[[], Credential | None] = _anonymous,
    ) -> None:
        self.endpoints = endpoints
        self.transport = endpoints.transport
        self.server = registry.server
        self.api_host = api_host(registry.server)
        self.insecure = registry.insecure
        # Asked for only when a challenge needs it: the anonymous ping runs while a token is exchanged.
        # It raises the reason when the credential could not be had.
        self.credential = credential
        self._challenge: Challenge | None = None
        self._pinged = False
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self._base() + path

    def ping(self) -> Challenge | None:
        """The registry's challenge to an anonymous `GET /v2/`, or None if it asks for nothing."""
        if self._pinged:
            return self._challenge
        response = self._send("GET", "/v2/")
        if response.status_code == 401:
            challenge = preferred(response.headers.get("WWW-Authenticate"))
            if challenge is None:
                raise RegistryError(
                    self.server,
                    "GET /v2/ answered 401 with no Basic or Bearer challenge",
                    kind=ErrorKind.PROTOCOL,
                )
            self._challenge = challenge
        elif response.status_code != 200:
            self._raise_unexpected(response, "GET /v2/")
        self._pinged = True
        return self._challenge

    def login(self) -> CredentialCheck:
        """Check the credential the way `docker login` does; raise RegistryError if it is refused."""
        challenge = self.ping()
        if challenge is None:
            return CredentialCheck("none")
        headers = self._authorization(challenge, ())
        response = self._send("GET", "/v2/", headers=headers)
        if not same_origin(self.url("/v2/"), response.url):  # the credential did not go there
            raise RegistryError(
                self.server,
                f"GET /v2/ was redirected to {cut(urlsplit(response.url).netloc)}, another host, "
                "so the credential was not checked",
                kind=ErrorKind.PROTOCOL,
                hint="check the server name: a registry answers /v2/ itself",
            )
        if response.status_code != 200:
            self._raise_for(response, "GET /v2/")
        token = self._tokens.get(())
        return CredentialCheck(challenge.scheme, token.expires_at if token else None)

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        body: bool = True,
    ) -> requests.Response:
        """An authorized request; `scopes` are what a Bearer token must grant (repository:NAME:pull).
        `body=False`: the answer's status and headers are all the caller needs."""
        challenge = self.ping()
        merged = dict(headers or {})
        if challenge is not None:
            merged.update(self._authorization(challenge, tuple(scopes)))
        return self._send(method, path, headers=merged, body=body)

    def _authorization(self, challenge: Challenge, scopes: tuple[str, ...]) -> dict[str, str]:
        credential = self.credential()
        if challenge.scheme == "basic":
            if credential is None:
                return {}
            return {"Authorization": f"Basic {credential.auth().reveal()}"}
        with self._lock:
            token = self._tokens.get(scopes)
            if token is None or token.expires_at - _TOKEN_MARGIN <= datetime.now(UTC):
                token = fetch_token(
                    self.transport,
                    challenge,
                    credential,
                    server=self.server,
                    scopes=scopes,
                    insecure=self.insecure,
                )
                self._tokens[scopes] = token
        return {"Authorization": f"Bearer {token.value.reveal()}"}

    def _base(self) -> str:
        try:
            return self.endpoints.base_url(self.api_host, insecure=self.insecure)
        except NetworkFailure as failure:
            raise _network_error(self.server, failure) from None

    def _send(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, *, body: bool = True
    ) -> requests.Response:
        url = self._base() + path
        try:
            return self.transport.request(method, url, headers=dict(headers or {}), body=body)
        except NetworkFailure as failure:
            raise _network_error(self.server, failure) from None

    def _raise_for(self, response: requests.Response, what: str) -> None:
        if response.status_code == 401:
            credential = self.credential()
            raise RegistryError(
                self.server,
                "credential rejected (401 Unauthorized)",
                kind=ErrorKind.REJECTED,
                hint=(credential and credential.rejected_hint) or REJECTED_HINT,
            )
        if response.status_code == 403:
            raise RegistryError(
                self.server,
                "credential accepted but access refused (403 Forbidden)",
                kind=ErrorKind.FORBIDDEN,
                hint="the account may lack pull rights on this registry, or be locked",
            )
        self._raise_unexpected(response, what)

    def _raise_unexpected(self, response: requests.Response, what: str) -> None:
        detail = _registry_error(response)
        if response.status_code == 404 and what == "GET /v2/":
            raise RegistryError(
                self.server,
                "GET /v2/ answered 404: this is not a Docker registry API",
                kind=ErrorKind.PROTOCOL,
                hint="check the server name (Docker Hub is docker.io; GitHub's registry is ghcr.io)",
            )
        raise RegistryError(
            self.server, f"{what} answered {response.status_code}{detail}", kind=ErrorKind.PROTOCOL
        )


def _registry_error(response: requests.Response) -> str:
    """`: CODE message` from the registry's JSON error body, when it sent one."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()[:200]
    except (ValueError, AttributeError, IndexError, TypeError, RecursionError):
        return ""


def _network_error(server: str, failure: NetworkFailure) -> RegistryError:
    hints = {
        ErrorKind.UNREACHABLE: fixes.UNREACHABLE,
        ErrorKind.TLS: fixes.PRIVATE_CA,
        ErrorKind.TIMEOUT: fixes.SLOW,
    }
    prefix = {ErrorKind.UNREACHABLE: "registry unreachable: ", ErrorKind.TIMEOUT: "registry timed out: "}.get(
        failure.kind, ""
    )
    return RegistryError(server, prefix + failure.reason, kind=failure.kind, hint=hints.get(failure.kind))
