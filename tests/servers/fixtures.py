"""pytest fixtures of the bench. Every server is real; a server that cannot start fails the test."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.servers.aws import AwsFront
from tests.servers.clouds import ACR_USERNAME, AcrFront, DockerIdentity, EntraId, GoogleCloud
from tests.servers.distribution import Registry, outward_address
from tests.servers.dockerd import Dockerd
from tests.servers.images import import_image
from tests.servers.moto import MotoServer
from tests.servers.oidc import OidcIssuer
from tests.servers.runner import RunnerJob, build_action_image
from tests.servers.tokenserver import TokenServer

BASE_IMAGE = "bench/busybox:latest"


@dataclass
class PrivateRegistry:
    """A running registry plus the one account that may use it and the image it holds."""

    registry: Registry
    username: str
    password: str
    image: str  # repository:tag on this registry, e.g. private/app:1

    @property
    def server(self) -> str:
        return self.registry.server

    @property
    def reference(self) -> str:
        return f"{self.server}/{self.image}"


def entries_file(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    """A registries file (`--registries FILE`) holding these entries."""
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(entries))
    return path


def basic(reg: PrivateRegistry, **extra: object) -> dict[str, object]:
    """The registry's one account as an entry, with a password."""
    return {"server": reg.server, "username": reg.username, "password": reg.password, **extra}


def docker_config_for(path: Path, auths: dict[str, tuple[str, str]]) -> Path:
    """A config.json folder holding these credentials (the bench's own pushes use it, never the code)."""
    path.mkdir(parents=True, exist_ok=True)
    entries = {key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for key, (u, p) in auths.items()}
    (path / "config.json").write_text(json.dumps({"auths": entries}))
    return path


def push(
    dockerd: Dockerd, target: str, username: str, password: str, scratch: Path, marker: str = ""
) -> None:
    """Put a busybox image at `target` (host:port/repo:tag), logging in with a throwaway config."""
    import_image(dockerd, target, marker or target)
    server = target.split("/", 1)[0]
    config = docker_config_for(scratch / f"push-{secrets.token_hex(4)}", {server: (username, password)})
    dockerd.docker("push", target, config=config)


def pull_fresh(dockerd: Dockerd, reference: str, config: Path) -> subprocess.CompletedProcess[str]:
    """`docker pull` with `config` as DOCKER_CONFIG, after dropping any local copy of the image."""
    dockerd.docker("rmi", "-f", reference, check=False)
    return dockerd.docker("pull", reference, config=config, check=False)


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    # plain HTTP is allowed to this machine's own outward address too (the `insecure: true` tests)
    daemon = Dockerd(
        Path("/tmp") / f"bench-dockerd-{secrets.token_hex(3)}",
        insecure_registries=(f"{outward_address()}/32",),
    )
    try:
        import_image(daemon, BASE_IMAGE, "base")
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    started: list[Registry] = []
    tokens: list[TokenServer] = []

    def start(
        users: dict[str, str] | None = None,
        token_server: TokenServer | None = None,
        tls_host: str | None = None,
        host: str | None = None,
    ) -> Registry:
        if token_server is not None and token_server not in tokens:
            token_server.start()
            tokens.append(token_server)
        root = tmp_path / f"registry-{len(started)}"
        registry = Registry(root, users=users, token_server=token_server, tls_host=tls_host, host=host)
        started.append(registry)
        return registry

    yield start
    for registry in started:
        registry.stop()
    for server in tokens:
        server.stop()


def stocked(
    registry: Registry, username: str, password: str, image: str, dockerd: Dockerd, scratch: Path
) -> PrivateRegistry:
    """The registry, holding `image`, pushed with the account the tests will pull with."""
    result = PrivateRegistry(registry, username, password, image)
    push(dockerd, result.reference, username, password, scratch)
    return result


@pytest.fixture
def private_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> PrivateRegistry:
    """An htpasswd (Basic) registry whose only account holds an image: private/app:1."""
    password = "pw-" + secrets.token_hex(8)
    registry = registry_factory(users={"alice": password})
    return stocked(registry, "alice", password, "private/app:1", dockerd, tmp_path)


@pytest.fixture
def token_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> PrivateRegistry:
    """A token-auth (Bearer) registry with its own token server, holding private/tok:1."""
    password = "tk-" + secrets.token_hex(8)
    token_server = TokenServer(service="bench-registry", users={"bob": password})
    registry = registry_factory(token_server=token_server)
    return stocked(registry, "bob", password, "private/tok:1", dockerd, tmp_path)


ECR_ACCOUNT = "123456789012"
GITHUB_TOKEN = "ghs_benchJobToken0123456789"


@pytest.fixture
def ecr_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> PrivateRegistry:
    """An "ECR": a registry whose only account is moto's ECR token for ECR_ACCOUNT (user AWS)."""
    password = f"{ECR_ACCOUNT}-auth-token"
    registry = registry_factory(users={"AWS": password})
    return stocked(registry, "AWS", password, "team/service:1", dockerd, tmp_path)


@pytest.fixture
def ghcr_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> PrivateRegistry:
    """A "GHCR": token auth whose token server takes any username with GITHUB_TOKEN as password."""
    token_server = TokenServer(service="ghcr.io", users={"*": GITHUB_TOKEN})
    registry = registry_factory(token_server=token_server)
    return stocked(registry, "octocat", GITHUB_TOKEN, "octo/app:1", dockerd, tmp_path)


