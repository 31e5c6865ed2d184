"""A loopback HTTP server that answers as the test says, for registries and realms that misbehave on
purpose: a header no registry would send, a body that never ends, a byte a second, a redirect away.

`answer(request)` is called for every request and writes the answer itself (helpers below), so a
test can send anything, as slowly as it likes; every loop that waits checks `request.stopped`, so
`stop()` ends the server and its handlers within a second.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Request:
    """One request, and the means to answer it."""

    def __init__(self, handler: BaseHTTPRequestHandler, stopped: threading.Event) -> None:
        self.handler = handler
        self.stopped = stopped
        self.method = handler.command
        self.path = handler.path
        self.headers = handler.headers

    def body(self) -> bytes:
        """The request's body (read once: a keep-alive connection's next request starts after it)."""
        if not hasattr(self, "_body"):
            self._body = self.handler.rfile.read(int(self.headers.get("Content-Length") or 0))
        return self._body

    def basic(self) -> tuple[str, str] | None:
        """The Basic credential sent, decoded as UTF-8 (as docker sends it), or None."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        return user, password

    def send(self, status: int, headers: dict[str, str] | None = None, body: bytes | object = b"") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.handler.send_response(status)
        for key, value in (headers or {}).items():
            self.handler.send_header(key, value)
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.end_headers()
        if self.method != "HEAD":
            self.handler.wfile.write(data)

    def raw(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def drip(self, data: bytes, every: float = 1.0) -> None:
        """`data`, one byte every `every` seconds, until it is all sent or the server stops."""
        for byte in data:
            if self.stopped.wait(every):
                return
            try:
                self.raw(bytes([byte]))
            except OSError:
                return

    def stream(self, chunk: bytes, total: int) -> None:
        """`total` bytes of `chunk` repeated, as fast as the client reads them (a body that never ends)."""
        sent = 0
        while sent < total and not self.stopped.is_set():
            try:
                self.raw(chunk)
            except OSError:
                return
            sent += len(chunk)

    def hang(self) -> None:
        self.stopped.wait(60)

    def challenge_bearer(self, realm: str) -> None:
        self.send(
            401,
            {"WWW-Authenticate": f'Bearer realm="{realm}",service="hostile"'},
            {"errors": [{"code": "UNAUTHORIZED"}]},
        )


class HostileServer:
    def __init__(
        self,
        answer: Callable[[Request], None],
        *,
        host: str = "127.0.0.1",
        cert: tuple[Path, Path] | None = None,
    ) -> None:
        self.answer = answer
        self.requests: list[str] = []  # "METHOD path", in order
        self.stopped = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                server.answer(Request(self, server.stopped))

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def elapsed(since: float) -> float:
    return time.monotonic() - since
