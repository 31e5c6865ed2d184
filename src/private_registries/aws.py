"""AWS sessions for the ECR exchange: keys from the environment's default chain, or a role assumed
with the job's OIDC token (no AWS keys at all), which is asked of the runner here too. boto3 is
imported here and only here, lazily.

Endpoints honour AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL from the given environment mapping,
so tests (and VPC endpoints) can point each service elsewhere.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from private_registries import fixes
from private_registries.errors import AwsError, InputError, RegistriesError
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure, Transport

OIDC_AUDIENCE = "sts.amazonaws.com"
ROLE_SESSION_SECONDS = 3600


def oidc_token(audience: str, env: Mapping[str, str], transport: Transport, *, fork: bool = False) -> Secret:
    """The job's OIDC token (a JWT) for `audience`, with the transport's timeout and retries.

    actions-toolkit's own call has neither, and a runner's token service does blip.
    """
    url, bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise InputError(
            "no OIDC token: this job may not request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set)",
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


class Aws:
    def __init__(
        self, env: Mapping[str, str], transport: Transport, *, fork_pull_request: bool = False
    ) -> None:
        self.env = env
        self.transport = transport
        self.fork_pull_request = fork_pull_request
        self._sessions: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str, *, role: str | None = None, fips: bool = False) -> Any:
        """A boto3 client (thread-safe to call; made under a lock, as sessions are not)."""
        from botocore.config import Config

        config = Config(
            connect_timeout=5,
            read_timeout=20,
            retries={"max_attempts": 4, "mode": "standard"},  # backoff on throttling and 5xx, not on 4xx
            use_fips_endpoint=fips,
            user_agent_extra="private-registries",
        )
        with self._lock:
            session = self._session(role, region)
            return session.client(
                service, region_name=region, config=config, endpoint_url=self._endpoint(service)
            )

    def _endpoint(self, service: str) -> str | None:
        name = "AWS_ENDPOINT_URL_" + re.sub(r"[^A-Z0-9]", "_", service.upper())
        return self.env.get(name) or self.env.get("AWS_ENDPOINT_URL") or None

    def _session(self, role: str | None, region: str) -> Any:
        if role not in self._sessions:
            self._sessions[role] = self._assume(role, region) if role else self._default_session()
        return self._sessions[role]

    def _default_session(self) -> Any:
        import boto3

        env = self.env
        if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
            Secret(env["AWS_SECRET_ACCESS_KEY"])  # masked from here on
            if env.get("AWS_SESSION_TOKEN"):
                Secret(env["AWS_SESSION_TOKEN"])
            return boto3.session.Session(
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
            )
        return boto3.session.Session(profile_name=env.get("AWS_PROFILE") or None)

    def _assume(self, role: str, region: str) -> Any:
        """AssumeRoleWithWebIdentity with the job's OIDC token: an unsigned call, no keys needed."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        token = oidc_token(OIDC_AUDIENCE, self.env, self.transport, fork=self.fork_pull_request)
        sts = boto3.session.Session().client(
            "sts",
            region_name=region,
            endpoint_url=self._endpoint("sts"),
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 4, "mode": "standard"}),
        )
        try:
            answer = sts.assume_role_with_web_identity(
                RoleArn=role,
                RoleSessionName=self._session_name(),
                WebIdentityToken=token.reveal(),
                DurationSeconds=ROLE_SESSION_SECONDS,
            )
        except ClientError as exc:
            code, message = _client_error(exc)
            raise AwsError(
                f"AWS STS refused to let this job assume {role}: {code}: {message}",
                hint=fixes.ROLE_TRUST,
            ) from None
        except BotoCoreError as exc:
            raise AwsError(f"AWS STS could not be reached to assume {role}: {exc}") from None
        credentials = answer["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=Secret(credentials["SecretAccessKey"]).reveal(),
            aws_session_token=Secret(credentials["SessionToken"]).reveal(),
        )

    def _session_name(self) -> str:
        run = self.env.get("GITHUB_RUN_ID", "")
        return re.sub(r"[^\w+=,.@-]", "-", f"private-registries-{run}".rstrip("-"))[:64]


def _client_error(exc: Any) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "Error")), str(error.get("Message", "")).strip()


def describe(exc: Exception, call: str, *, fork: bool = False) -> AwsError:
    """A boto3/botocore failure as a message a user can act on."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsError(
            f"{call}: no AWS credentials",
            hint=fixes.id_token(fork=True) if fork else fixes.NO_AWS_CREDENTIALS,
        )
    if isinstance(exc, ClientError):
        code, message = _client_error(exc)
        hint = None
        if code in {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"}:
            hint = "the AWS identity needs ecr:GetAuthorizationToken (and pull rights on the repositories)"
        return AwsError(f"{call}: AWS refused: {code}: {message}", hint=hint)
    if isinstance(exc, EndpointConnectionError):
        return AwsError(f"{call}: AWS unreachable: {exc}")
    if isinstance(exc, NoRegionError):
        return AwsError(f"{call}: no AWS region", hint="add aws-region: to the entry")
    return AwsError(f"{call}: {type(exc).__name__}: {exc}")
