"""Where a registry's API answers: `https://host`, or `http://host` for a loopback or insecure
registry that does not speak TLS. Like the daemon: HTTPS first; plain HTTP only where the user
allowed it (loopback counts); a self-signed certificate is accepted only there too.
"""

from __future__ import annotations

import threading

from private_registries.errors import ErrorKind
from private_registries.hosts import is_loopback
from private_registries.transport import NetworkFailure, Transport


class Endpoints:
    """The scheme of each registry host, probed once (`GET /v2/`) and remembered."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._schemes: dict[str, str] = {}
        self._lock = threading.Lock()

    def base_url(self, host: str, *, insecure: bool = False) -> str:
        with self._lock:
            known = self._schemes.get(host)
        if known:
            return f"{known}://{host}"
        scheme = self._probe(host) if insecure or is_loopback(host) else "https"
        with self._lock:
            self._schemes[host] = scheme
        return f"{scheme}://{host}"

    def _probe(self, host: str) -> str:
        """HTTPS if it answers (verified, or else unverified), plain HTTP if it does not speak TLS.

        Whether it speaks TLS is asked first without verifying (a probe carries no credential), so a
        plain-HTTP registry never costs the loading of the CA bundle (some 25 ms of CPU)."""
        try:
            self.transport.request("GET", f"https://{host}/v2/", allow_redirects=False, verify=False)
        except NetworkFailure as failure:
            if failure.kind not in {ErrorKind.TLS, ErrorKind.UNREACHABLE}:
                raise
            return "http"
        try:
            self.transport.request("GET", f"https://{host}/v2/", allow_redirects=False)
        except NetworkFailure as failure:
            if failure.kind not in {ErrorKind.TLS, ErrorKind.UNREACHABLE}:
                raise
            if "certificate verify failed" not in failure.reason:
                return "http"
            self.transport.skip_verification(host)
        return "https"
