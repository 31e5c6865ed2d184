"""The action under a real runner: nektos/act runs workflow files that use the action from the
checkout, on Docker Engine 26, against the suite's registries; every result is checked with a real
client (a pull, a run, kubectl, a file a later step wrote). The differences of act from GitHub's
runner that the harness works around are listed in tests/servers/act.py."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.servers.act import ActJob, tag_for_act
from tests.servers.aws import AwsFront
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import ECR_ACCOUNT, PrivateRegistry, docker_config_for, pull_fresh
from tests.servers.oidc import OidcIssuer
from tests.servers.runner import build_action_image


@pytest.fixture(scope="session")
def act_image(dockerd: Dockerd) -> str:
    image = build_action_image(dockerd)
    tag_for_act(dockerd, image)
    return image


@pytest.fixture
def act(dockerd: Dockerd, act_image: str) -> Iterator[ActJob]:
    root = Path(tempfile.mkdtemp(prefix="bench-act-", dir="/tmp"))
    try:
        yield ActJob(root, dockerd)
    finally:
        shutil.rmtree(root, ignore_errors=True)


ROLE = "arn:aws:iam::123456789012:role/ecr-pull"


def pull_request(number: int, head: str, ref: str) -> dict[str, object]:
    """A pull_request event's payload, from `head` (a fork when it is not octo/app) into octo/app."""
    head_repo: dict[str, object] = {"full_name": head, **({"fork": True} if head != "octo/app" else {})}
    return {
        "pull_request": {
            "number": number,
            "head": {"repo": head_repo, "ref": ref},
            "base": {"repo": {"full_name": "octo/app"}, "ref": "main"},
        }
    }


def registry_secret(reg: PrivateRegistry) -> tuple[str, str]:
    """A REGISTRY_* secret as `registries add --repo` writes it."""
    from private_registries.sources import secret_name

    value = json.dumps({"server": reg.server, "username": reg.username, "password": reg.password})
    return secret_name(reg.server), value


