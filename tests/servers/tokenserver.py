"""A Docker token server for the Distribution registry's `auth: token` mode.

It checks Basic credentials against its user table and signs a JWT (RS256) whose `x5c` header
carries its self-signed certificate; the registry trusts that certificate (`rootcertbundle`).
It can also play GHCR: any username, the password must be the given GitHub token.
"""

from __future__ import annotations

import base64
import datetime
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.servers.replies import reply


@dataclass
class TokenServer:
    service: str
    issuer: str = "bench-token-issuer"
    users: dict[str, str] = field(default_factory=dict)  # username -> password ("*": any username)
    # repository -> usernames allowed; a repository not listed is open to every known user
    acl: dict[str, set[str]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)  # known users the server refuses (403)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> username (OAuth POST)
    expires_in: int = 300
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self._server: ThreadingHTTPServer | None = None

    def write_bundle(self, path: Path) -> Path:
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    @property
    def realm(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                user = server.authenticate(self.headers.get("Authorization"))
                server.requests.append({"query": query, "user": user})
                if user is False:
                    reply(self, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                    return
                if user in server.denied:
                    reply(self, 403, {"errors": [{"code": "DENIED", "message": "account locked"}]})
                    return
                scopes = [s for value in query.get("scope", []) for s in value.split(" ")]
                token = server.sign(user or "", query.get("service", [""])[0], scopes)
                reply(self, 200, {"token": token, "expires_in": server.expires_in})

            def do_POST(self) -> None:
                """The OAuth2 form (distribution's token spec, "OAuth2 token"): grant_type=password with
                username and password (what BuildKit sends first), or grant_type=refresh_token (what
                clients with an identity token send)."""
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = form.get("grant_type")
                if grant == "password":
                    username, password = form.get("username", ""), form.get("password", "")
                    expected = server.users.get(username, server.users.get("*"))
                    user = username if expected is not None and password == expected else None
                else:
                    user = server.refresh_tokens.get(form.get("refresh_token", ""))
                secret = {"refresh_token", "password"}
                server.requests.append(
                    {"form": {k: v for k, v in form.items() if k not in secret}, "user": user}
                )
                if grant not in {"password", "refresh_token"} or user is None:
                    reply(self, 401, {"error": "invalid_grant"})
                    return
                if user in server.denied:
                    reply(self, 403, {"error": "access_denied"})
                    return
                token = server.sign(user, form.get("service", ""), form.get("scope", "").split())
                reply(self, 200, {"access_token": token, "expires_in": server.expires_in})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def authenticate(self, header: str | None) -> str | bool | None:
        """The username; None for an anonymous request; False for wrong credentials."""
        if not header:
            return None
        if not header.startswith("Basic "):
            return False
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        expected = self.users.get(username, self.users.get("*"))
        return username if expected is not None and password == expected else False

    def sign(self, user: str, service: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = self.acl.get(name)
            if user and (allowed is None or user in allowed):
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = datetime.datetime.now(datetime.UTC)
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": service,
            "exp": now + datetime.timedelta(seconds=self.expires_in),
            "nbf": now - datetime.timedelta(seconds=30),
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": x5c})
