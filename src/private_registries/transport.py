"""HTTP for every network call: timeouts, bounded retries with backoff, one SSL context, and bounds on
what a server can make us wait for or hold.

- Time: a connection must open within `connect_timeout`, every read must bring bytes within
  `read_timeout`, and each attempt (connection, headers, body, all of it) must end within
  `deadline`: a server that sends a byte a second, or never ends its headers, fails then, not
  never. An attempt that ran out its deadline is not tried again.
- Retries: connection errors, resets, read timeouts, 429 and 5xx, at most `retries` more times,
  with backoff; `Retry-After` is honoured up to `read_timeout`, and a server that asks for longer
  fails at once, saying so. Never 401 or 403, which a retry cannot mend.
- Size: a body is read streamed and refused past `max_body` bytes (a token, an error, a JSON
  answer are all far smaller); redirects are followed here (at most MAX_REDIRECTS), their bodies
  never read, and `Authorization` is dropped when one leaves the origin.

Failures become `NetworkFailure` with a plain reason, never a URL with credentials or a traceback.
It knows nothing of registries: which scheme a registry speaks is auth/endpoint.py's business.
"""

from __future__ import annotations

import math
import os
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from private_registries.errors import ErrorKind, InputError
from private_registries.text import cut

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

USER_AGENT = "private-registries"
# The only unverified requests are the ones made on purpose (skip_verification): no warning each.
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_BODY = 4 * 1024 * 1024  # bytes: a registry's JSON answers, errors and tokens are kilobytes
MAX_RETRIES = 10
MAX_TIMEOUT = 3600.0


@dataclass(frozen=True)
class TransportOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.3
    ca_bundle: str | None = None  # a PEM file (or a folder of them) of CAs to trust instead of certifi's
    ca_variable: str = ""  # the variable that named it, for the errors

    @property
    def deadline(self) -> float:
        """How long one attempt may take in all: to connect, then to answer."""
        return self.connect_timeout + self.read_timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TransportOptions:
        """`REGISTRIES_TIMEOUT` (seconds, read) and `REGISTRIES_RETRIES` tune these for slow networks."""
        defaults = cls()
        timeout = _number(env, "REGISTRIES_TIMEOUT", defaults.read_timeout)
        variable = next((name for name in CA_VARIABLES if env.get(name)), "")
        bundle = env[variable] if variable else None
        if bundle is not None and not os.path.exists(bundle):
            raise InputError(
                f"{variable} names {cut(bundle)}, which does not exist",
                hint=f"point {variable} at a PEM file of CA certificates (or a folder of them), or unset it",
            )
        return cls(
            connect_timeout=min(defaults.connect_timeout, timeout),
            read_timeout=timeout,
            retries=_whole(env, "REGISTRIES_RETRIES", defaults.retries),
            ca_bundle=bundle,
            ca_variable=variable,
        )


CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")  # requests' order


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise InputError(
            f"{name}={cut(text)} is not a number of seconds",
            hint=f"set it to a number greater than 0 and at most {MAX_TIMEOUT:g}, e.g. {name}=60",
        )
    return value


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_RETRIES):
        raise InputError(
            f"{name}={cut(text)} is not a number of retries",
            hint=f"set it to a whole number from 0 to {MAX_RETRIES}, e.g. {name}=5",
        )
    return int(text)


