"""A stand-in for the runner's OIDC token service (ACTIONS_ID_TOKEN_REQUEST_URL).

It signs a JWT for the audience asked, with a `sub` like GitHub's (repo:OWNER/NAME:ref:REF), and
can fail its first requests to exercise retries.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers.replies import reply

ISSUER = "https://token.actions.githubusercontent.com"


@dataclass
class OidcIssuer:
    subject: str = "repo:octo/app:ref:refs/heads/main"
    request_token: str = "oidc-request-token-1"
    fail_first: int = 0
    audiences: list[str] = field(default_factory=list)  # what each request asked for

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                issuer.requests += 1
                if issuer.requests <= issuer.fail_first:
                    reply(self, 503, {"message": "try again"})
                    return
                if self.headers.get("Authorization") != f"Bearer {issuer.request_token}":
                    reply(self, 401, {"message": "bad request token"})
                    return
                audience = parse_qs(urlsplit(self.path).query).get("audience", [""])[0]
                issuer.audiences.append(audience)
                reply(self, 200, {"count": 1, "value": issuer.sign(audience)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, audience: str) -> str:
        now = datetime.datetime.now(datetime.UTC)
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": self.subject,
            "iat": now,
            "nbf": now,
            "exp": now + datetime.timedelta(minutes=5),
        }
        return jwt.encode(claims, self.key, algorithm="RS256")

    def verify(self, token: str, audience: str) -> dict[str, object]:
        claims: dict[str, object] = jwt.decode(
            token, self.key.public_key(), algorithms=["RS256"], audience=audience, issuer=ISSUER
        )
        return claims

    def env(self) -> dict[str, str]:
        """What the runner gives a job with `permissions: id-token: write`."""
        port = self.server.server_address[1]
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{port}/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
