"""HTTP for every network call: timeouts, bounded retries with backoff, one SSL context.

Retries cover connection errors, resets, 429 and 5xx (honouring Retry-After); never 401 or 403,
which a retry cannot mend. Failures become `NetworkFailure` with a plain reason, never a URL with
credentials or a traceback. It knows nothing of registries: which scheme a registry speaks is
auth/endpoint.py's business.
"""

from __future__ import annotations

import ssl
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from private_registries.errors import ErrorKind

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

USER_AGENT = "private-registries"
# The only unverified requests are the ones made on purpose (skip_verification): no warning each.
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class TransportOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.3
    ca_bundle: str | None = None  # a PEM file of CAs to trust instead of the system's

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TransportOptions:
        """`REGISTRIES_TIMEOUT` (seconds, read) and `REGISTRIES_RETRIES` tune these for slow networks."""
        defaults = cls()
        timeout = float(env.get("REGISTRIES_TIMEOUT") or defaults.read_timeout)
        return cls(
            connect_timeout=min(defaults.connect_timeout, timeout),
            read_timeout=timeout,
            retries=int(env.get("REGISTRIES_RETRIES") or defaults.retries),
            ca_bundle=env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or None,
        )


class NetworkFailure(Exception):
    """A request that failed for good: unreachable, tls, timeout, or unavailable (retries spent)."""

    def __init__(self, kind: ErrorKind, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status


class Transport:
    def __init__(self, options: TransportOptions | None = None, pool_size: int = 64) -> None:
        self.options = options or TransportOptions()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = True
        retry = Retry(
            total=self.options.retries,
            connect=self.options.retries,
            read=self.options.retries,
            status=self.options.retries,
            other=0,  # a TLS failure will not mend on retry
            backoff_factor=self.options.backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # every method: registry calls and token fetches are idempotent
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        context = ssl.create_default_context(cafile=self.options.ca_bundle or certifi.where())
        adapter = _OneContextAdapter(
            context, max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._unverified: set[str] = set()  # see skip_verification
        self._lock = threading.Lock()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", (self.options.connect_timeout, self.options.read_timeout))
        kwargs.setdefault("allow_redirects", True)
        if self._unverified and urlsplit(url).netloc in self._unverified:
            kwargs.setdefault("verify", False)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise NetworkFailure(ErrorKind.TLS, f"TLS failed: {_root_reason(exc)}") from None
        except requests.exceptions.Timeout:
            raise NetworkFailure(
                ErrorKind.TIMEOUT, f"no answer within {self.options.read_timeout:g} s"
            ) from None
        except requests.exceptions.RetryError as exc:
            raise NetworkFailure(
                ErrorKind.UNAVAILABLE,
                f"still failing after {self.options.retries} retries: {_root_reason(exc)}",
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if _timed_out(exc):  # a read timeout on the last retry arrives dressed as a connection error
                raise NetworkFailure(
                    ErrorKind.TIMEOUT, f"no answer within {self.options.read_timeout:g} s"
                ) from None
            raise NetworkFailure(ErrorKind.UNREACHABLE, _root_reason(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise NetworkFailure(ErrorKind.UNREACHABLE, type(exc).__name__) from None

    def skip_verification(self, host: str) -> None:
        """Requests to `host` (host[:port]) no longer verify its certificate: only for a host the caller
        chose to trust as it is (a self-signed loopback or insecure registry, as the daemon does)."""
        with self._lock:
            self._unverified.add(host)


class _OneContextAdapter(HTTPAdapter):
    """Every HTTPS connection shares one SSL context, whose CAs were loaded once.

    Left to itself, requests has urllib3 load the CA bundle into each new connection's context:
    some 30 ms of CPU each, which serialises a login to 40 registries behind the GIL.
    """

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        self._unverified = ssl.create_default_context()
        self._unverified.check_hostname = False
        self._unverified.verify_mode = ssl.CERT_NONE
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host, pool = super().build_connection_pool_key_attributes(request, bool(verify), cert)
        pool["ssl_context"] = self._context if verify is not False else self._unverified
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
            return text[text.index(marker) :].rstrip(")'\"")
    return text[-200:] or type(seen).__name__
