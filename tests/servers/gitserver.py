"""A Git server on loopback as GitHub is one to BuildKit: git's own smart HTTP (`git http-backend`, the
CGI in Debian's `git` package) behind a server that takes a token as GitHub takes GIT_AUTH_TOKEN
(Basic auth, user `x-access-token`, the token as password; BuildKit sends it unasked, as an extra
header), and the one GitHub REST endpoint the pre-flight reads a Dockerfile through: the contents
endpoint (`GET /api/v3/repos/OWNER/NAME/contents/PATH?ref=REF`, `Authorization: Bearer TOKEN`,
`Accept: application/vnd.github.raw`), answered from the same repository.

Repositories live under `root/OWNER/NAME.git` (bare); `repository()` makes one from files and
returns its commit. Every request is logged with whether it carried the token, for the tests.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers.procs import BenchError, require

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


def git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, timeout=60, check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or Path("/nonexistent")),
             "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
             "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org"},
    )  # fmt: skip
    if result.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode(errors="replace").strip()


@dataclass
class Request:
    method: str
    path: str
    authorized: bool  # it carried the right token
    authorization: str  # the header as sent ("" when none)


class GitServer:
    def __init__(self, root: Path, token: str) -> None:
        require("git", "git")
        if not Path(HTTP_BACKEND).is_file():
            raise BenchError(f"{HTTP_BACKEND} is missing: install Debian's git package")
        self.root = root
        self.token = token
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    def repository(self, name: str, files: dict[str, str], branch: str = "main") -> str:
        """A bare repository `root/NAME.git` (NAME is OWNER/REPO) holding `files` in one commit on
        `branch`; its commit."""
        work = self.root / "work" / name
        work.mkdir(parents=True)
        git("init", "-q", "-b", branch, cwd=work)
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "bench", cwd=work)
        bare = self.root / f"{name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", "--bare", str(work), str(bare))
        git("config", "http.receivepack", "false", cwd=bare)
        return git("rev-parse", "HEAD", cwd=work)

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: GitServer
    protocol_version = "HTTP/1.0"  # one request a connection: no keep-alive bookkeeping

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _authorized(self) -> tuple[bool, str]:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        token = self.owner.token
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except ValueError:
                return False, header
            return (user == "x-access-token" and password == token), header
        if scheme.lower() in {"bearer", "token"}:
            return value.strip() == token, header
        return False, header

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        authorized, header = self._authorized()
        self.owner.log(Request(self.command, parts.path, authorized, header))
        if parts.path.startswith("/api/v3/"):
            self._api(parts.path.removeprefix("/api/v3"), parse_qs(parts.query), authorized, bool(header))
            return
        if not authorized:
            self._answer(401, b"Authentication required\n", {"WWW-Authenticate": 'Basic realm="bench git"'})
            return
        self._cgi(parts.path, parts.query)

    def _api(self, path: str, query: dict[str, list[str]], authorized: bool, sent: bool) -> None:
        if not authorized:  # GitHub: 401 for a bad token, 404 for a private repository asked anonymously
            status, message = (401, "Bad credentials") if sent else (404, "Not Found")
            self._json(status, {"message": message})
            return
        segments = path.strip("/").split("/")
        if len(segments) < 5 or segments[0] != "repos" or segments[3] != "contents":
            self._json(404, {"message": "Not Found"})
            return
        bare = self.owner.root / segments[1] / f"{segments[2]}.git"
        file = unquote("/".join(segments[4:]))
        ref = query.get("ref", ["HEAD"])[0]
        result = subprocess.run(
            ["git", "show", f"{ref}:{file}"], cwd=bare, capture_output=True, timeout=30, check=False
        )
        if not bare.is_dir() or result.returncode != 0:
            self._json(404, {"message": "Not Found"})
            return
        if "raw" not in self.headers.get("Accept", ""):
            self._json(
                200,
                {"type": "file", "encoding": "base64", "content": base64.b64encode(result.stdout).decode()},
            )
            return
        self._answer(200, result.stdout, {"Content-Type": "application/vnd.github.raw"})

    def _cgi(self, path: str, query: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        result = subprocess.run(
            [HTTP_BACKEND], input=body, env=env, capture_output=True, timeout=60, check=False
        )
        head, _, content = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = result.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode(errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        self._answer(status, content, headers)

    def _json(self, status: int, body: object) -> None:
        self._answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