class NetworkFailure(Exception):
    """A request that failed for good: unreachable, tls, timeout, unavailable (retries spent), or
    protocol (an answer past our bounds)."""

    def __init__(self, kind: ErrorKind, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status


class Transport:
    def __init__(self, options: TransportOptions | None = None, pool_size: int = 64) -> None:
        self.options = options or TransportOptions()
        self.session = _Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = True
        cafile = self.options.ca_bundle or certifi.where()
        # Retries and redirects are ours (request below): urllib3 would sleep any Retry-After it is
        # given, and requests reads a redirect's whole body.
        adapter = _OneContextAdapter(
            cafile,
            self.options.ca_variable,
            max_retries=0,
            pool_connections=pool_size,
            pool_maxsize=pool_size,
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._unverified: set[str] = set()  # see skip_verification
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_redirects: bool = True,
        body: bool = True,
        max_body: int = MAX_BODY,
        **kwargs: Any,
    ) -> requests.Response:
        """The answer to one request, retried as the module says, with its body read (at most
        `max_body` bytes; none with `body=False`, for a caller that needs only the status and headers).
        Redirects are followed unless `allow_redirects` is false; the answer's `url` is where it ended."""
        headers = dict(headers or {})
        limit = max_body if body else None
        for _ in range(MAX_REDIRECTS + 1):
            response = self._retried(method, url, headers, limit, allow_redirects, **kwargs)
            location = response.headers.get("Location")
            if not (allow_redirects and response.status_code in REDIRECT_STATUSES and location):
                return response
            target = urljoin(response.url, location)
            keeps_body = response.status_code in {307, 308} and any(
                kwargs.get(key) is not None for key in ("data", "json", "files")
            )
            if keeps_body and not same_origin(url, target):
                # a 307/308 sends the body again, and a body may hold a credential (a refresh token)
                raise NetworkFailure(
                    ErrorKind.PROTOCOL,
                    f"{method} was redirected ({response.status_code}) to "
                    f"{cut(urlsplit(target).netloc or target, 80)!r}, another host: a request's body is "
                    "never sent on to another host",
                    response.status_code,
                )
            if not same_origin(url, target):
                headers.pop("Authorization", None)
                kwargs.pop("auth", None)
            if response.status_code == 303 or (response.status_code in {301, 302} and method == "POST"):
                method = "GET" if method != "HEAD" else method
                kwargs.pop("data", None)
            kwargs.pop("params", None)  # the target is a whole URL
            url = target
        raise NetworkFailure(ErrorKind.PROTOCOL, f"redirected more than {MAX_REDIRECTS} times")

    def _retried(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        limit: int | None,
        follow: bool,
        **kwargs: Any,
    ) -> requests.Response:
        options = self.options
        for attempt in range(options.retries + 1):
            last = attempt == options.retries
            try:
                response = self._attempt(method, url, headers, limit, follow=follow, last=last, **kwargs)
            except _Retry as failure:
                if last:
                    raise failure.failure from None
                time.sleep(self.backoff(attempt))
                continue
            if response.status_code not in RETRY_STATUSES or last:
                return response
            wait = _retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > options.read_timeout:
                raise NetworkFailure(
                    ErrorKind.UNAVAILABLE,
                    f"answered {response.status_code} asking to be tried again after {wait:g} s, "
                    f"longer than REGISTRIES_TIMEOUT allows ({options.read_timeout:g} s)",
                    response.status_code,
                )
            time.sleep(self.backoff(attempt) if wait is None else wait)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _attempt(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        limit: int | None,
        *,
        follow: bool,
        last: bool,
        **kwargs: Any,
    ) -> requests.Response:
        """One request, within the deadline, and the body of an answer that is kept (at most `limit`
        bytes; None: not read); a failure another attempt may mend raises _Retry."""
        options = self.options
        kwargs.setdefault("timeout", (options.connect_timeout, options.read_timeout))
        if self._unverified and urlsplit(url).netloc in self._unverified:
            kwargs.setdefault("verify", False)
        deadline = time.monotonic() + options.deadline
        _DEADLINE.at = deadline
        try:
            response = self.session.request(
                method, url, headers=headers, allow_redirects=False, stream=True, **kwargs
            )
            status = response.status_code
            passed_on = (follow and status in REDIRECT_STATUSES) or (status in RETRY_STATUSES and not last)
            if passed_on or limit is None:
                _closed(response)
            else:
                _read_body(response, limit)
            return response
        except requests.exceptions.SSLError as exc:
            raise NetworkFailure(ErrorKind.TLS, f"TLS failed: {_root_reason(exc)}") from None
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            if time.monotonic() >= deadline:  # bytes kept coming, too slowly: no second chance
                raise NetworkFailure(
                    ErrorKind.TIMEOUT, f"no complete answer within {options.deadline:g} s"
                ) from None
            if isinstance(exc, requests.exceptions.Timeout) or _timed_out(exc):
                raise _Retry(
                    NetworkFailure(ErrorKind.TIMEOUT, f"no answer within {options.read_timeout:g} s")
                ) from None
            raise _Retry(NetworkFailure(ErrorKind.UNREACHABLE, _root_reason(exc))) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise _Retry(NetworkFailure(ErrorKind.UNREACHABLE, _root_reason(exc))) from None
        except requests.exceptions.RequestException as exc:
            raise NetworkFailure(ErrorKind.UNREACHABLE, type(exc).__name__) from None
        finally:
            _DEADLINE.at = None

    def backoff(self, attempt: int) -> float:
        """As urllib3 backs off: at once the first time, then twice as long each time (at most a timeout)."""
        return 0.0 if attempt == 0 else min(self.options.backoff * 2**attempt, self.options.read_timeout)

    def skip_verification(self, host: str) -> None:
        """Requests to `host` (host[:port]) no longer verify its certificate: only for a host the caller
        chose to trust as it is (a self-signed loopback or insecure registry, as the daemon does)."""
        with self._lock:
            self._unverified.add(host)


class _Session(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """None: requests follows no redirect, and so never reads a redirect's body (it does, to note
        where the next hop would go, even when told not to follow); Transport.request follows them."""
        return None


class _Retry(Exception):
    """An attempt that failed in a way another attempt may not."""

    def __init__(self, failure: NetworkFailure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _read_body(response: requests.Response, limit: int) -> None:
    """Read the body as it streams, refusing it past `limit` bytes (decoded)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise NetworkFailure(
                ErrorKind.PROTOCOL,
                f"answered more than {_size(limit)} (HTTP {response.status_code}); the rest was not read",
                response.status_code,
            )
        chunks.append(chunk)
    response._content = b"".join(chunks)


def _closed(response: requests.Response) -> requests.Response:
    response.close()
    response._content = b""
    return response


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count % (1024 * 1024) == 0 else f"{count} bytes"


def _retry_after(header: str | None) -> float | None:
    """Retry-After in seconds (a number, or an HTTP date), None when absent or not understood."""
    if not header:
        return None
    text = header.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def same_origin(before: str, after: str) -> bool:
    """Whether a redirect stays where the credential was meant to go: the same scheme, host and port, or
    the same host moving from http to https on the default ports."""
    a, b = urlsplit(before), urlsplit(after)
    if (a.hostname, a.scheme, a.port) == (b.hostname, b.scheme, b.port):
        return True
    return a.hostname == b.hostname and (a.scheme, a.port, b.scheme, b.port) in {
        ("http", None, "https", None),
        ("http", 80, "https", 443),
        ("http", None, "https", 443),
        ("http", 80, "https", None),
    }


# -- the deadline: every read of a request's socket waits at most until its attempt must end -----------

_DEADLINE = threading.local()  # .at: the monotonic time the current thread's attempt must end by


def _left() -> float | None:
    at: float | None = getattr(_DEADLINE, "at", None)
    return None if at is None else at - time.monotonic()


class _DeadlineReads:
    """recv_into (what http.client's reads come down to) and the TLS handshake, bounded by the deadline
    of the attempt under way in this thread (none outside one)."""

    __slots__ = ()  # a socket's class is swapped for this one's: the layout must stay a socket's

    def recv_into(self, *args: Any) -> int:
        with _Bounded(self):  # type: ignore[arg-type]
            return super().recv_into(*args)  # type: ignore[misc, no-any-return]

    def do_handshake(self, *args: Any) -> None:
        with _Bounded(self):  # type: ignore[arg-type]
            super().do_handshake(*args)  # type: ignore[misc]


class _DeadlineSocket(_DeadlineReads, socket.socket):
    __slots__ = ()


class _DeadlineSSLSocket(_DeadlineReads, ssl.SSLSocket):
    pass


class _Bounded:
    """The socket's timeout cut down to what is left of the deadline, for one call."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.saved: float | None = None
        self.cut = False

    def __enter__(self) -> None:
        left = _left()
        if left is None:
            return
        if left <= 0:
            raise TimeoutError("the request's deadline has passed")
        self.saved = self.sock.gettimeout()
        if self.saved is None or self.saved > left:
            self.sock.settimeout(left)
            self.cut = True

    def __exit__(self, *exc: object) -> None:
        if self.cut:
            self.sock.settimeout(self.saved)


class _DeadlineConnection:
    """A connection whose plain socket reads within the deadline (TLS sockets: the context's class)."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if type(sock) is socket.socket:
            sock.__class__ = _DeadlineSocket
        return sock


class _HTTPConnection(_DeadlineConnection, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _bounded_pools(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


class _OneContextAdapter(HTTPAdapter):
    """Every HTTPS connection shares one SSL context, whose CAs were loaded once.

    Left to itself, requests has urllib3 load the CA bundle into each new connection's context:
    some 30 ms of CPU each, which serialises a login to 40 registries behind the GIL.
    """

    def __init__(self, cafile: str, variable: str = "", **kwargs: Any) -> None:
        self._cafile = cafile
        self._variable = variable
        self._contexts: dict[bool, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        super().__init__(**kwargs)

    def _context(self, verified: bool) -> ssl.SSLContext:
        """Made at the first HTTPS request that needs it: loading the CAs takes some 40 ms, which a run
        that speaks only plain HTTP (a loopback registry) need not pay."""
        with self._lock:
            context = self._contexts.get(verified)
            if context is None:
                if verified:
                    context = self._verifying()
                else:
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                context.sslsocket_class = _DeadlineSSLSocket
                self._contexts[verified] = context
        return context

    def _verifying(self) -> ssl.SSLContext:
        """The CAs of the named file or folder (a folder as OpenSSL's capath, as requests takes it)."""
        folder = os.path.isdir(self._cafile)
        try:
            if folder:
                return ssl.create_default_context(capath=self._cafile)
            return ssl.create_default_context(cafile=self._cafile)
        except (OSError, ssl.SSLError) as error:
            named = f"{self._variable} ({cut(self._cafile)})" if self._variable else cut(self._cafile)
            reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
            raise NetworkFailure(
                ErrorKind.TLS,
                f"the CA certificates of {named} cannot be loaded: {str(reason)[:200]}; point it at a PEM "
                "file of CA certificates (or a folder of them)",
            ) from None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _bounded_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        return manager if proxy.lower().startswith("socks") else _bounded_pools(manager)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host, pool = super().build_connection_pool_key_attributes(request, bool(verify), cert)
        if (request.url or "").lower().startswith("https:"):
            pool["ssl_context"] = self._context(verify is not False)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        if verify is not False:
            conn.ca_certs = conn.ca_cert_dir = None  # the shared context already holds the CAs


def _timed_out(exc: BaseException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False  # refused or no route: urllib3 files it under ConnectTimeoutError for history's sake
    return isinstance(reason, TimeoutError | urllib3.exceptions.TimeoutError)


def _root_reason(exc: BaseException) -> str:
    """The innermost cause's message, which says what really happened (refused, reset, bad cert)."""
    seen = exc
    while True:
        inner = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args else None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen)
    for marker in ("[Errno", "[SSL", "certificate verify failed", "Connection refused", "Name or service"):
        if marker in text:
            return _unwrapped(text[text.index(marker) :])
    return text[-200:] or type(seen).__name__


def _unwrapped(reason: str) -> str:
    """A reason cut out of its wrappers' reprs, without their closing quotes and parentheses: only the
    ones it does not open itself (`... self-signed certificate (_ssl.c:1006)` keeps its own)."""
    while reason and reason[-1] in "'\")":
        if reason[-1] == ")" and reason.count("(") >= reason.count(")"):
            break
        reason = reason[:-1]
    return reason
