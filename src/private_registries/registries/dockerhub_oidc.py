"""Docker Hub through an organisation's OIDC connection: the job's OIDC token (audience
`https://identity.docker.com`) exchanged at Docker's identity service (RFC 8693) for an access token,
used with the organisation's name as username, as docker/login-action does with
DOCKERHUB_OIDC_CONNECTIONID. One exchange per connection serves every entry that names it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from private_registries import fixes, oidc
from private_registries.config import Registry
from private_registries.context import Context, Outcome, by_group
from private_registries.credential import Credential
from private_registries.errors import ErrorKind, InputError, RegistriesError
from private_registries.registries import answers
from private_registries.secret import Secret
from private_registries.text import cut
from private_registries.transport import NetworkFailure

IDENTITY = "https://identity.docker.com"
ENDPOINT_VARIABLE = "REGISTRIES_DOCKER_IDENTITY_ENDPOINT"  # where the exchange goes instead (a stand-in)
EXPIRES_VARIABLE = "DOCKERHUB_OIDC_EXPIREIN"  # docker/login-action's: seconds, 300 to 3600
DEFAULT_EXPIRES_IN, MIN_EXPIRES_IN, MAX_EXPIRES_IN = 300, 300, 3600


def resolve(registries: Sequence[Registry], context: Context) -> list[Outcome]:
    try:
        expires_in = _expires_in(context.env)
    except InputError as error:
        return [error for _ in registries]

    def exchange(connection: str, members: list[Registry]) -> list[Outcome]:
        token, expiry = _exchange(connection, expires_in, context)
        return [
            Credential(
                registry,
                registry.username or "",
                token,
                expires_at=expiry,
                rejected_hint=fixes.DOCKERHUB_OIDC,
            )
            for registry in members
        ]

    return by_group(registries, lambda registry: registry.dockerhub_oidc_connection_id or "", exchange)


def _expires_in(env: Mapping[str, str]) -> int:
    text = (env.get(EXPIRES_VARIABLE) or "").strip() or str(DEFAULT_EXPIRES_IN)
    if not text.isdigit() or not MIN_EXPIRES_IN <= int(text) <= MAX_EXPIRES_IN:
        raise InputError(
            f"{EXPIRES_VARIABLE} {cut(text)} is not a number of seconds "
            f"from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN}",
            hint=f"set it to e.g. 1800, or unset it for {DEFAULT_EXPIRES_IN}",
        )
    return int(text)


def _exchange(connection: str, expires_in: int, context: Context) -> tuple[Secret, datetime.datetime]:
    job_token = context.job_tokens.token(IDENTITY)
    url = f"{(context.env.get(ENDPOINT_VARIABLE) or IDENTITY).rstrip('/')}/oauth/token"
    started = datetime.datetime.now(datetime.UTC)
    try:
        response = context.transport.request(
            "POST",
            url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                "subject_token": job_token.reveal(),
                "connection_id": connection,
                "expires_in": str(expires_in),
            },
            headers={"Accept": "application/json"},
            allow_redirects=False,  # the body holds the job's token
        )
    except NetworkFailure as failure:
        raise RegistriesError(
            f"Docker's identity service at {url}: {failure.reason}", kind=failure.kind
        ) from None
    data = answers.json_of(response)
    token = data.get("access_token")
    if isinstance(token, str) and token:
        secret = Secret(token)
    elif response.status_code == 200:
        raise RegistriesError(f"{url} answered without an access token", kind=ErrorKind.PROTOCOL)
    else:
        said = oidc.said(job_token)
        raise RegistriesError(
            f"Docker Hub refused the job's token for OIDC connection {connection}: "
            f"{answers.refusal(response)}",
            kind=ErrorKind.REJECTED,
            hint=f"{fixes.DOCKERHUB_OIDC} (this job's token says {said})" if said else fixes.DOCKERHUB_OIDC,
        )
    lifetime = data.get("expires_in")
    seconds = (
        lifetime
        if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0
        else expires_in
    )
    return secret, started + datetime.timedelta(seconds=min(seconds, MAX_EXPIRES_IN))