@pytest.fixture
def oidc() -> Iterator[OidcIssuer]:
    issuer = OidcIssuer()
    yield issuer
    issuer.stop()


@pytest.fixture
def aws(moto: MotoServer, oidc: OidcIssuer) -> Iterator[AwsFront]:
    """moto behind a front that logs calls, checks role trust and answers ECR Public."""
    front = AwsFront(moto, oidc)
    yield front
    front.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


# --- keyless clouds: Google Artifact Registry, Azure Container Registry, Docker Hub through OIDC ---

GCP_SERVICE_ACCOUNT = "puller@bench-project.iam.gserviceaccount.com"
AZURE_TENANT = "11111111-2222-4333-8444-555555555555"
AZURE_CLIENT = "66666666-7777-4888-9999-000000000000"
DOCKER_CONNECTION = "123e4567-e89b-42d3-a456-426614174000"
DOCKER_ORGANISATION = "benchorg"


@pytest.fixture
def google_cloud(oidc: OidcIssuer) -> Iterator[GoogleCloud]:
    """Google's STS and IAM Credentials: the provider admits the issuer's subject, which may
    impersonate GCP_SERVICE_ACCOUNT."""
    cloud = GoogleCloud(oidc, subjects={oidc.subject}, service_accounts={GCP_SERVICE_ACCOUNT: {oidc.subject}})
    yield cloud
    cloud.stop()


@pytest.fixture
def gar_registry_factory(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> Callable[[str], PrivateRegistry]:
    """A "GAR" whose only account is oauth2accesstoken with the given token, holding gcp/app:1."""

    def start(token: str) -> PrivateRegistry:
        registry = registry_factory(users={"oauth2accesstoken": token})
        return stocked(registry, "oauth2accesstoken", token, "gcp/app:1", dockerd, tmp_path)

    return start


@pytest.fixture
def gar_registry(
    gar_registry_factory: Callable[[str], PrivateRegistry], google_cloud: GoogleCloud
) -> PrivateRegistry:
    """A "GAR" accepting the federated token (direct resource access, no service account)."""
    return gar_registry_factory(google_cloud.federated_token)


@pytest.fixture
def gar_sa_registry(
    gar_registry_factory: Callable[[str], PrivateRegistry], google_cloud: GoogleCloud
) -> PrivateRegistry:
    """A "GAR" accepting only GCP_SERVICE_ACCOUNT's access token (impersonation)."""
    return gar_registry_factory(google_cloud.access_token)


@pytest.fixture
def entra(oidc: OidcIssuer, tmp_path: Path) -> Iterator[EntraId]:
    """Entra ID with AZURE_TENANT, whose app AZURE_CLIENT federates the issuer's subject."""
    service = EntraId(oidc, tmp_path, tenants={AZURE_TENANT: {AZURE_CLIENT: {oidc.subject}}})
    yield service
    service.stop()


@dataclass
class AcrRegistry:
    """An "ACR": the front a test logs in to, the registry behind it, and the image it holds."""

    front: AcrFront
    image: str

    @property
    def server(self) -> str:
        return self.front.server

    @property
    def reference(self) -> str:
        return f"{self.server}/{self.image}"

    @property
    def username(self) -> str:
        return ACR_USERNAME

    @property
    def password(self) -> str:
        return self.front.refresh_token


@pytest.fixture
def acr_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path, entra: EntraId
) -> Iterator[AcrRegistry]:
    """An "ACR" trusting AZURE_TENANT, holding azure/app:1 (pushed to the registry behind it)."""
    password = "acr-backend-" + secrets.token_hex(8)
    backend = registry_factory(users={"backend": password})
    stocked(backend, "backend", password, "azure/app:1", dockerd, tmp_path)
    front = AcrFront(entra, backend, tenant=AZURE_TENANT)
    yield AcrRegistry(front, "azure/app:1")
    front.stop()


@pytest.fixture
def docker_identity(oidc: OidcIssuer) -> Iterator[DockerIdentity]:
    """Docker's identity service with one OIDC connection, DOCKER_CONNECTION of DOCKER_ORGANISATION."""
    service = DockerIdentity(oidc, connections={DOCKER_CONNECTION: DOCKER_ORGANISATION})
    yield service
    service.stop()


@pytest.fixture
def hub_registry(
    registry_factory: Callable[..., Registry],
    dockerd: Dockerd,
    tmp_path: Path,
    docker_identity: DockerIdentity,
) -> PrivateRegistry:
    """A "Docker Hub" whose only account is the organisation with the identity service's token."""
    registry = registry_factory(users={DOCKER_ORGANISATION: docker_identity.access_token})
    return stocked(
        registry, DOCKER_ORGANISATION, docker_identity.access_token, "benchorg/app:1", dockerd, tmp_path
    )


# --- the action as the runner runs it ---------------------------------------------------------------


@pytest.fixture(scope="session")
def action_image(dockerd: Dockerd) -> str:
    return build_action_image(dockerd)


@pytest.fixture
def runner_job(dockerd: Dockerd, action_image: str) -> Iterator[RunnerJob]:
    """A job's folders where the runner user can reach them (pytest's own tmp folders are 0700)."""
    root = Path(tempfile.mkdtemp(prefix="bench-job-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield RunnerJob(root, dockerd, action_image)
    finally:
        shutil.rmtree(root, ignore_errors=True)
