"""The job's OIDC tokens (`permissions: id-token: write`): one per audience, fetched once and shared.

ECR's role, Google's workload identity, Entra ID and Docker Hub each want the job's token for their
own audience. Every entry that needs an audience waits on the one request made for it, so ten GAR
registries behind one provider cost one token, and four clouds four, fetched side by side.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from urllib.parse import quote

from private_registries import fixes, gha
from private_registries.errors import InputError, RegistriesError
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure, Transport

REQUEST_URL, REQUEST_TOKEN = gha.ID_TOKEN_REQUEST_URL, gha.ID_TOKEN_REQUEST_TOKEN


def oidc_token(audience: str, env: Mapping[str, str], transport: Transport, *, fork: bool = False) -> Secret:
    """The job's OIDC token (a JWT) for `audience`, with the transport's timeout and retries.

    actions-toolkit's own call has neither, and a runner's token service does blip.
    """
    url, bearer = env.get(REQUEST_URL), env.get(REQUEST_TOKEN)
    if not url or not bearer:
        raise InputError(
            f"no OIDC token: this job may not request one ({REQUEST_URL} is not set)",
            hint=fixes.id_token(fork=fork),
        )
    separator = "&" if "?" in url else "?"
    try:
        response = transport.request(
            "GET",
            f"{url}{separator}audience={quote(audience, safe='')}",
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
        )
    except NetworkFailure as failure:
        raise RegistriesError(f"the job's OIDC token service: {failure.reason}", kind=failure.kind) from None
    if response.status_code != 200:
        raise RegistriesError(
            f"the job's OIDC token service answered {response.status_code}",
            hint=fixes.id_token(fork=fork),
        )
    try:
        value = response.json().get("value")
    except (ValueError, AttributeError, RecursionError):
        value = None
    if not isinstance(value, str) or not value:
        raise RegistriesError("the job's OIDC token service answered without a token")
    return Secret(value)


class JobTokens:
    """The job's OIDC token of each audience, asked for once; a failure is kept and told to each."""

    def __init__(self, env: Mapping[str, str], transport: Transport, *, fork: bool = False) -> None:
        self.env, self.transport, self.fork = env, transport, fork
        self._tokens: dict[str, Future[Secret]] = {}
        self._lock = threading.Lock()

    def token(self, audience: str) -> Secret:
        with self._lock:
            future = self._tokens.get(audience)
            mine = future is None
            if future is None:
                future = self._tokens[audience] = Future()
        if mine:
            try:
                future.set_result(oidc_token(audience, self.env, self.transport, fork=self.fork))
            except RegistriesError as error:
                future.set_exception(error)
        return future.result()

    @property
    def audiences(self) -> list[str]:
        """The audiences asked for so far (for tests and the log)."""
        with self._lock:
            return list(self._tokens)


def claims(token: Secret) -> dict[str, object]:
    """A JWT's claims, unverified: only to tell a user what the token said (its `sub`, `aud`) when a
    cloud refused it. Nothing is decided on them."""
    parts = token.reveal().split(".")
    if len(parts) != 3 or len(parts[1]) > 16 * 1024:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def said(token: Secret) -> str:
    """`sub repo:octo/app:ref:refs/heads/main, aud https://...`: what a refused token claimed."""
    found = claims(token)
    shown = [
        f"{name} {_short(value)}" for name in ("sub", "aud") if isinstance(value := found.get(name), str)
    ]
    return ", ".join(shown)


def _short(value: str, limit: int = 160) -> str:
    """A claim as it is (the console makes it inert), cut in the middle when long."""
    return value if len(value) <= limit else f"{value[: limit // 2]}...{value[-limit // 2 :]}"
