"""AWS sessions for the ECR exchange: keys from the environment's default chain, or a role assumed
with the job's OIDC token (no AWS keys at all), which is asked of the runner here too. boto3 is
imported here and only here, lazily.

Endpoints honour AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL from the given environment mapping,
so tests (and VPC endpoints) can point each service elsewhere.

botocore signs and parses; its requests travel through our Transport (a `before-send` handler), so an
AWS endpoint gets the same bounds as every other server: REGISTRIES_TIMEOUT and REGISTRIES_RETRIES,
each attempt within its deadline, Retry-After up to the timeout, a body refused past 4 MiB. botocore's
own retries are off (they would multiply ours); its timeouts are set to ours all the same. AWS throttles
with a 400 and an error code (ECR's ThrottlingException, STS's Throttling), which a transport that sees
only the status cannot tell from a refusal: botocore's own retry checkers tell it from the parsed
answer, and such a call is sent again within the same retries and backoff (`_RetryThrottled`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from private_registries import fixes
from private_registries.errors import AwsError, ErrorKind
from private_registries.oidc import JobTokens
from private_registries.secret import Secret
from private_registries.text import cut
from private_registries.transport import NetworkFailure, Transport

OIDC_AUDIENCE = "sts.amazonaws.com"
ROLE_SESSION_SECONDS = 3600


class Aws:
    def __init__(
        self,
        env: Mapping[str, str],
        transport: Transport,
        *,
        fork_pull_request: bool = False,
        tokens: JobTokens | None = None,
    ) -> None:
        self.env = env
        self.transport = transport
        self.fork_pull_request = fork_pull_request
        self.tokens = tokens or JobTokens(env, transport, fork=fork_pull_request)
        # botocore's requests: the same options, and the CA bundle botocore itself would have trusted
        options = transport.options
        ca_bundle = env.get("AWS_CA_BUNDLE") or options.ca_bundle
        self._http = (
            transport if ca_bundle == options.ca_bundle else Transport(replace(options, ca_bundle=ca_bundle))
        )
        self._sessions: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str, *, role: str | None = None, fips: bool = False) -> Any:
        """A boto3 client (thread-safe to call; made under a lock, as sessions are not)."""
        with self._lock:
            session = self._session(role, region)
            return self._bounded(session, service, region, fips=fips)

    def _bounded(
        self, session: Any, service: str, region: str, *, fips: bool = False, unsigned: bool = False
    ) -> Any:
        """A client of `service` whose every request is one of our transport's (see the module)."""
        from botocore import UNSIGNED
        from botocore.config import Config

        options = self._http.options
        config = Config(
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},  # the transport retries
            use_fips_endpoint=fips,
            user_agent_extra="private-registries",
            **({"signature_version": UNSIGNED} if unsigned else {}),
        )
        client = session.client(
            service, region_name=region, config=config, endpoint_url=self._endpoint(service)
        )
        client.meta.events.register("before-send", _SendThrough(self._http))
        client.meta.events.register("needs-retry", _RetryThrottled(self._http))
        return client

    def _endpoint(self, service: str) -> str | None:
        name = endpoint_variable(service, self.env)
        return self.env.get(name) if name else None

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
        from botocore.exceptions import BotoCoreError, ClientError
        from botocore.parsers import ResponseParserError

        token = self.tokens.token(OIDC_AUDIENCE)
        sts = self._bounded(boto3.session.Session(), "sts", region, unsigned=True)
        call = f"AWS STS AssumeRoleWithWebIdentity of {role} at {sts.meta.endpoint_url}"
        try:
            answer = sts.assume_role_with_web_identity(
                RoleArn=role,
                RoleSessionName=self._session_name(),
                WebIdentityToken=token.reveal(),
                DurationSeconds=ROLE_SESSION_SECONDS,
            )
        except NetworkFailure as failure:
            raise self.unreachable(call, "sts", failure) from None
        except ClientError as exc:
            code, message = _client_error(exc)
            if (unavailable := _unavailable(exc, call, code)) is not None:
                raise unavailable from None
            raise AwsError(
                f"AWS STS refused to let this job assume {role}: {code}: {message}",
                hint=fixes.ROLE_TRUST,
            ) from None
        except (ResponseParserError, *UNREADABLE):
            raise self.malformed(call, "sts", "something that is not an STS answer") from None
        except BotoCoreError as exc:
            raise AwsError(f"AWS STS could not be reached to assume {role}: {exc}") from None
        credentials = answer.get("Credentials") if isinstance(answer, dict) else None
        if not isinstance(credentials, dict):
            raise self.malformed(call, "sts", "no Credentials")
        for field in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
            value = credentials.get(field)
            if not (isinstance(value, str) and value.strip()):
                raise self.malformed(call, "sts", f"Credentials without {_article(field)} {field}")
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=Secret(credentials["SecretAccessKey"]).reveal(),
            aws_session_token=Secret(credentials["SessionToken"]).reveal(),
        )

    def _session_name(self) -> str:
        run = self.env.get("GITHUB_RUN_ID", "")
        return re.sub(r"[^\w+=,.@-]", "-", f"private-registries-{run}".rstrip("-"))[:64]

    # --- failures that name the endpoint, and the variable that chose it ---------------------------

    def malformed(self, call: str, service: str, what: str) -> AwsError:
        """`call` answered, but not what the API answers: `what` says what it was."""
        return AwsError(f"{call} answered {what}", kind=ErrorKind.PROTOCOL, hint=self._endpoint_hint(service))

    def unreachable(self, call: str, service: str, failure: NetworkFailure) -> AwsError:
        hint = self._endpoint_hint(service)
        if failure.kind == ErrorKind.TIMEOUT:
            hint = f"{hint}\n{SLOW}"
        return AwsError(f"{call}: {failure.reason}", kind=failure.kind, hint=hint)

    def _endpoint_hint(self, service: str) -> str:
        name = endpoint_variable(service, self.env)
        if name:
            api = _SERVICE_NAMES.get(service, service)
            return f"{name} points there: check that it is an endpoint of AWS {api}, or unset it"
        return f"AWS itself does not answer so: a proxy on the way may have changed the answer; {PROXY}"


