"""The issue's end to end: one action step, with the job's OIDC token and no secret, logs in to an ECR, a
GAR, an ACR, Docker Hub and GHCR at once, builds from private bases in all of them, and hands the same
credentials on (DOCKER_CONFIG and the pull secret), in the action's own image.

AWS is moto behind a front; Google's, Microsoft's and Docker's token services are the stand-ins of
tests/servers/clouds.py (they cannot run here); every registry is a real Distribution registry that
takes only the minted tokens, and every check ends with a real pull or build.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from tests.servers.aws import AwsFront
from tests.servers.clouds import DockerIdentity, EntraId, GoogleCloud
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import (
    AZURE_CLIENT,
    AZURE_TENANT,
    DOCKER_CONNECTION,
    DOCKER_ORGANISATION,
    ECR_ACCOUNT,
    GITHUB_TOKEN,
    AcrRegistry,
    PrivateRegistry,
    pull_fresh,
)
from tests.servers.oidc import OidcIssuer
from tests.servers.runner import RunnerJob

pytestmark = pytest.mark.docker

ROLE = "arn:aws:iam::123456789012:role/ecr-pull"


def test_one_step_logs_in_to_every_cloud_builds_from_all_and_hands_them_on(
    runner_job: RunnerJob,
    dockerd: Dockerd,
    oidc: OidcIssuer,
    aws: AwsFront,
    ecr_registry: PrivateRegistry,
    google_cloud: GoogleCloud,
    gar_registry: PrivateRegistry,
    entra: EntraId,
    acr_registry: AcrRegistry,
    docker_identity: DockerIdentity,
    hub_registry: PrivateRegistry,
    ghcr_registry: PrivateRegistry,
) -> None:
    job = runner_job
    aws.trust[ROLE] = "repo:octo/app:*"
    bases = {
        "ecr": ecr_registry.reference,
        "gar": gar_registry.reference,
        "acr": acr_registry.reference,
        "hub": hub_registry.reference,
        "ghcr": ghcr_registry.reference,
    }
    for reference in bases.values():  # BuildKit must pull each base from its registry
        dockerd.docker("rmi", "-f", reference, check=False)
    (job.workspace / "Dockerfile").write_text(
        "".join(f"FROM {reference} AS {name}\n" for name, reference in bases.items())
        + f"FROM {bases['ecr']}\n"
        + "".join(f"COPY --from={name} / /from-{name}/\n" for name in bases)
    )
    entries = [
        {"server": ecr_registry.server, "type": "ecr", "aws-account": ECR_ACCOUNT, "aws-region": "us-east-1"},
        {"server": gar_registry.server, "type": "gcp"},
        {"server": acr_registry.server, "type": "acr"},
        {
            "server": hub_registry.server,
            "type": "dockerhub",
            "username": DOCKER_ORGANISATION,
            "dockerhub-oidc-connection-id": DOCKER_CONNECTION,
        },
        {"server": ghcr_registry.server, "type": "ghcr"},
    ]
    # The Entra stand-in's CA, where the container sees it (the runner maps runner.temp).
    bundle = job.temp / "bench-ca.pem"
    shutil.copy(entra.ca_bundle, bundle)
    aws_env = {k: v for k, v in aws.env().items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET"))}
    env = {
        **aws_env,
        **oidc.env(),
        **google_cloud.env(),
        **docker_identity.env(),
        "AZURE_AUTHORITY_HOST": entra.authority_host,
        "REQUESTS_CA_BUNDLE": str(bundle),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    main = job.run(
        "main",
        {
            "registries": json.dumps(entries),
            "github-token": GITHUB_TOKEN,
            "aws-role-to-assume": ROLE,
            "gcp-workload-identity-provider": google_cloud.provider_name,
            "azure-client-id": AZURE_CLIENT,
            "azure-tenant-id": AZURE_TENANT,
            "context": ".",
            "tags": "keyless/app:1",
            "load": "true",
            "network": "host",
        },
        env=env,
    )
    assert main.code == 0, main.text
    assert sorted(oidc.audiences) == sorted(
        [
            "sts.amazonaws.com",
            google_cloud.audience,
            "api://AzureADTokenExchange",
            "https://identity.docker.com",
        ]
    )  # one token per audience
    listed = {entry["server"]: entry["type"] for entry in json.loads(main.outputs["registries"])}
    assert listed == {
        ecr_registry.server: "ecr",
        gar_registry.server: "gcp",
        acr_registry.server: "acr",
        hub_registry.server: "dockerhub",
        ghcr_registry.server: "ghcr",
    }
    assert set(json.loads(main.outputs["base-images"])) == set(bases.values())
    built = dockerd.docker("run", "--rm", "keyless/app:1", "ls", "/", check=False)
    assert all(f"from-{name}" in built.stdout for name in bases), built.stdout + built.stderr
    # handed on: a later step pulls with the exported DOCKER_CONFIG, a cluster with the pull secret
    config = Path(main.env["DOCKER_CONFIG"])
    for reference in bases.values():
        assert pull_fresh(dockerd, reference, config).returncode == 0, reference
    handed = json.loads(base64.b64decode(main.outputs["dockerconfigjson"]))["auths"]
    assert set(handed) == set(listed)
    minted = [
        google_cloud.federated_token,
        acr_registry.password,
        docker_identity.access_token,
        ecr_registry.password,
        GITHUB_TOKEN,
    ]
    log = main.text
    shown = [line for line in log.splitlines() if not line.startswith("::add-mask::")]
    assert not [token for token in minted if any(token in line for line in shown)]
