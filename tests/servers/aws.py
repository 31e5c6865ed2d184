"""One AWS endpoint for the tests: moto's server behind a front that adds what moto lacks.

- every call is logged (service and operation), so tests can count the exchanges;
- STS AssumeRoleWithWebIdentity is checked like a role's trust policy: the OIDC token must be
  signed by the issuer stand-in, for audience sts.amazonaws.com, with a `sub` the role trusts;
- ECR Public's GetAuthorizationToken (moto has no ECR Public) is answered here, in its JSON protocol;
- the first calls can be made to fail with a 5xx, or to be throttled as AWS throttles (a 400 with
  ECR's ThrottlingException, STS's Throttling), for retries.
Everything else is passed to moto as it came.
"""

from __future__ import annotations

import base64
import fnmatch
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import requests

from tests.servers.moto import MotoServer
from tests.servers.oidc import OidcIssuer
from tests.servers.replies import reply

ECR_PUBLIC_PASSWORD = "public-auth-token"
DENIED = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message>"
    "</Error><RequestId>bench</RequestId></ErrorResponse>"
)

# STS's answer to a throttled call (the query protocol); ECR's is JSON, {"__type": "ThrottlingException"}
THROTTLED_QUERY = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    "<RequestId>bench</RequestId></ErrorResponse>"
)


@dataclass
class AwsFront:
    moto: MotoServer
    issuer: OidcIssuer | None = None
    trust: dict[str, str] = field(default_factory=dict)  # role ARN -> the `sub` pattern it trusts
    fail_first: int = 0
    throttle_first: int = 0  # after those that fail
    delay: float = 0.0  # seconds added to every call (benchmarks)
    calls: list[str] = field(default_factory=list)  # "ecr:GetAuthorizationToken", ...

    def __post_init__(self) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                front._handle(self)

            def do_GET(self) -> None:
                front._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            **self.moto.env(),
            "AWS_ENDPOINT_URL_ECR": self.url,
            "AWS_ENDPOINT_URL_ECR_PUBLIC": self.url,
            "AWS_ENDPOINT_URL_STS": self.url,
        }

    def count(self, call: str) -> int:
        return self.calls.count(call)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self.delay:
            time.sleep(self.delay)
        call = _call_of(handler.headers.get("X-Amz-Target", ""), body)
        with self._lock:
            self.calls.append(call)
            failing = len(self.calls) <= self.fail_first
            throttled = not failing and len(self.calls) <= self.fail_first + self.throttle_first
        if failing:
            reply(handler, 503, {"__type": "ServiceUnavailableException", "message": "slow down"})
            return
        if throttled and call.startswith("sts:"):
            reply(handler, 400, THROTTLED_QUERY.encode(), content_type="text/xml")
            return
        if throttled:
            throttling = {"__type": "ThrottlingException", "message": "Rate exceeded"}
            reply(handler, 400, throttling, content_type="application/x-amz-json-1.1")
            return
        if call == "ecr-public:GetAuthorizationToken":
            token = base64.b64encode(f"AWS:{ECR_PUBLIC_PASSWORD}".encode()).decode()
            answer = {
                "authorizationData": {"authorizationToken": token, "expiresAt": time.time() + 12 * 3600}
            }
            reply(handler, 200, answer, content_type="application/x-amz-json-1.1")
            return
        if call == "sts:AssumeRoleWithWebIdentity" and not self._trusted(body):
            reply(handler, 403, DENIED.encode(), content_type="text/xml")
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in {"host", "content-length"}}
        upstream = requests.request(
            handler.command, self.moto.url + handler.path, data=body, headers=headers, timeout=30
        )
        reply(
            handler,
            upstream.status_code,
            upstream.content,
            content_type=upstream.headers.get("Content-Type", ""),
        )

    def _trusted(self, body: bytes) -> bool:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        pattern = self.trust.get(form.get("RoleArn", ""))
        if pattern is None or self.issuer is None:
            return False
        try:
            claims = self.issuer.verify(form.get("WebIdentityToken", ""), "sts.amazonaws.com")
        except Exception:  # any bad token is a refusal, as in AWS
            return False
        return fnmatch.fnmatchcase(str(claims.get("sub", "")), pattern)


def _call_of(target: str, body: bytes) -> str:
    if target:
        prefix, _, operation = target.partition(".")
        service = {"SpencerFrontendService": "ecr-public"}.get(prefix, "ecr")
        return f"{service}:{operation}"
    action = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
    return f"sts:{action}"
