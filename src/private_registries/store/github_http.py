"""PyGithub's requests, sent by our Transport, so a GitHub API gets the bounds every other server gets.

PyGithub keeps its own requests Session, whose timeout is per read (a body that trickles a byte at a
time runs on), whose urllib3 Retry sleeps whatever Retry-After says, which reads a body whole however
big, and which follows `Link: rel="next"` (and repeats a GET answered 202, 2 s apart) for as long as a
server goes on. Here its connection is ours instead:

- each request is one of the Transport's: REGISTRIES_TIMEOUT and REGISTRIES_RETRIES, the attempt's
  deadline, Retry-After honoured up to the timeout, the body refused past 4 MiB. POST and PATCH are
  never repeated (a POST that did reach GitHub would fail the second time: it exists);
- a command may send at most MAX_PAGES requests to one path (the pages of one listing: at 100 a page,
  10 000 items), the same request at most MAX_SAME times, MAX_REQUESTS in all, and may talk to the API
  for at most COMMAND_DEADLINES times one attempt's deadline. Past any of these it stops, saying what
  it stopped at.

PyGithub takes a connection class (it mimics http.client's); the one of a Github instance is set on its
Requester (PyGithub's own `injectConnectionClasses` would set it for every instance in the process).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from private_registries.errors import ErrorKind
from private_registries.transport import NetworkFailure, Transport

if TYPE_CHECKING:
    import requests
    from github.MainClass import Github
    from github.Requester import RequestsResponse

PER_PAGE = 100  # GitHub's largest page
MAX_PAGES = 100
MAX_SAME = 5
MAX_REQUESTS = 300
COMMAND_DEADLINES = 5  # a command's whole conversation with the API: 5 attempts' worth (125 s by default)
_NOT_REPEATED = frozenset({"POST", "PATCH"})
# Where PyGithub's Requester keeps the connection classes it makes its connections with.
_CLASS_ATTRIBUTES = (
    "_Requester__connectionClass",
    "_Requester__httpConnectionClass",
    "_Requester__httpsConnectionClass",
)


def bounded(github: Github, api_url: str, transport: Transport) -> Github:
    """`github` (speaking to `api_url`), its every request made through `transport` and within one
    budget (see the module)."""
    requester = github.requester
    missing = [name for name in _CLASS_ATTRIBUTES if not hasattr(requester, name)]
    if missing:  # a PyGithub that keeps its connections otherwise: refuse rather than go unbounded
        raise RuntimeError(
            f"PyGithub's Requester has no {', '.join(missing)}: this PyGithub is not supported"
        )
    sender = _Sender(
        transport,
        Transport(replace(transport.options, retries=0)),
        _Budget(transport.options.deadline * COMMAND_DEADLINES),
    )
    scheme = urlsplit(api_url).scheme
    factories = {s: _factory(s, sender) for s in ("http", "https")}
    vars(requester)["_Requester__connectionClass"] = factories[scheme]
    vars(requester)["_Requester__httpConnectionClass"] = factories["http"]
    vars(requester)["_Requester__httpsConnectionClass"] = factories["https"]
    return github


def _factory(scheme: str, sender: _Sender) -> Any:
    """A stand-in for PyGithub's connection class: called as it calls one (timeout, retry and pool
    size it passes are PyGithub's own, and ignored: the transport has ours)."""

    def connection(host: str, port: int | None = None, *args: Any, **kwargs: Any) -> _Connection:
        return _Connection(scheme, host, port, sender)

    return connection


@dataclass(frozen=True)
class _Sender:
    transport: Transport
    once: Transport  # for POST and PATCH: never repeated
    budget: _Budget


class _Budget:
    """What one command may still ask of the API."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.total = 0
        self.by_path: dict[tuple[str, str], int] = {}
        self.by_request: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def spend(self, verb: str, url: str) -> None:
        path = url.split("?", 1)[0]
        with self._lock:
            self.total += 1
            pages = self.by_path[verb, path] = self.by_path.get((verb, path), 0) + 1
            same = self.by_request[verb, url] = self.by_request.get((verb, url), 0) + 1
            total = self.total
        shown = _shown(path)
        if same > MAX_SAME:
            reason = (
                f"was asked for {verb} {_shown(url)} {MAX_SAME} times over (answered 202, or moved there)"
            )
        elif pages > MAX_PAGES:
            reason = f"answered more than {MAX_PAGES} pages of {shown}, each naming a next one"
        elif total > MAX_REQUESTS:
            reason = f"took more than {MAX_REQUESTS} requests for one command"
        elif time.monotonic() > self.ends:
            reason = f"took more than {self.seconds:g} s in all for one command"
        else:
            return
        raise NetworkFailure(
            ErrorKind.PROTOCOL, f"{reason}; stopped before {verb} {shown}: the rest was not read"
        )


def _shown(path: str, limit: int = 80) -> str:
    """A path a server may have chosen (a Link), in bounded space."""
    return path if len(path) <= limit else path[: limit - 1] + "…"


def _keep(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """No auth of requests' own: PyGithub's Authorization header stays, never one from ~/.netrc."""
    return request


class _Connection:
    """What PyGithub's Requester asks of a connection: request(), then getresponse()."""

    def __init__(self, scheme: str, host: str, port: int | None, sender: _Sender) -> None:
        self.host, self.port = host, port  # PyGithub reads `host` to tell whether to make a new one
        self.origin = f"{scheme}://{host}" + (f":{port}" if port else "")
        self.sender = sender
        self._pending: tuple[str, str, Any, dict[str, str]] | None = None

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str], stream: bool = False) -> None:
        self._pending = (verb, url, input, headers)

    def getresponse(self) -> RequestsResponse:
        from github.Requester import RequestsResponse

        if self._pending is None:
            raise RuntimeError("getresponse() before request()")
        verb, url, body, headers = self._pending
        self._pending = None
        self.sender.budget.spend(verb, url)
        if isinstance(body, str):
            body = body.encode("utf-8")
        transport = self.sender.once if verb in _NOT_REPEATED else self.sender.transport
        response = transport.request(
            verb,
            self.origin + url,
            headers=headers,
            data=body,
            auth=_keep,
            allow_redirects=False,  # PyGithub follows what it follows itself, and refuses other hosts
        )
        return RequestsResponse(response)

    def close(self) -> None:
        pass
