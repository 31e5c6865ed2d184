"""A registry stand-in whose faults we choose: latency on every request, the first requests failing
(a status, a reset connection, a hang), Basic or Bearer auth. For retries, timeouts and benchmarks:
where a real registry cannot be made to misbehave on cue."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.servers.replies import reply


@dataclass
class Faults:
    delay: float = 0.0  # seconds before every answer
    fail_first: int = 0  # how many requests fail before it behaves
    failure: str = "503"  # a status code, "reset" or "hang"
    hang_for: float = 30.0


@dataclass
class FaultyRegistry:
    username: str = "user"
    password: str = "pass"
    bearer: bool = False  # Bearer: /token on this same server grants "good-token"
    faults: Faults = field(default_factory=Faults)
    token_body: Callable[[], bytes] | None = None  # what /token answers (garbage, for tests)
    realm: str | None = None  # where the Bearer challenge sends clients (default: /token here)
    rate_limit: tuple[str, str] | None = None  # RateLimit-Limit, RateLimit-Remaining on manifests
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                registry._handle(self)

            def do_HEAD(self) -> None:
                registry._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            failing = self.requests <= self.faults.fail_first
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if failing:
            self._fail(handler)
            return
        path = urlsplit(handler.path)
        if path.path == "/token":
            self._token(handler, parse_qs(path.query))
        elif path.path.startswith("/v2/"):
            self._api(handler)
        else:
            _reply(handler, 404, {"errors": [{"code": "NOT_FOUND"}]})

    def _fail(self, handler: BaseHTTPRequestHandler) -> None:
        if self.faults.failure == "reset":
            # SO_LINGER 0: close() sends RST, as a crashing proxy would
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
            return
        if self.faults.failure == "hang":
            time.sleep(self.faults.hang_for)
            handler.close_connection = True
            return
        _reply(handler, int(self.faults.failure), {"errors": [{"code": "UNAVAILABLE"}]}, {"Retry-After": "0"})

    def _basic_ok(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def _token(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        if not self._basic_ok(handler.headers.get("Authorization")):
            _reply(handler, 401, {"errors": [{"code": "UNAUTHORIZED"}]})
            return
        if self.token_body is not None:
            _reply(handler, 200, self.token_body())
            return
        _reply(handler, 200, {"token": "good-token", "expires_in": 300})

    def _api(self, handler: BaseHTTPRequestHandler) -> None:
        header = handler.headers.get("Authorization")
        authorized = header == "Bearer good-token" if self.bearer else self._basic_ok(header)
        if authorized and "/manifests/" in handler.path and self.rate_limit:
            limit, remaining = self.rate_limit
            _reply(handler, 200, {}, {"RateLimit-Limit": limit, "RateLimit-Remaining": remaining})
            return
        if self.bearer:
            if authorized:
                _reply(handler, 200, {})
                return
            realm = self.realm or f"http://{self.address}/token"
            challenge = f'Bearer realm="{realm}",service="faulty"'
        else:
            if authorized:
                _reply(handler, 200, {})
                return
            challenge = 'Basic realm="faulty"'
        _reply(handler, 401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": challenge})


def _reply(
    handler: BaseHTTPRequestHandler, status: int, body: object, headers: dict[str, str] | None = None
) -> None:
    reply(handler, status, body, {"Docker-Distribution-API-Version": "registry/2.0", **(headers or {})})
