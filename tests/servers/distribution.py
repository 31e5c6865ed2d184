"""The CNCF Distribution registry (Debian's docker-registry), with htpasswd, token or no auth."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import requests
import yaml

from tests.servers.procs import Process, free_port, require, wait_until
from tests.servers.tokenserver import TokenServer


class Registry:
    """A running registry on 127.0.0.1:PORT (plain HTTP: the daemon trusts loopback registries)."""

    def __init__(
        self,
        root: Path,
        *,
        users: dict[str, str] | None = None,
        token_server: TokenServer | None = None,
        tls_host: str | None = None,
        host: str | None = None,
    ) -> None:
        binary = require("docker-registry", "docker-registry")
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.users = dict(users or {})
        self.token_server = token_server
        self.host = tls_host or host or "127.0.0.1"
        self.scheme = "https" if tls_host else "http"
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": f"{self.host}:{self.port}", "secret": "bench-secret"},
        }
        if tls_host:
            self.ca = self_signed(root, tls_host)
            config["http"]["tls"] = {"certificate": str(root / "tls.crt"), "key": str(root / "tls.key")}  # type: ignore[index]
        if users is not None:
            htpasswd = root / "htpasswd"
            htpasswd.write_text(
                "".join(
                    f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n" for u, p in users.items()
                )
            )
            config["auth"] = {"htpasswd": {"realm": "bench", "path": str(htpasswd)}}
        elif token_server is not None:
            config["auth"] = {
                "token": {
                    "realm": token_server.realm,
                    "service": token_server.service,
                    "issuer": token_server.issuer,
                    "rootcertbundle": str(token_server.write_bundle(root / "token-ca.pem")),
                }
            }
        (root / "config.yml").write_text(yaml.safe_dump(config))
        self.process = Process([binary, "serve", str(root / "config.yml")], root / "registry.log")
        wait_until(self._ready, f"registry on port {self.port}", log=root / "registry.log")

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.server}"

    def _ready(self) -> bool:
        if not self.process.alive():
            raise RuntimeError(f"registry exited: {(self.root / 'registry.log').read_text()[-2000:]}")
        verify = str(self.ca) if self.scheme == "https" else True
        return requests.get(f"{self.url}/v2/", timeout=1, verify=verify).status_code in {200, 401}

    def stop(self) -> None:
        self.process.stop()


def self_signed(root: Path, host: str) -> Path:
    """A certificate for `host` that no one trusts (tls.crt/tls.key in `root`); returns its path."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path = root / "tls.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def outward_address() -> str:
    """An address of this machine that is not loopback (for registries our client must not trust blindly)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = str(sock.getsockname()[0])
    except OSError:
        address = socket.gethostbyname(socket.gethostname())
    if address.startswith("127."):
        raise RuntimeError("this machine has no address but loopback: the TLS tests need one")
    return address