# What botocore's parsers raise, past their own ResponseParserError, on an answer of the wrong shape (a
# string where the model has a list, say): only botocore runs inside the calls these are caught around.
UNREADABLE = (AttributeError, TypeError, ValueError, KeyError, IndexError)
_SERVICE_NAMES = {"ecr": "ECR", "ecr-public": "ECR Public", "sts": "STS"}
SLOW = "the endpoint is slow or does not answer; REGISTRIES_TIMEOUT raises the limit (seconds)"
PROXY = "check HTTPS_PROXY and NO_PROXY, and try again"


def endpoint_variable(service: str, env: Mapping[str, str]) -> str | None:
    """The variable that points `service` at another endpoint (its own, else AWS_ENDPOINT_URL), if set."""
    name = "AWS_ENDPOINT_URL_" + re.sub(r"[^A-Z0-9]", "_", service.upper())
    for variable in (name, "AWS_ENDPOINT_URL"):
        if env.get(variable):
            return variable
    return None


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class _SendThrough:
    """botocore's `before-send` handler: the signed request sent by our transport, its answer handed back
    as botocore's own. A NetworkFailure passes through botocore unretried (it knows no such error)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        response = self.transport.request(
            request.method,
            request.url,
            headers=dict(request.headers.items()),
            data=body,
            allow_redirects=False,  # botocore never follows one either
        )
        return AWSResponse(request.url, response.status_code, response.headers, _Read(response.content))


class _Read:
    """A body already read (and bounded) by the transport, as botocore reads a raw one."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


class _RetryThrottled:
    """botocore's `needs-retry` handler: the delay before a throttled call (or one AWS says timed
    out) is sent again, as botocore's standard mode tells them by their error code, or None. A 5xx
    or 429 is not retried here: the transport has retried it already."""

    def __init__(self, transport: Transport) -> None:
        from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

        self.transport = transport
        self.checkers = (ThrottledRetryableChecker(), TransientRetryableChecker())

    def __call__(self, response: Any = None, attempts: int = 1, **_: Any) -> float | None:
        from botocore.retries.standard import RetryContext

        if response is None or attempts > self.transport.options.retries:
            return None
        http, parsed = response
        if http.status_code >= 500 or http.status_code == 429:
            return None
        context = RetryContext(attempt_number=attempts, parsed_response=parsed, http_response=http)
        if not any(checker.is_retryable(context) for checker in self.checkers):
            return None
        return self.transport.backoff(attempts)


def _client_error(exc: Any) -> tuple[str, str]:
    """The code and message of an AWS refusal, as short as a server's words quoted in an error may be."""
    error = exc.response.get("Error", {})
    if not isinstance(error, dict):
        error = {}
    code = error.get("Code", "Error")
    message = error.get("Message", "")
    return _said(code, 80) or "Error", _said(message, 300)


def _said(value: object, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ("" if value is None else cut(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        if (unavailable := _unavailable(exc, call, code)) is not None:
            return unavailable
        hint = None
        if code in {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"}:
            hint = "the AWS identity needs ecr:GetAuthorizationToken (and pull rights on the repositories)"
        return AwsError(f"{call}: AWS refused: {code}: {message}", hint=hint)
    if isinstance(exc, EndpointConnectionError):
        return AwsError(f"{call}: AWS unreachable: {exc}")
    if isinstance(exc, NoRegionError):
        return AwsError(f"{call}: no AWS region", hint="add aws-region: to the entry")
    return AwsError(f"{call}: {type(exc).__name__}: {_said(str(exc), 300)}")


def _unavailable(exc: Any, call: str, code: str) -> AwsError | None:
    """A 5xx (or 429), or a throttling, still answered after the retries: not a refusal of anything."""
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    throttled = ThrottledRetryableChecker().is_retryable(
        RetryContext(attempt_number=1, parsed_response=exc.response)
    )
    if throttled:
        return AwsError(
            f"{call}: AWS throttled the call ({code}), also when asked again",
            kind=ErrorKind.UNAVAILABLE,
            hint="too many calls to this AWS account and region at once (other jobs too); try again "
            "later, or give REGISTRIES_RETRIES more attempts",
        )
    if not (isinstance(status, int) and (status >= 500 or status == 429)):
        return None
    return AwsError(
        f"{call}: AWS answered {status} ({code}), also when asked again",
        kind=ErrorKind.UNAVAILABLE,
        hint="AWS may be having trouble (https://health.aws.amazon.com); try again later",
    )
