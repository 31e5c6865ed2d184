"""A stand-in for the few GitHub REST endpoints that the GitHub store reaches through PyGithub.

GitHub's API cannot be reached from the test machines, so this server answers the same paths with
the same JSON fields, status codes and headers (pagination `Link`, `X-Accepted-GitHub-Permissions`).
It holds a real libsodium key pair: a secret PUT must name the current `key_id`, and its
`encrypted_value` is opened with `SealedBox(private_key)`, so tests assert what PyGithub really sealed.

Holders of secrets and variables are keyed by their API path: `repos/OWNER/NAME`,
`repos/OWNER/NAME/environments/ENV` and `orgs/ORG`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

# token -> permissions. "secrets"/"variables" grant read and write; "secrets:read"/"variables:read" read only.
DEFAULT_TOKENS: dict[str, set[str]] = {
    "token-good": {"secrets", "variables"},
    "token-readonly": {"secrets:read", "variables:read"},
    "token-no-secrets": {"variables"},
    "token-no-variable-write": {"secrets", "variables:read"},
    "token-none": set(),
}
TIMESTAMP = "2024-05-01T12:00:00Z"
KEY_ID = "568250167242549743"
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VISIBILITIES = ("all", "private", "selected")
# What GitHub names each permission in X-Accepted-GitHub-Permissions, for repositories and organizations.
_PERMISSION_NAMES = {
    ("secrets", False): "secrets",
    ("variables", False): "actions_variables",
    ("secrets", True): "organization_secrets",
    ("variables", True): "organization_actions_variables",
}


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    """Ends a request with an error answer, as GitHub words it."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.response = Response(status, {"message": message}, headers or {})


def not_found() -> Refused:
    return Refused(404, "Not Found")


@dataclass(frozen=True)
class Scope:
    """One holder of Actions secrets and variables."""

    key: str
    is_org: bool


