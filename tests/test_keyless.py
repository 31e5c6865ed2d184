"""Keyless logins through the job's OIDC token: Google Artifact Registry (STS, and IAM Credentials for a
service account), Azure Container Registry (Entra ID, then the registry's /oauth2/exchange) and Docker
Hub (an organisation's OIDC connection).

Google's, Microsoft's and Docker's token services cannot run here: tests/servers/clouds.py stands in
for them, speaking their protocols and checking what they are sent. The registries are real
Distribution registries that accept only the tokens those stand-ins mint, and every check ends with a
real `docker pull` through the config.json that login wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from tests.clirun import auths, b64, login, run_process
from tests.servers.clouds import ACR_USERNAME, DockerIdentity, EntraId, GoogleCloud
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import (
    AZURE_CLIENT,
    AZURE_TENANT,
    DOCKER_CONNECTION,
    DOCKER_ORGANISATION,
    GCP_SERVICE_ACCOUNT,
    AcrRegistry,
    PrivateRegistry,
    pull_fresh,
)
from tests.servers.oidc import OidcIssuer

pytestmark = pytest.mark.docker
PROVIDER_SHAPE = "projects/1/locations/global/workloadIdentityPools/p/providers/r"


def gcp_entry(registry: PrivateRegistry, cloud: GoogleCloud, **extra: object) -> dict[str, object]:
    return {
        "server": registry.server,
        "type": "gcp",
        "workload-identity-provider": cloud.provider_name,
        **extra,
    }


def acr_entry(registry: AcrRegistry, **extra: object) -> dict[str, object]:
    return {
        "server": registry.server,
        "type": "acr",
        "azure-client-id": AZURE_CLIENT,
        "azure-tenant-id": AZURE_TENANT,
        **extra,
    }


def hub_entry(registry: PrivateRegistry, **extra: object) -> dict[str, object]:
    return {
        "server": registry.server,
        "type": "dockerhub",
        "username": DOCKER_ORGANISATION,
        "dockerhub-oidc-connection-id": DOCKER_CONNECTION,
        **extra,
    }


@pytest.fixture
def job(env: dict[str, str], oidc: OidcIssuer) -> dict[str, str]:
    """A job with `permissions: id-token: write` and no secret at all."""
    return {**env, **oidc.env()}


# --- Google ---------------------------------------------------------------------------------------


def test_gar_through_the_providers_federated_identity(
    job: dict[str, str],
    google_cloud: GoogleCloud,
    oidc: OidcIssuer,
    gar_registry: PrivateRegistry,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    result = login({**job, **google_cloud.env()}, tmp_path, [gcp_entry(gar_registry, google_cloud)])
    assert result.code == 0, result.err
    assert result.out.splitlines()[1].split()[:3] == [gar_registry.server, "oauth2accesstoken", "gcp"]
    assert auths(tmp_path)[gar_registry.server] == {
        "auth": b64(f"oauth2accesstoken:{google_cloud.federated_token}")
    }
    assert oidc.audiences == [google_cloud.audience]  # what google-github-actions/auth asks for
    assert google_cloud.count("/v1/token") == 1 and google_cloud.count(":generateAccessToken") == 0
    assert google_cloud.federated_token not in result.text
    assert pull_fresh(dockerd, gar_registry.reference, tmp_path / "docker").returncode == 0


def test_gar_as_an_impersonated_service_account(
    job: dict[str, str],
    google_cloud: GoogleCloud,
    gar_sa_registry: PrivateRegistry,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    entry = gcp_entry(gar_sa_registry, google_cloud, **{"service-account": GCP_SERVICE_ACCOUNT})
    result = login({**job, **google_cloud.env()}, tmp_path, [entry])
    assert result.code == 0, result.err
    assert google_cloud.count(":generateAccessToken") == 1
    assert auths(tmp_path)[gar_sa_registry.server] == {
        "auth": b64(f"oauth2accesstoken:{google_cloud.access_token}")
    }
    for token in (google_cloud.access_token, google_cloud.federated_token):
        assert token not in result.text
    assert pull_fresh(dockerd, gar_sa_registry.reference, tmp_path / "docker").returncode == 0


def test_one_exchange_serves_every_registry_of_an_identity_given_on_the_command_line(
    job: dict[str, str],
    google_cloud: GoogleCloud,
    oidc: OidcIssuer,
    gar_registry_factory: object,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    make = gar_registry_factory
    assert callable(make)
    first, second = make(google_cloud.access_token), make(google_cloud.access_token)
    entries: list[dict[str, object]] = [{"server": r.server, "type": "gcp"} for r in (first, second)]
    result = login(
        {**job, **google_cloud.env()},
        tmp_path,
        entries,
        "--gcp-workload-identity-provider",
        google_cloud.provider_name,
        "--gcp-service-account",
        GCP_SERVICE_ACCOUNT,
    )
    assert result.code == 0, result.err
    assert oidc.audiences == [google_cloud.audience]
    assert google_cloud.count("/v1/token") == 1 and google_cloud.count(":generateAccessToken") == 1
    for registry in (first, second):
        assert pull_fresh(dockerd, registry.reference, tmp_path / "docker").returncode == 0


def test_a_subject_the_providers_condition_refuses(
    job: dict[str, str], oidc: OidcIssuer, gar_registry_factory: object, tmp_path: Path
) -> None:
    cloud = GoogleCloud(oidc, subjects={"repo:someone/else:ref:refs/heads/main"})
    try:
        assert callable(gar_registry_factory)
        registry = gar_registry_factory(cloud.federated_token)
        result = login({**job, **cloud.env()}, tmp_path, [gcp_entry(registry, cloud)])
    finally:
        cloud.stop()
    assert result.code == 1
    assert f"{registry.server}: Google STS refused the job's token for {cloud.provider_name}" in result.err
    assert "attribute condition" in result.err
    assert f"sub {oidc.subject}" in result.err  # what the token said, so the condition can be fixed
    assert "Traceback" not in result.text


def test_a_service_account_the_pool_may_not_impersonate(
    job: dict[str, str], oidc: OidcIssuer, gar_registry_factory: object, tmp_path: Path
) -> None:
    cloud = GoogleCloud(oidc, subjects={oidc.subject}, service_accounts={GCP_SERVICE_ACCOUNT: set()})
    try:
        assert callable(gar_registry_factory)
        registry = gar_registry_factory(cloud.access_token)
        entry = gcp_entry(registry, cloud, **{"service-account": GCP_SERVICE_ACCOUNT})
        result = login({**job, **cloud.env()}, tmp_path, [entry])
    finally:
        cloud.stop()
    assert result.code == 1
    assert f"refused to let this job impersonate {GCP_SERVICE_ACCOUNT}" in result.err
    assert "PERMISSION_DENIED" in result.err
    assert "roles/iam.workloadIdentityUser" in result.err and cloud.pool_name in result.err


def test_a_registry_the_identity_may_not_read(
    job: dict[str, str], google_cloud: GoogleCloud, gar_registry_factory: object, tmp_path: Path
) -> None:
    assert callable(gar_registry_factory)
    registry = gar_registry_factory("some-other-token")
    result = login({**job, **google_cloud.env()}, tmp_path, [gcp_entry(registry, google_cloud)])
    assert result.code == 1
    assert registry.server in result.err
    assert "roles/artifactregistry.reader" in result.err
    assert google_cloud.federated_token not in result.text


# --- Azure ----------------------------------------------------------------------------------------


def test_acr_through_entra_id_and_the_registrys_exchange(
    job: dict[str, str],
    entra: EntraId,
    oidc: OidcIssuer,
    acr_registry: AcrRegistry,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    result = login({**job, **entra.env()}, tmp_path, [acr_entry(acr_registry)])
    assert result.code == 0, result.err
    row = result.out.splitlines()[1].split()
    assert row[:3] == [acr_registry.server, ACR_USERNAME, "acr"]
    assert row[3] != "never"  # the refresh token's end is told
    assert auths(tmp_path)[acr_registry.server] == {"auth": b64(f"{ACR_USERNAME}:{acr_registry.password}")}
    assert oidc.audiences == ["api://AzureADTokenExchange"]
    (asked,) = entra.token_requests()
    assert asked["form"]["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert asked["form"]["scope"].endswith("/.default")
    assert acr_registry.password not in result.text
    assert pull_fresh(dockerd, acr_registry.reference, tmp_path / "docker").returncode == 0


@pytest.mark.parametrize(
    ("field", "value", "words", "fix"),
    [
        ("azure-tenant-id", "99999999-2222-4333-8444-555555555555", "knows no tenant", "tenantId"),
        ("azure-client-id", "99999999-7777-4888-9999-000000000000", "knows no application", "appId"),
    ],
)
def test_a_tenant_or_client_that_does_not_exist(
    job: dict[str, str],
    entra: EntraId,
    acr_registry: AcrRegistry,
    tmp_path: Path,
    field: str,
    value: str,
    words: str,
    fix: str,
) -> None:
    result = login({**job, **entra.env()}, tmp_path, [acr_entry(acr_registry, **{field: value})])
    assert result.code == 1
    assert f"{acr_registry.server}: Entra ID {words}" in result.err
    assert fix in result.err
    assert "Traceback" not in result.text


def test_an_app_without_a_federated_credential_for_this_job(
    job: dict[str, str], oidc: OidcIssuer, acr_registry: AcrRegistry, tmp_path: Path
) -> None:
    oidc.subject = "repo:octo/app:pull_request"  # the app federates refs/heads/main only
    result = login({**job, **acr_registry.front.entra.env()}, tmp_path, [acr_entry(acr_registry)])
    assert result.code == 1
    assert "AADSTS70021" in result.err
    assert "az ad app federated-credential create" in result.err
    assert "sub repo:octo/app:pull_request" in result.err


# --- Docker Hub -----------------------------------------------------------------------------------


def test_docker_hub_through_an_organisations_oidc_connection(
    job: dict[str, str],
    docker_identity: DockerIdentity,
    oidc: OidcIssuer,
    hub_registry: PrivateRegistry,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    result = login({**job, **docker_identity.env()}, tmp_path, [hub_entry(hub_registry)])
    assert result.code == 0, result.err
    assert auths(tmp_path)[hub_registry.server] == {
        "auth": b64(f"{DOCKER_ORGANISATION}:{docker_identity.access_token}")
    }
    assert oidc.audiences == ["https://identity.docker.com"]
    assert docker_identity.access_token not in result.text
    assert pull_fresh(dockerd, hub_registry.reference, tmp_path / "docker").returncode == 0


def test_docker_hub_with_login_actions_variable(
    job: dict[str, str], docker_identity: DockerIdentity, hub_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """docker/login-action's DOCKERHUB_OIDC_CONNECTIONID stands for the entry's field."""
    env = {**job, **docker_identity.env(), "DOCKERHUB_OIDC_CONNECTIONID": DOCKER_CONNECTION}
    entry = {"server": hub_registry.server, "type": "dockerhub", "username": DOCKER_ORGANISATION}
    result = login(env, tmp_path, [entry])
    assert result.code == 0, result.err
    assert auths(tmp_path)[hub_registry.server]["auth"] == b64(
        f"{DOCKER_ORGANISATION}:{docker_identity.access_token}"
    )


def test_an_unknown_connection(
    job: dict[str, str], docker_identity: DockerIdentity, hub_registry: PrivateRegistry, tmp_path: Path
) -> None:
    entry = hub_entry(
        hub_registry, **{"dockerhub-oidc-connection-id": "00000000-1111-4222-8333-444444444444"}
    )
    result = login({**job, **docker_identity.env()}, tmp_path, [entry])
    assert result.code == 1
    assert "Docker Hub refused the job's token for OIDC connection" in result.err
    assert "OIDC connections" in result.err


# --- every cloud at once, and what no cloud can do -----------------------------------------------


def test_one_token_per_audience_for_every_cloud_at_once(
    job: dict[str, str],
    oidc: OidcIssuer,
    google_cloud: GoogleCloud,
    entra: EntraId,
    docker_identity: DockerIdentity,
    gar_registry: PrivateRegistry,
    acr_registry: AcrRegistry,
    hub_registry: PrivateRegistry,
    dockerd: Dockerd,
    tmp_path: Path,
) -> None:
    env = {**job, **google_cloud.env(), **entra.env(), **docker_identity.env()}
    entries = [gcp_entry(gar_registry, google_cloud), acr_entry(acr_registry), hub_entry(hub_registry)]
    result = login(env, tmp_path, entries)
    assert result.code == 0, result.err
    assert sorted(oidc.audiences) == sorted(
        [google_cloud.audience, "api://AzureADTokenExchange", "https://identity.docker.com"]
    )
    for reference in (gar_registry.reference, acr_registry.reference, hub_registry.reference):
        assert pull_fresh(dockerd, reference, tmp_path / "docker").returncode == 0, reference


def test_no_id_token_permission_names_the_registry_and_the_fix(
    env: dict[str, str], google_cloud: GoogleCloud, gar_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = login({**env, **google_cloud.env()}, tmp_path, [gcp_entry(gar_registry, google_cloud)])
    assert result.code == 1
    assert f"{gar_registry.server}: no OIDC token" in result.err
    assert "id-token: write" in result.err


def test_a_forks_pull_request_skips_keyless_entries_and_goes_on(
    env: dict[str, str],
    google_cloud: GoogleCloud,
    gar_registry: PrivateRegistry,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"repo": {"full_name": "fork/app"}},
                    "base": {"repo": {"full_name": "octo/app"}},
                }
            }
        )
    )
    fork = {
        **env,
        **google_cloud.env(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo/app",
    }
    basic = {"server": private_registry.server, "username": "alice", "password": private_registry.password}
    result = login(fork, tmp_path, [gcp_entry(gar_registry, google_cloud), basic])
    assert result.code == 0, result.text
    assert "no OIDC token" in result.text and f"{gar_registry.server} is skipped" in result.text
    assert set(auths(tmp_path)) == {private_registry.server}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"server": "us-docker.pkg.dev", "workload-identity-provider": "pool"}, "is not well formed"),
        (
            {"server": "x.azurecr.io", "azure-client-id": "not-a-uuid", "azure-tenant-id": AZURE_TENANT},
            "not well formed",
        ),
        ({"server": "registry.example.org", "azure-client-id": AZURE_CLIENT}, "is for acr registries"),
        ({"server": "docker.io", "dockerhub-oidc-connection-id": DOCKER_CONNECTION}, "username is required"),
    ],
)
def test_keyless_fields_are_checked(
    env: dict[str, str], tmp_path: Path, entry: dict[str, object], words: str
) -> None:
    result = login(env, tmp_path, [entry])
    assert result.code != 0
    assert words in result.err
    assert "Traceback" not in result.text


# --- token endpoints that are not what they say ---------------------------------------------------


def test_what_a_hostile_token_endpoint_says_is_cut_inert_and_costs_only_its_registry(
    job: dict[str, str],
    docker_identity: DockerIdentity,
    hub_registry: PrivateRegistry,
    gar_registry_factory: object,
    tmp_path: Path,
) -> None:
    """A token endpoint (an endpoint variable, a proxy) answers a refusal with runner commands, a
    terminal escape and megabytes of words; another answers 4 MiB and more. Neither reaches the log
    as a command or whole, and Docker Hub beside them logs in."""
    from tests.servers.hostile import HostileServer, Request

    words = "::error::owned\n##[set-output name=x]y \x1b]8;;https://evil.example\x07" + "A" * 3_000_000

    def refuse(request: Request) -> None:
        request.body()
        request.send(
            400, {"Content-Type": "application/json"}, {"error": "invalid_grant", "error_description": words}
        )

    def flood(request: Request) -> None:
        request.body()
        request.stream(b"{" * 65536, 8 * 1024 * 1024)

    sts, iam = HostileServer(refuse), HostileServer(flood)
    try:
        assert callable(gar_registry_factory)
        gar = gar_registry_factory("unused")
        env = {
            **job,
            **docker_identity.env(),
            "REGISTRIES_GCP_STS_ENDPOINT": f"http://{sts.address}",
            "REGISTRIES_GCP_IAM_ENDPOINT": f"http://{iam.address}",
        }
        entries = [
            {
                "server": gar.server,
                "type": "gcp",
                "workload-identity-provider": PROVIDER_SHAPE,
            },
            hub_entry(hub_registry),
        ]
        result = login(env, tmp_path, entries)
    finally:
        sts.stop()
        iam.stop()
    assert result.code == 1
    assert f"{gar.server}: Google STS refused the job's token" in result.err
    assert len(result.text) < 20_000
    for line in result.text.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line and "\x1b" not in line
    assert hub_registry.server in auths(tmp_path)  # one registry's failure never costs the others


def test_a_pull_secret_of_minted_tokens_says_when_it_stops_working(
    job: dict[str, str], google_cloud: GoogleCloud, gar_registry: PrivateRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump([gcp_entry(gar_registry, google_cloud)]))
    result = run_process({**job, **google_cloud.env()}, "pull-secret", "--registries", str(path))
    assert result.code == 0, result.err
    secret = yaml.safe_load(result.out)
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"][gar_registry.server]["auth"] == b64(
        f"oauth2accesstoken:{google_cloud.federated_token}"
    )
    assert "minted from the job's OIDC token" in result.err and "Workload Identity" in result.err
    assert google_cloud.federated_token not in result.err


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        ("us-docker.pkg.dev", "gcp"),
        ("europe-west4-docker.pkg.dev", "gcp"),
        ("gcr.io", "gcp"),
        ("eu.gcr.io", "gcp"),
        ("myteam.azurecr.io", "acr"),
        ("myteam.azurecr.cn", "acr"),
        ("myteam.azurecr.us", "acr"),
        ("azurecr.io", "basic"),
        ("pkg.dev", "basic"),
    ],
)
def test_an_image_nobody_named_is_resolved_through_the_jobs_defaults(server: str, kind: str) -> None:
    """As ghcr.io is with the job's token: a GAR or ACR host with no entry takes the job-wide identity,
    and without one is pulled anonymously."""
    from private_registries.context import Context
    from private_registries.hosts import detect_type
    from private_registries.keychain import Keychain
    from private_registries.transport import Transport

    assert str(detect_type(server)) == kind
    defaults = {
        "gcp_workload_identity_provider": PROVIDER_SHAPE,
        "azure_client_id": AZURE_CLIENT,
        "azure_tenant_id": AZURE_TENANT,
    }
    with Keychain([], Context(env={}, transport=Transport(), **defaults)) as keychain:
        entry = keychain.entry(server)
        assert (entry and str(entry.type)) == (kind if kind != "basic" else None)
        if entry:
            assert entry.source.startswith("automatic")
    with Keychain([], Context(env={}, transport=Transport())) as keychain:
        assert keychain.entry(server) is None