def test_build_from_a_private_base_and_push_with_secrets_from_tojson(
    act: ActJob, dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """`secrets: ${{ toJSON(secrets) }}`, a build FROM the private registry pushed to it, the digest
    output equal to the pushed digest, and a later host step pulling with the DOCKER_CONFIG left."""
    act.write("Dockerfile", f"FROM {private_registry.reference}\nRUN echo built > /built\n")
    dockerd.docker("rmi", "-f", private_registry.reference)  # BuildKit pulls it, not the push's copy
    tag = f"{private_registry.server}/private/built:act"
    name, value = registry_secret(private_registry)
    workflow = f"""
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: registries
        uses: ./
        with:
          secrets: ${{{{ toJSON(secrets) }}}}
          context: .
          tags: {tag}
          push: true
          network: host
      - env:
          DIGEST: ${{{{ steps.registries.outputs.digest }}}}
          CONFIG: ${{{{ steps.registries.outputs.docker-config }}}}
        run: |
          echo "$DIGEST" > "$RESULTS/digest"
          echo "$DOCKER_CONFIG" > "$RESULTS/docker-config"
          docker rmi -f {tag} >/dev/null 2>&1 || true
          docker pull {tag}
          docker run --rm {tag} cat /built > "$RESULTS/built"
"""
    run = act.run(workflow, secrets={name: value, "OTHER": "unrelated"})
    assert run.code == 0, run.log[-6000:]
    assert run.results["built"].strip() == "built"
    digest = run.results["digest"].strip()
    assert digest.startswith("sha256:")
    # the pushed digest, as a client that knows nothing of the action sees it
    config = docker_config_for(
        tmp_path / "reader", {private_registry.server: (private_registry.username, private_registry.password)}
    )
    pulled = pull_fresh(dockerd, f"{private_registry.server}/private/built@{digest}", config)
    assert pulled.returncode == 0, pulled.stderr
    assert private_registry.password not in run.log


def test_next_to_docker_login_and_a_later_buildx_build_with_password_env(
    act: ActJob, dockerd: Dockerd, private_registry: PrivateRegistry, token_registry: PrivateRegistry
) -> None:
    """A step sets DOCKER_CONFIG under runner.temp with the buildx plugin (as a runner with buildx
    installed per user has it), a plain `docker login` writes one registry there, the action merges
    the other (`registries` + `password-env`, a Bearer registry) and builds FROM it through buildx,
    and a later `docker buildx build` FROM both registries finds both credentials and the plugin."""
    from tests.servers.tools import tool

    act.write("app/Dockerfile", f"FROM {token_registry.reference}\nRUN echo action > /by\n")
    act.write(
        "later/Dockerfile",
        f"FROM {private_registry.reference} AS one\nFROM {token_registry.reference}\n"
        "COPY --from=one /etc/bench-image /one\nRUN echo later > /by\n",
    )
    workflow = f"""
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          mkdir -p "$RUNNER_TEMP/docker/cli-plugins"
          ln -s {tool("docker-buildx")} "$RUNNER_TEMP/docker/cli-plugins/docker-buildx"
          echo "DOCKER_CONFIG=$RUNNER_TEMP/docker" >> "$GITHUB_ENV"
      - env:
          PASSWORD: ${{{{ secrets.BASIC_PASSWORD }}}}
          SERVER: {private_registry.server}
        run: printf %s "$PASSWORD" | docker login -u {private_registry.username} --password-stdin "$SERVER"
      - id: registries
        uses: ./
        with:
          registries: |
            - server: {token_registry.server}
              username: {token_registry.username}
              password-env: TOKEN_PASSWORD
          context: app
          tags: bench/act-action:1
          load: true
          network: host
        env:
          TOKEN_PASSWORD: ${{{{ secrets.TOKEN_PASSWORD }}}}
      - env:
          REGISTRIES: ${{{{ steps.registries.outputs.registries }}}}
        run: |
          echo "$REGISTRIES" > "$RESULTS/registries"
          cp "$DOCKER_CONFIG/config.json" "$RESULTS/config.json"
          docker buildx build --network host --load -t bench/act-later:1 later
          docker run --rm bench/act-action:1 cat /by > "$RESULTS/action"
          docker run --rm bench/act-later:1 cat /by /one > "$RESULTS/later"
"""
    # the daemon's own copies would spare BuildKit the registries (the push left them there)
    dockerd.docker("rmi", "-f", private_registry.reference, token_registry.reference)
    run = act.run(
        workflow,
        secrets={"BASIC_PASSWORD": private_registry.password, "TOKEN_PASSWORD": token_registry.password},
    )
    assert run.code == 0, run.log[-6000:]
    assert run.results["action"].strip() == "action"
    later = run.results["later"].split()
    assert later[0] == "later" and later[1] == private_registry.reference
    auths = json.loads(run.results["config.json"])["auths"]
    assert {private_registry.server, token_registry.server} <= set(auths)  # login's entry kept
    listed = json.loads(run.results["registries"])
    assert [r["server"] for r in listed] == [token_registry.server]
    # BuildKit asked the token realm with the OAuth2 password grant (POST) first
    grants = [
        r["form"].get("grant_type") for r in token_registry.registry.token_server.requests if "form" in r
    ]
    assert "password" in grants
    assert private_registry.password not in run.log and token_registry.password not in run.log


def test_a_pull_request_check_annotates_the_dockerfile_line(
    act: ActJob, private_registry: PrivateRegistry
) -> None:
    """`build: false` fails the step, and the runner reads our `::error file=…,line=…` annotation."""
    act.write(
        "app/Dockerfile",
        f"FROM {private_registry.reference} AS base\n"
        f"FROM {private_registry.server}/private/app:never-pushed\nCOPY --from=base /etc /etc\n",
    )
    workflow = f"""
on: pull_request
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          registries: |
            - server: {private_registry.server}
              username: {private_registry.username}
              password-env: PASSWORD
          context: app
          build: false
        env:
          PASSWORD: ${{{{ secrets.PASSWORD }}}}
"""
    payload = pull_request(7, "octo/app", "feature")
    run = act.run(
        workflow, secrets={"PASSWORD": private_registry.password}, event="pull_request", payload=payload
    )
    assert run.code != 0
    assert "Failure - Main ./" in run.log
    annotations = [line for line in run.log.splitlines() if "::error file=" in line]
    assert annotations, run.log[-4000:]
    assert "::error file=app/Dockerfile,line=2,title=private-registries%3A not found::" in annotations[0]


MANIFESTS = Path(__file__).parent / "data" / "manifests"


def test_manifests_pull_secret_and_convox_read_back_by_kubectl_and_docker(
    act: ActJob, dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """A real manifest (cert-manager's helloweb Deployment) moved onto our registry gets
    imagePullSecrets, an untouched one does not; the pull secret file is read by kubectl (kustomize
    parses and re-emits every object with no cluster) and its .dockerconfigjson pulls the image with
    docker; convox.yml's passwordEnv reaches the next step."""
    helloweb = (MANIFESTS / "cert-manager-helloweb-deployment.yaml").read_text()
    act.write(
        "k8s/helloweb.yaml",
        helloweb.replace(
            "us-docker.pkg.dev/google-samples/containers/gke/hello-app-tls:1.0", private_registry.reference
        ),
    )
    act.write("k8s/public.yaml", helloweb.replace("name: helloweb", "name: public"))
    act.write(
        "convox.yml",
        f"""services:
  web:
    image: {private_registry.reference}
    imagePullSecrets:
      - registry: {private_registry.server}
        username: {private_registry.username}
        passwordEnv: WEB_REGISTRY_PASSWORD
""",
    )
    name, value = registry_secret(private_registry)
    workflow = """
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: registries
        uses: ./
        with:
          secrets: ${{ toJSON(secrets) }}
          manifests: k8s/*.yaml
          pull-secret-name: registry-credentials
          namespace: production
          convox-file: convox.yml
      - env:
          PULL_SECRET: ${{ steps.registries.outputs.pull-secret-file }}
        run: |
          mkdir -p "$RUNNER_TEMP/kube"
          cp "$PULL_SECRET" "$RUNNER_TEMP/kube/secret.yaml"
          cp k8s/*.yaml "$RUNNER_TEMP/kube/"
          cd "$RUNNER_TEMP/kube"
          echo "resources: [secret.yaml, helloweb.yaml, public.yaml]" > kustomization.yaml
          kubectl kustomize . > "$RESULTS/objects.yaml"
          printf %s "$WEB_REGISTRY_PASSWORD" | sha256sum | cut -d' ' -f1 > "$RESULTS/convox-password"
"""
    run = act.run(workflow, secrets={name: value})
    assert run.code == 0, run.log[-6000:]
    objects = {o["metadata"]["name"]: o for o in yaml.safe_load_all(run.results["objects.yaml"])}
    secret = objects["registry-credentials"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["namespace"] == "production"
    assert objects["helloweb"]["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "registry-credentials"}
    ]
    assert "imagePullSecrets" not in objects["public"]["spec"]["template"]["spec"]
    # the Secret's .dockerconfigjson is a docker config that pulls the image
    config = tmp_path / "from-secret"
    config.mkdir()
    (config / "config.json").write_bytes(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
    expected = hashlib.sha256(private_registry.password.encode()).hexdigest()
    assert run.results["convox-password"].strip() == expected
    assert private_registry.password not in run.log


def test_ecr_through_the_jobs_oidc_role(
    act: ActJob, dockerd: Dockerd, aws: AwsFront, oidc: OidcIssuer, ecr_registry: PrivateRegistry
) -> None:
    """ECR through moto: the job's OIDC token (a stand-in issuer: GitHub's cannot be reached) for
    STS AssumeRoleWithWebIdentity, GetAuthorizationToken, and a later host step's pull."""
    aws.trust[ROLE] = "repo:octo/app:*"
    env = {k: v for k, v in aws.env().items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET"))}
    workflow = f"""
on: push
permissions:
  id-token: write
jobs:
  pull:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          registries: |
            - server: {ecr_registry.server}
              type: ecr
              aws-account: "{ECR_ACCOUNT}"
              aws-region: us-east-1
          aws-role-to-assume: {ROLE}
      - run: |
          docker rmi -f {ecr_registry.reference} >/dev/null 2>&1 || true
          docker pull {ecr_registry.reference}
          docker run --rm {ecr_registry.reference} cat /etc/bench-image > "$RESULTS/pulled"
"""
    run = act.run(workflow, env={**env, **oidc.env(), "AWS_EC2_METADATA_DISABLED": "true"})
    assert run.code == 0, run.log[-6000:]
    assert run.results["pulled"].strip() == ecr_registry.reference
    assert aws.count("sts:AssumeRoleWithWebIdentity") == 1
    assert aws.count("ecr:GetAuthorizationToken") == 1
    assert ecr_registry.password not in run.log


def test_a_forks_pull_request_carries_on_with_password_env_unset(
    act: ActJob, private_registry: PrivateRegistry
) -> None:
    """A fork's pull_request: GitHub gives it no secrets, so `password-env` names an empty variable;
    that registry is skipped with a notice and the check of the public parts goes on."""
    act.write("app/Dockerfile", "FROM bench/busybox:latest\n")
    workflow = f"""
on: pull_request
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          registries: |
            - server: {private_registry.server}
              username: {private_registry.username}
              password-env: HARBOR_TOKEN
        env:
          HARBOR_TOKEN: ${{{{ secrets.HARBOR_TOKEN }}}}
      - run: echo "went on" > "$RESULTS/after"
"""
    payload = pull_request(9, "stranger/app", "patch-1")
    run = act.run(workflow, event="pull_request", payload=payload)  # no secrets, as for a fork
    assert run.code == 0, run.log[-6000:]
    assert run.results["after"].strip() == "went on"
    notices = [line for line in run.log.splitlines() if "::notice" in line and "HARBOR_TOKEN" in line]
    assert notices, run.log[-4000:]


def readme_workflow(name: str, servers: dict[str, str]) -> str:
    """The README's workflow called `name`, as a user copies it, with what the harness must change:
    our action from the checkout (`./`: no GitHub to fetch it from) and the example registries'
    hosts replaced by the suite's (their usernames, `robot$ci` and `$oauthtoken`, are kept)."""
    from tests.test_workflows import yaml_blocks

    for _line, text in yaml_blocks((Path(__file__).parents[1] / "README.md").read_text()):
        if text.startswith(f"name: {name}\n"):
            workflow = text.replace("private-registries/private-registries@v1", "./")
            for example, server in servers.items():
                workflow = workflow.replace(example, server)
            return workflow
    raise AssertionError(f"README.md has no workflow named {name}")


@pytest.fixture
def readme_registries(
    registry_factory, dockerd: Dockerd, tmp_path: Path
) -> tuple[PrivateRegistry, PrivateRegistry]:
    """A Harbor-like registry whose robot account is `robot$ci`, and an NGC-like token registry
    whose user is the literal `$oauthtoken`, as the README's workflows name them."""
    from tests.servers.fixtures import stocked
    from tests.servers.tokenserver import TokenServer

    harbor = registry_factory(users={"robot$ci": "harbor-" + "7" * 12})
    ngc_tokens = TokenServer(service="ngc", users={"$oauthtoken": "nvapi-" + "8" * 12})
    ngc = registry_factory(token_server=ngc_tokens)
    return (
        stocked(harbor, "robot$ci", "harbor-" + "7" * 12, "team/base:1", dockerd, tmp_path),
        stocked(ngc, "$oauthtoken", "nvapi-" + "8" * 12, "nim/base:1", dockerd, tmp_path),
    )


def test_the_readmes_build_workflow(
    act: ActJob, dockerd: Dockerd, readme_registries: tuple[PrivateRegistry, PrivateRegistry]
) -> None:
    """The README's first workflow: two registries by `password-env`, a build of the checkout FROM
    both. Its `docker compose pull` becomes `docker pull` of the same images (the suite's CLI has no
    compose plugin): later steps find the credentials through DOCKER_CONFIG."""
    harbor, ngc = readme_registries
    act.write(
        "Dockerfile",
        f"FROM {ngc.reference} AS model\nFROM {harbor.reference}\n"
        "COPY --from=model /etc/bench-image /model\n",
    )
    workflow = readme_workflow("build", {"harbor.example.org": harbor.server, "nvcr.io": ngc.server})
    assert "docker compose pull" in workflow
    workflow = workflow.replace(
        "docker compose pull", f"docker pull {harbor.reference} && docker pull {ngc.reference}"
    )
    dockerd.docker("rmi", "-f", harbor.reference, ngc.reference)
    run = act.run(workflow, secrets={"HARBOR_TOKEN": harbor.password, "NGC_API_KEY": ngc.password})
    assert run.code == 0, run.log[-6000:]
    assert "Success - Main docker pull" in run.log
    assert harbor.password not in run.log and ngc.password not in run.log


def test_the_readmes_pull_request_check(
    act: ActJob, readme_registries: tuple[PrivateRegistry, PrivateRegistry]
) -> None:
    """The README's `base-images` workflow on a pull request: the pre-flight alone passes when every
    base image is pullable, and fails with the line's annotation when one is not."""
    harbor, _ = readme_registries
    workflow = readme_workflow("base-images", {"harbor.example.org": harbor.server})
    payload = pull_request(3, "octo/app", "bump")
    act.write("Dockerfile", f"FROM {harbor.reference}\n")
    good = act.run(workflow, secrets={"HARBOR_TOKEN": harbor.password}, event="pull_request", payload=payload)
    assert good.code == 0, good.log[-6000:]
    act.write("Dockerfile", f"FROM {harbor.reference}\nFROM {harbor.server}/team/base:gone\n")
    bad = act.run(workflow, secrets={"HARBOR_TOKEN": harbor.password}, event="pull_request", payload=payload)
    assert bad.code != 0
    assert "::error file=Dockerfile,line=2," in bad.log