class GitHubAPI:
    """The server's state (plaintext secrets, variables, tokens) and its answers, behind one lock."""

    def __init__(
        self,
        *,
        tokens: dict[str, set[str]] | None = None,
        repos: Iterable[str] = ("octo/app", "octo/other"),
        environments: dict[str, set[str]] | None = None,
        orgs: Iterable[str] = ("acme",),
    ) -> None:
        self.tokens = {token: set(permissions) for token, permissions in (tokens or DEFAULT_TOKENS).items()}
        self.repos = {name: index for index, name in enumerate(sorted(repos), 1001)}
        self.environments = environments if environments is not None else {"octo/app": {"production"}}
        self.orgs = set(orgs)
        self.private_key = PrivateKey.generate()
        self.key_id = KEY_ID
        self.secrets: dict[str, dict[str, str]] = {}
        self.variables: dict[str, dict[str, str]] = {}
        # Organization secrets and variables only: "all" | "private" | "selected", and the selected repo ids.
        self.visibility: dict[str, dict[str, str]] = {}
        self.selected: dict[str, dict[str, list[int]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.url = ""
        self._permissions: set[str] = set()
        self._failures: list[Response] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- what tests use -------------------------------------------------------------------------

    def env(self, token: str = "token-good") -> dict[str, str]:  # noqa: S107 - a test token
        """The environment a `registries` command needs to talk to this server."""
        return {"GITHUB_API_URL": self.url, "GITHUB_TOKEN": token}

    def seed_secret(
        self, scope: str, name: str, value: str, *, visibility: str = "all", selected: Iterable[str] = ()
    ) -> None:
        """A secret set some other way (the web UI, `gh secret set`)."""
        with self._lock:
            self.secrets.setdefault(scope, {})[name] = value
            if scope.startswith("orgs/"):
                self.visibility.setdefault(scope, {})[name] = visibility
                self.selected.setdefault(scope, {})[name] = [self.repos[repo] for repo in selected]

    def seed_variable(self, scope: str, name: str, value: str) -> None:
        with self._lock:
            self.variables.setdefault(scope, {})[name] = value
            if scope.startswith("orgs/"):
                self.visibility.setdefault(scope, {})[f"variable:{name}"] = "all"

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        message: str = "Server Error",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests with this error, whatever they ask."""
        with self._lock:
            self._failures += [Response(status, {"message": message}, dict(headers or {}))] * times

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests if method != "GET"]

    # --- the server -----------------------------------------------------------------------------

    def __enter__(self) -> GitHubAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="github-api", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        with self._lock:
            self.requests.append((method, target))
            if self._failures:
                return self._failures.pop(0)
            try:
                self._authenticate(authorization)
                return self._route(method, target, _json(body))
            except Refused as refused:
                return refused.response
            except Exception:  # a bug in the stand-in: answer 500 and let the fixture report it
                self.errors.append(traceback.format_exc())
                return Response(500, {"message": "stand-in error"})

    # --- routing ----------------------------------------------------------------------------------

    def _authenticate(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() not in {"token", "bearer"} or token not in self.tokens:
            raise Refused(401, "Bad credentials")
        self._permissions = self.tokens[token]

    def _route(self, method: str, target: str, body: Any) -> Response:
        url = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        parts = [unquote(part) for part in url.path.strip("/").split("/")]
        if parts[:1] == ["repos"] and len(parts) >= 3:
            return self._repo(method, parts[1] + "/" + parts[2], parts[3:], query, body)
        if parts[:1] == ["orgs"] and len(parts) >= 2:
            return self._org(method, parts[1], parts[2:], query, body)
        raise not_found()

    def _repo(
        self, method: str, full_name: str, rest: list[str], query: dict[str, str], body: Any
    ) -> Response:
        if full_name not in self.repos:
            raise not_found()
        if not rest and method == "GET":
            return Response(200, self._repo_json(full_name))
        if rest[:1] == ["environments"] and len(rest) >= 2:
            name = rest[1]
            if name not in self.environments.get(full_name, set()):
                raise not_found()
            if len(rest) == 2 and method == "GET":
                return Response(200, self._environment_json(full_name, name))
            scope = Scope(f"repos/{full_name}/environments/{name}", is_org=False)
            return self._actions(method, scope, rest[2:], query, body)
        if rest[:1] == ["actions"]:
            return self._actions(method, Scope(f"repos/{full_name}", is_org=False), rest[1:], query, body)
        raise not_found()

    def _org(self, method: str, org: str, rest: list[str], query: dict[str, str], body: Any) -> Response:
        if org not in self.orgs:
            raise not_found()
        if not rest and method == "GET":
            return Response(
                200, {"login": org, "id": 9000, "type": "Organization", "url": f"{self.url}/orgs/{org}"}
            )
        if rest[:1] == ["actions"]:
            return self._actions(method, Scope(f"orgs/{org}", is_org=True), rest[1:], query, body)
        raise not_found()

    def _actions(
        self, method: str, scope: Scope, rest: list[str], query: dict[str, str], body: Any
    ) -> Response:
        kind, args = (rest[0], rest[1:]) if rest else ("", [])
        route = (kind, method, len(args))
        if kind == "secrets" and args[:1] == ["public-key"]:
            route = ("public-key", method, len(args) - 1)
        handlers = {
            ("public-key", "GET", 0): lambda: self._public_key(scope),
            ("secrets", "GET", 0): lambda: self._list(scope, "secrets", query),
            ("secrets", "GET", 1): lambda: self._get_secret(scope, args[0]),
            ("secrets", "PUT", 1): lambda: self._put_secret(scope, args[0], body),
            ("secrets", "DELETE", 1): lambda: self._delete(scope, "secrets", args[0]),
            ("secrets", "GET", 2): lambda: self._selected_repositories(scope, args, query),
            ("variables", "GET", 0): lambda: self._list(scope, "variables", query),
            ("variables", "POST", 0): lambda: self._create_variable(scope, body),
            ("variables", "GET", 1): lambda: self._get_variable(scope, args[0]),
            ("variables", "PATCH", 1): lambda: self._update_variable(scope, args[0], body),
            ("variables", "DELETE", 1): lambda: self._delete(scope, "variables", args[0]),
        }
        handler = handlers.get(route)
        if handler is None:
            raise not_found()
        return handler()

    # --- permissions ------------------------------------------------------------------------------

    def _require(self, scope: Scope, kind: str, access: str) -> None:
        if kind in self._permissions or (access == "read" and f"{kind}:read" in self._permissions):
            return
        name = _PERMISSION_NAMES[(kind, scope.is_org)]
        raise Refused(
            403,
            "Resource not accessible by integration",
            {"X-Accepted-GitHub-Permissions": f"{name}={access}"},
        )

    # --- secrets ----------------------------------------------------------------------------------

    def _public_key(self, scope: Scope) -> Response:
        self._require(scope, "secrets", "read")
        key = base64.b64encode(bytes(self.private_key.public_key)).decode()
        return Response(200, {"key_id": self.key_id, "key": key})

    def _get_secret(self, scope: Scope, name: str) -> Response:
        self._require(scope, "secrets", "read")
        name = name.upper()
        if name not in self.secrets.get(scope.key, {}):
            raise not_found()
        return Response(200, self._item_json(scope, "secrets", name))

    def _put_secret(self, scope: Scope, name: str, body: Any) -> Response:
        self._require(scope, "secrets", "write")
        name = _check_name(name)
        if not isinstance(body, dict) or body.get("key_id") != self.key_id:
            raise Refused(422, "Bad request: key_id is not the current public key of this repository")
        plaintext = self._open(body.get("encrypted_value"))
        held = self.secrets.setdefault(scope.key, {})
        created = name not in held
        if scope.is_org:
            self._set_visibility(scope, name, body, default=None)
        held[name] = plaintext
        return Response(201 if created else 204, {} if created else None)

    def _open(self, encrypted: object) -> str:
        if not isinstance(encrypted, str):
            raise Refused(422, "Invalid request: encrypted_value is missing")
        try:
            return SealedBox(self.private_key).decrypt(base64.b64decode(encrypted, validate=True)).decode()
        except (binascii.Error, CryptoError, UnicodeDecodeError):
            raise Refused(422, "Bad request: encrypted_value could not be decrypted") from None

    def _set_visibility(self, scope: Scope, key: str, body: dict[str, Any], default: str | None) -> None:
        visibility = body.get("visibility", default)
        if visibility not in _VISIBILITIES:
            raise Refused(422, f"Invalid request: visibility must be one of {', '.join(_VISIBILITIES)}")
        self.visibility.setdefault(scope.key, {})[key] = visibility
        if visibility != "selected":
            self.selected.setdefault(scope.key, {})[key] = []
        elif "selected_repository_ids" in body:
            self.selected.setdefault(scope.key, {})[key] = list(body["selected_repository_ids"])

    def _selected_repositories(self, scope: Scope, args: list[str], query: dict[str, str]) -> Response:
        if not scope.is_org or args[1] != "repositories":
            raise not_found()
        self._require(scope, "secrets", "read")
        name = args[0].upper()
        if name not in self.secrets.get(scope.key, {}):
            raise not_found()
        ids = set(self.selected.get(scope.key, {}).get(name, []))
        repos = [self._repo_json(full) for full, repo_id in sorted(self.repos.items()) if repo_id in ids]
        return self._page(
            repos, "repositories", f"/{scope.key}/actions/secrets/{quote(name)}/repositories", query
        )

    # --- variables --------------------------------------------------------------------------------

    def _get_variable(self, scope: Scope, name: str) -> Response:
        self._require(scope, "variables", "read")
        name = name.upper()
        if name not in self.variables.get(scope.key, {}):
            raise not_found()
        return Response(200, self._item_json(scope, "variables", name))

    def _create_variable(self, scope: Scope, body: Any) -> Response:
        self._require(scope, "variables", "write")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise Refused(422, "Invalid request: name and value are required")
        name = _check_name(str(body.get("name", "")))
        held = self.variables.setdefault(scope.key, {})
        if name in held:
            raise Refused(409, "Already exists - Variable already exists")
        if scope.is_org:
            self._set_visibility(scope, f"variable:{name}", body, default="all")
        held[name] = body["value"]
        return Response(201, {})

    def _update_variable(self, scope: Scope, name: str, body: Any) -> Response:
        self._require(scope, "variables", "write")
        name = name.upper()
        held = self.variables.get(scope.key, {})
        if name not in held:
            raise not_found()
        if not isinstance(body, dict):
            raise Refused(422, "Invalid request")
        new_name = _check_name(str(body.get("name", name)))
        value = held.pop(name)
        held[new_name] = body.get("value", value)
        if scope.is_org and "visibility" in body:
            self._set_visibility(scope, f"variable:{new_name}", body, default=None)
        return Response(204)

    def _delete(self, scope: Scope, kind: str, name: str) -> Response:
        self._require(scope, kind, "write")
        held = (self.secrets if kind == "secrets" else self.variables).get(scope.key, {})
        if held.pop(name.upper(), None) is None:
            raise not_found()
        return Response(204)

    # --- JSON -------------------------------------------------------------------------------------

    def _list(self, scope: Scope, kind: str, query: dict[str, str]) -> Response:
        self._require(scope, kind, "read")
        held = (self.secrets if kind == "secrets" else self.variables).get(scope.key, {})
        items = [self._item_json(scope, kind, name) for name in sorted(held)]
        path = f"/{scope.key}/actions/{kind}" if "/environments/" not in scope.key else f"/{scope.key}/{kind}"
        return self._page(items, kind, path, query)

    def _item_json(self, scope: Scope, kind: str, name: str) -> dict[str, Any]:
        item: dict[str, Any] = {"name": name, "created_at": TIMESTAMP, "updated_at": TIMESTAMP}
        if kind == "variables":
            item["value"] = self.variables[scope.key][name]
        if scope.is_org:
            key = name if kind == "secrets" else f"variable:{name}"
            item["visibility"] = self.visibility.get(scope.key, {}).get(key, "all")
            if item["visibility"] == "selected":
                item["selected_repositories_url"] = (
                    f"{self.url}/{scope.key}/actions/{kind}/{quote(name)}/repositories"
                )
        return item

    def _page(self, items: list[dict[str, Any]], list_key: str, path: str, query: dict[str, str]) -> Response:
        """One page, with GitHub's `Link` header naming the next and the last."""
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(items) // per_page))
        body = {"total_count": len(items), list_key: items[(page - 1) * per_page : page * per_page]}
        links = []
        if page < last:
            links.append(f'<{self.url}{path}?page={page + 1}&per_page={per_page}>; rel="next"')
            links.append(f'<{self.url}{path}?page={last}&per_page={per_page}>; rel="last"')
        return Response(200, body, {"Link": ", ".join(links)} if links else {})

    def _repo_json(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        return {
            "id": self.repos[full_name],
            "name": name,
            "full_name": full_name,
            "private": True,
            "owner": {"login": owner, "id": 9000, "type": "Organization"},
            "url": f"{self.url}/repos/{full_name}",
            "html_url": f"https://github.com/{full_name}",
        }

    def _environment_json(self, full_name: str, name: str) -> dict[str, Any]:
        return {
            "id": 161088068,
            "name": name,
            "url": f"{self.url}/repos/{full_name}/environments/{quote(name, safe='')}",
            "html_url": f"https://github.com/{full_name}/deployments/activity_log?environments_filter={quote(name)}",
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
            "protection_rules": [],
        }


def _check_name(name: str) -> str:
    """GitHub's rules for secret and variable names (it keeps them upper-cased)."""
    if not _SECRET_NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise Refused(422, f"Invalid request: {name!r} is not a valid secret or variable name")
    return name.upper()


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise Refused(400, "Problems parsing JSON") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: GitHubAPI
    ) -> None:
        super().__init__(address, handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.api.respond(method, self.path, self.headers.get("Authorization"), body)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are in `GitHubAPI.requests`."""


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubAPI]:
    """A running stand-in with the default tokens, repositories `octo/app` (environment `production`)
    and `octo/other`, and the organization `acme`."""
    for name in ("NO_PROXY", "no_proxy"):  # a proxy in the environment must not swallow loopback calls
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1"])))
    with GitHubAPI() as api:
        yield api
    assert not api.errors, "the GitHub stand-in failed:\n" + "\n".join(api.errors)
