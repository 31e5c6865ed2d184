"""Registry host names: validation, Docker Hub's aliases, and which kind of registry a host is.

A server is `host[:port]`: no scheme, no path, lower case (Convox's rules). Docker Hub answers to
several names; they all become `docker.io`, and config.json knows it only as DOCKER_HUB_CONFIG_KEY.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

from private_registries.errors import InputError
from private_registries.secret import MASKER
from private_registries.text import control_character, cut

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# The daemon and the CLI look Docker Hub up under exactly this key, with no fallback.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ALIASES = frozenset(
    {DOCKER_HUB, "index.docker.io", DOCKER_HUB_API, "registry.hub.docker.com", "hub.docker.com"}
)
GHCR = "ghcr.io"
ECR_PUBLIC = "public.ecr.aws"

HOSTNAME = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]+)?$"
)
MAX_PORT = 65535
# What follows the @ of an image pinned by digest (`app@sha256:...`), as opposed to a URL's credentials.
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
_IPV6 = re.compile(r"^\[([0-9a-f:.]+)\](:[0-9]+)?$")

# Private ECR: <account>.dkr.ecr[-fips].<region>.<partition domain>, and the dual-stack
# <account>.dkr-ecr[-fips].<region>.on.aws. The ISO partitions are the ones other tools miss.
_ECR = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr[.-]ecr(?P<fips>-fips)?\.(?P<region>[a-z0-9-]+)\."
    r"(?P<domain>amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu|on\.aws|on\.amazonwebservices\.com\.cn"
    r"|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$"
)

# Google Artifact Registry (`<location>-docker.pkg.dev`) and Container Registry (`gcr.io`, `eu.gcr.io`...).
_GCP = re.compile(r"^([a-z0-9-]+-docker\.pkg\.dev|([a-z0-9-]+\.)?gcr\.io)$")


@dataclass(frozen=True)
class AzureCloud:
    """What an Azure cloud's registries need: where Entra ID answers, and the resource its tokens are
    for (Azure Resource Manager's: the audience `az acr login` asks for, which every registry takes)."""

    name: str
    authority_host: str
    resource: str


# Each cloud's registry suffix (Azure public, China, US Government).
AZURE_CLOUDS = {
    ".azurecr.io": AzureCloud(
        "AzureCloud", "https://login.microsoftonline.com", "https://management.azure.com"
    ),
    ".azurecr.cn": AzureCloud(
        "AzureChinaCloud", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn"
    ),
    ".azurecr.us": AzureCloud(
        "AzureUSGovernment", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net"
    ),
}


class RegistryType(StrEnum):
    AUTO = "auto"
    BASIC = "basic"
    DOCKERHUB = "dockerhub"
    GHCR = "ghcr"
    ECR = "ecr"
    ECR_PUBLIC = "ecr-public"
    GCP = "gcp"
    ACR = "acr"


def parse_server(text: str, where: str) -> str:
    """Validate a server name and return its canonical form; `where` names the source in errors."""
    server = text.strip()
    if not server:
        raise InputError(
            f"{where}: server is empty", hint="write the registry's host, e.g. registry.example.org"
        )
    refuse_credentials(server, where)
    bare = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    # docker login writes Docker Hub as https://index.docker.io/v1/: accept it as users copy it.
    if bare.lower() in {"index.docker.io/v1", "registry-1.docker.io/v2"}:
        return DOCKER_HUB
    control = control_character(server)
    if control:
        raise InputError(
            f"{where}: server {cut(server)} holds a control character ({control})",
            hint="write the registry's host alone, e.g. registry.example.org",
        )
    if "://" in server:
        raise InputError(
            f"{where}: server {cut(server)} has a scheme",
            hint=f"write the host alone: {_suggest(server)}",
        )
    if "/" in server:
        raise InputError(
            f"{where}: server {cut(server)} has a path",
            hint=f"write the host alone (credentials apply to the whole registry): {_suggest(server)}",
        )
    if server != server.lower():
        raise InputError(
            f"{where}: server {cut(server)} must be lowercase", hint=f"write {cut(server.lower())}"
        )
    if not (HOSTNAME.fullmatch(server) or _valid_ipv6(server)):
        raise InputError(
            f"{where}: server {cut(server)} is not a valid hostname[:port]",
            hint="use letters, digits, dots and dashes, and :PORT if needed, e.g. registry.example.org:5000",
        )
    port = _port(server)
    if port is not None and not 0 < port <= MAX_PORT:
        raise InputError(
            f"{where}: server {cut(server)} has port {port}, out of range",
            hint=f"a port is a number from 1 to {MAX_PORT}",
        )
    if server in DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    return server


def refuse_credentials(server: str, where: str) -> None:
    """`user:password@host` (a URL's credentials) is refused without quoting what comes before the
    `@`, which is masked first; an image's `@sha256:...` digest is no credential (its path is told)."""
    userinfo, at, rest = server.rpartition("@")  # the last @: a password may hold one
    if not at or _DIGEST.match(rest):
        return
    userinfo = userinfo.split("://", 1)[-1]
    MASKER.register(userinfo, userinfo.partition(":")[2])
    host = rest.split("/", 1)[0].lower()
    raise InputError(
        f"{where}: the server name holds credentials before an @ (not shown): "
        "credentials do not belong in the server name",
        hint=f"write the host alone{f': {cut(host)}' if host else ''}; give the username and the "
        "password (or password-env) on their own",
    )


def _suggest(server: str) -> str:
    host = server.split("://", 1)[-1].split("/", 1)[0].lower()
    return cut(DOCKER_HUB if host in DOCKER_HUB_ALIASES else host)


def _port(server: str) -> int | None:
    """The port of a valid `host:port` or `[v6]:port`, None without one."""
    _, colon, digits = server.rpartition("]")[2].rpartition(":")
    return int(digits) if colon and digits.isdigit() else None


def _valid_ipv6(server: str) -> bool:
    match = _IPV6.fullmatch(server)
    if not match:
        return False
    try:
        ipaddress.IPv6Address(match.group(1))
    except ValueError:
        return False
    return True


def hostname(server: str) -> str:
    """The host without its port."""
    if server.startswith("["):
        return server[1 : server.index("]")]
    return server.rsplit(":", 1)[0] if ":" in server else server


def is_loopback(server: str) -> bool:
    """A loopback address, or `localhost` itself; a name under `.localhost` is not taken on its word
    (the resolver, a proxy or /etc/hosts may send it anywhere)."""
    host = hostname(server)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class EcrHost:
    account: str
    region: str
    fips: bool


def parse_ecr(server: str) -> EcrHost | None:
    match = _ECR.match(server)
    if not match:
        return None
    return EcrHost(match["account"], match["region"], bool(match["fips"]))


def detect_type(server: str) -> RegistryType:
    named = {DOCKER_HUB: RegistryType.DOCKERHUB, GHCR: RegistryType.GHCR, ECR_PUBLIC: RegistryType.ECR_PUBLIC}
    if server in named:
        return named[server]
    if parse_ecr(server):
        return RegistryType.ECR
    if _GCP.match(server):
        return RegistryType.GCP
    if azure_cloud(server):
        return RegistryType.ACR
    return RegistryType.BASIC


def azure_cloud(server: str) -> AzureCloud | None:
    """The Azure cloud of an ACR host (`name.azurecr.io`), None for any other host."""
    host = hostname(server)
    for suffix, cloud in AZURE_CLOUDS.items():
        if host.endswith(suffix) and len(host) > len(suffix):
            return cloud
    return None


def config_key(server: str) -> str:
    """The key docker's config.json (and X-Registry-Config) uses for this server."""
    return DOCKER_HUB_CONFIG_KEY if server == DOCKER_HUB else server


def api_host(server: str) -> str:
    """Where the registry API answers (Docker Hub's API is not on docker.io)."""
    return DOCKER_HUB_API if server == DOCKER_HUB else server
