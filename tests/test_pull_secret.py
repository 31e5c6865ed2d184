"""`registries pull-secret`: the Secret kubectl would make, byte for byte, ending in a real `docker pull`
with its `.dockerconfigjson` (what the kubelet does with it); expiry told plainly; the ECR refresher's
manifests validated against the Kubernetes schemas, and its CronJob's command run here against moto,
the bench's registries and a stand-in Kubernetes API that enforces the refresher's own Role."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml

from private_registries.deploy.refresher import refresher_name
from tests.clirun import Result, run, run_process
from tests.servers.aws import AwsFront
from tests.servers.distribution import self_signed
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import ECR_ACCOUNT, GITHUB_TOKEN, PrivateRegistry, pull_fresh
from tests.servers.tools import tool

K8S_VERSION = "1.30"
MANIFESTS = Path(__file__).parent / "data" / "manifests"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def decoded(secret: dict[str, Any]) -> bytes:
    return base64.b64decode(secret["data"][".dockerconfigjson"])


def write_entries(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump(entries))
    return path


def kubectl_text(
    name: str, server: str, username: str, password: str, *, namespace: str | None = None, fmt: str = "yaml"
) -> str:
    """The reference: what the real kubectl's `create secret docker-registry --dry-run=client` prints
    (creationTimestamp: null included; we print it too). tests/test_kubectl.py compares more."""
    argv = [str(tool("kubectl")), "create", "secret", "docker-registry", name, f"--docker-server={server}"]
    argv += [f"--docker-username={username}", f"--docker-password={password}", "--dry-run=client", "-o", fmt]
    if namespace:
        argv += ["--namespace", namespace]
    result = subprocess.run(
        argv, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}
    )
    return result.stdout


def kubectl_secret(
    name: str, server: str, username: str, password: str, *, namespace: str | None = None, fmt: str = "yaml"
) -> dict[str, Any]:
    secret: dict[str, Any] = yaml.safe_load(
        kubectl_text(name, server, username, password, namespace=namespace, fmt=fmt)
    )
    return secret


def config_dir_of(secret: dict[str, Any], path: Path) -> Path:
    """The Secret's .dockerconfigjson as a docker config folder: what the kubelet pulls with."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_bytes(decoded(secret))
    return path


def pull_secret(env: dict[str, str], *argv: str) -> Result:
    return run_process(env, "pull-secret", *argv)


@pytest.fixture
def aws_env(env: dict[str, str], aws: AwsFront) -> dict[str, str]:
    return {**env, **aws.env(), "AWS_EC2_METADATA_DISABLED": "true"}


def ecr_entry(registry: PrivateRegistry) -> dict[str, object]:
    return {"server": registry.server, "type": "ecr", "aws-account": ECR_ACCOUNT, "aws-region": "us-east-1"}


def test_the_secret_is_kubectls_and_the_kubelet_can_pull_with_it(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    reg = private_registry
    run(capsys, env, "add", reg.server, reg.username, reg.password)
    out = tmp_path / "secret.yaml"
    result = run(capsys, env, "pull-secret", "--namespace", "prod", "-o", str(out))
    assert result.code == 0, result.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    ours = yaml.safe_load(out.read_text())
    theirs = kubectl_text("registry-credentials", reg.server, reg.username, reg.password, namespace="prod")
    assert out.read_bytes() == theirs.encode()  # the same bytes
    assert decoded(ours) == decoded(yaml.safe_load(theirs))
    kubernetes_validate.validate(ours, K8S_VERSION, strict=True)
    assert f"Secret registry-credentials: 1 registries ({reg.server}) to {out}" in result.err
    for secret in (reg.password, b64(f"alice:{reg.password}"), ours["data"][".dockerconfigjson"]):
        assert secret not in result.text
    assert pull_fresh(dockerd, reg.reference, tmp_path / "nothing").returncode != 0
    pulled = pull_fresh(dockerd, reg.reference, config_dir_of(ours, tmp_path / "kubelet"))
    assert pulled.returncode == 0, pulled.stderr


def test_several_registries_json_and_docker_hub_key(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """Each entry is kubectl's for that server; Docker Hub is under https://index.docker.io/v1/."""
    hub_password = "hub-<canary>&-7741"  # Go escapes <, > and & in JSON: so must we
    entries = [
        {"server": r.server, "username": r.username, "password": r.password}
        for r in (private_registry, token_registry)
    ]
    entries.append({"server": "docker.io", "username": "hubber", "password": hub_password})
    path = write_entries(tmp_path / "r.yml", entries)
    result = pull_secret(env, "--registries", str(path), "--format", "json", "--name", "pull")
    assert result.code == 0, result.err
    ours = json.loads(result.out)
    assert list(ours) == ["kind", "apiVersion", "metadata", "data", "type"]  # kubectl's JSON order
    auths = json.loads(decoded(ours))["auths"]
    assert list(auths) == sorted(auths)  # Go sorts map keys
    references = [
        (private_registry.server, private_registry.username, private_registry.password),
        (token_registry.server, token_registry.username, token_registry.password),
        ("https://index.docker.io/v1/", "hubber", hub_password),
    ]
    for server, username, password in references:
        theirs = json.loads(decoded(kubectl_secret("pull", server, username, password, fmt="json")))
        assert auths[server] == theirs["auths"][server]
    single = kubectl_secret("pull", "https://index.docker.io/v1/", "hubber", hub_password)
    assert b'"password":"hub-\\u003ccanary\\u003e\\u0026-7741"' in decoded(single)
    assert b'"password":"hub-\\u003ccanary\\u003e\\u0026-7741"' in decoded(ours)
    assert hub_password not in result.err and private_registry.password not in result.err
    config = config_dir_of(ours, tmp_path / "kubelet")
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
    assert pull_fresh(dockerd, token_registry.reference, config).returncode == 0


def test_ecr_uses_the_exchanged_token_and_says_when_it_ends(
    aws_env: dict[str, str], aws: AwsFront, dockerd: Dockerd, ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    path = write_entries(tmp_path / "r.yml", [ecr_entry(ecr_registry)])
    result = pull_secret(aws_env, "--registries", str(path))
    assert result.code == 0, result.err
    assert aws.count("ecr:GetAuthorizationToken") == 1
    ours = yaml.safe_load(result.out)
    token = f"{ECR_ACCOUNT}-auth-token"
    theirs = kubectl_secret("registry-credentials", ecr_registry.server, "AWS", token)
    assert decoded(ours) == decoded(theirs)
    annotations = ours["metadata"]["annotations"]
    assert annotations["private-registries/expires-at"].endswith("Z")
    assert annotations["private-registries/expires"].startswith(f"{ecr_registry.server}: ")
    assert "stops working at" in result.err and "ECR tokens last 12 hours" in result.err
    assert "registries pull-secret --refresher" in result.err
    assert token not in result.err
    kubernetes_validate.validate(ours, K8S_VERSION, strict=True)
    assert (
        pull_fresh(dockerd, ecr_registry.reference, config_dir_of(ours, tmp_path / "kubelet")).returncode == 0
    )


def test_the_jobs_github_token_is_called_out(
    env: dict[str, str], dockerd: Dockerd, ghcr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    job = {**env, "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_ACTOR": "octocat"}
    path = write_entries(tmp_path / "r.yml", [{"server": ghcr_registry.server, "type": "ghcr"}])
    result = pull_secret(job, "--registries", str(path))
    assert result.code == 0, result.err
    ours = yaml.safe_load(result.out)
    assert ours["metadata"]["annotations"] == {
        "private-registries/expires": f"{ghcr_registry.server}: end of the job"
    }
    assert "the job's GitHub token, which stops working at the end of the job" in result.err
    assert "personal access token with read:packages" in result.err and "GitHub App token" in result.err
    assert GITHUB_TOKEN not in result.err
    assert (
        pull_fresh(dockerd, ghcr_registry.reference, config_dir_of(ours, tmp_path / "kubelet")).returncode
        == 0
    )


def test_only_the_registries_the_manifests_need(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    entries = [
        {"server": private_registry.server, "username": "alice", "password": private_registry.password},
        {"server": "registry.example.org", "username": "u", "password": "canary-unneeded-1"},
        {"server": "nvcr.io", "username": "$oauthtoken", "password": "canary-unneeded-2"},
    ]
    path = write_entries(tmp_path / "r.yml", entries)
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        f"kind: Pod\nmetadata: {{name: a}}\nspec:\n  containers:\n  - name: a\n"
        f"    image: {private_registry.reference}\n  - name: b\n    image: nginx\n"
    )
    result = pull_secret(env, "--registries", str(path), "--for", str(manifest))
    assert result.code == 0, result.err
    ours = yaml.safe_load(result.out)
    assert list(json.loads(decoded(ours))["auths"]) == [private_registry.server]
    assert (
        pull_fresh(dockerd, private_registry.reference, config_dir_of(ours, tmp_path / "k")).returncode == 0
    )

    helm = pull_secret(env, "--registries", str(path), "--for", str(MANIFESTS / "helm-rendered.yaml"))
    assert helm.code == 0, helm.err
    assert list(json.loads(decoded(yaml.safe_load(helm.out)))["auths"]) == ["registry.example.org"]

    other = tmp_path / "public.yaml"
    other.write_text("kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: a, image: nginx}\n")
    none = pull_secret(env, "--registries", str(path), "--for", str(other))
    assert none.code == 1
    assert f"no image in {other} comes from a registry we hold" in none.err
    assert "their images come from: docker.io" in none.err

    # an image volume counts (the kubelet pulls it with the pod's secrets), and so does a custom
    # workload once its kind is named
    volume = tmp_path / "volume.yaml"
    volume.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: v}\nspec:\n  containers: [{name: a, image: nginx}]\n"
        f"  volumes:\n  - name: data\n    image: {{reference: {private_registry.reference}}}\n"
    )
    by_volume = pull_secret(env, "--registries", str(path), "--for", str(volume))
    assert by_volume.code == 0, by_volume.err
    assert list(json.loads(decoded(yaml.safe_load(by_volume.out)))["auths"]) == [private_registry.server]
    arena = tmp_path / "arena.yaml"
    arena.write_text(
        "apiVersion: games.example.org/v1\nkind: Arena\nmetadata: {name: a}\nspec:\n  server:\n"
        f"    spec:\n      containers: [{{name: s, image: {private_registry.reference}}}]\n"
    )
    assert pull_secret(env, "--registries", str(path), "--for", str(arena)).code == 1
    kind = ["--kind", "Arena.games.example.org=spec.server.spec"]
    named = pull_secret(env, "--registries", str(path), "--for", str(arena), *kind)
    assert named.code == 0, named.err
    assert list(json.loads(decoded(yaml.safe_load(named.out)))["auths"]) == [private_registry.server]


def test_bad_names_and_nothing_held(env: dict[str, str], tmp_path: Path) -> None:
    bad = pull_secret(env, "--name", "Pull.Secret_1")
    assert bad.code == 2 and "--name 'Pull.Secret_1' is not a valid Kubernetes Secret name" in bad.err
    ns = pull_secret(env, "--namespace", "a.b")
    assert ns.code == 2 and "--namespace 'a.b' is not a valid Kubernetes namespace" in ns.err
    empty = pull_secret(env)
    assert empty.code == 1 and "no registries for the pull secret" in empty.err
    assert "Traceback" not in bad.text + ns.text + empty.text


def test_in_a_workflow_the_masks_come_first_and_stdout_stays_yaml(
    env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    reg = private_registry
    path = write_entries(
        tmp_path / "r.yml", [{"server": reg.server, "username": "alice", "password": reg.password}]
    )
    result = pull_secret({**env, "GITHUB_ACTIONS": "true"}, "--registries", str(path))
    assert result.code == 0, result.err
    secret = yaml.safe_load(result.out)  # nothing but the Secret on stdout: it can be piped to kubectl
    blob = secret["data"][".dockerconfigjson"]
    masks = [
        line.removeprefix("::add-mask::")
        for line in result.err.splitlines()
        if line.startswith("::add-mask::")
    ]
    assert reg.password in masks and b64(f"alice:{reg.password}") in masks and blob in masks
    for line in result.err.splitlines():
        if not line.startswith("::add-mask::"):
            assert reg.password not in line and blob not in line


def test_an_identity_token_is_left_out(
    env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    entries = [
        {"server": private_registry.server, "username": "alice", "password": private_registry.password},
        {"server": "acr.example.org", "username": "<token>", "password": "canary-refresh-9"},
    ]
    result = pull_secret(env, "--registries", str(write_entries(tmp_path / "r.yml", entries)))
    assert result.code == 0, result.err
    assert list(json.loads(decoded(yaml.safe_load(result.out)))["auths"]) == [private_registry.server]
    assert "acr.example.org: left out: it holds an identity (refresh) token" in result.err
    assert "canary-refresh-9" not in result.text


# --- the ECR refresher -------------------------------------------------------------------------


class KubeApi:
    """The Kubernetes API, as far as the refresher uses it: Secrets, GET, create (POST) and server-side
    apply, over HTTPS, with a Bearer token — and RBAC, from the Role the refresher's manifests define,
    as the apiserver asks it: a POST create is authorized with no name (the object has none yet, so a
    rule limited by resourceNames never grants it); an apply that creates the object is authorized as
    `patch`, then as `create` with the name in its path (apiserver's patch handler)."""

    def __init__(self, root: Path, token: str, role: dict[str, Any]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.ca = self_signed(root, "127.0.0.1")
        self.token = token
        self.rules = role["rules"]
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                api.handle(self)

            def do_PATCH(self) -> None:
                api.handle(self)

            def do_POST(self) -> None:
                api.create(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca, root / "tls.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def allowed(self, verb: str, name: str) -> bool:
        """RBAC: a rule with resourceNames matches only a request that names one of them."""
        return any(
            verb in rule["verbs"]
            and "secrets" in rule["resources"]
            and name in rule.get("resourceNames", [name])
            for rule in self.rules
        )

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        parts = url.path.strip("/").split("/")  # api v1 namespaces NS secrets NAME
        self.requests.append((handler.command, url.path))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self.send(handler, 401, {"kind": "Status", "code": 401})
        namespace, name = parts[3], parts[5]
        key = (namespace, name)
        if handler.command == "GET":
            if not self.allowed("get", name):
                return self.send(handler, 403, {"kind": "Status", "code": 403})
            if key not in self.secrets:
                return self.send(handler, 404, {"kind": "Status", "code": 404})
            return self.send(handler, 200, self.secrets[key])
        assert handler.headers["Content-Type"] == "application/apply-patch+yaml"
        assert parse_qs(url.query) == {"fieldManager": ["private-registries"], "force": ["true"]}
        exists = key in self.secrets
        if not self.allowed("patch", name) or (not exists and not self.allowed("create", name)):
            return self.send(handler, 403, {"kind": "Status", "code": 403})
        body = yaml.safe_load(handler.rfile.read(int(handler.headers["Content-Length"])))
        self.secrets[key] = body
        return self.send(handler, 200 if exists else 201, body)

    def create(self, handler: BaseHTTPRequestHandler) -> None:
        """POST api/v1/namespaces/NS/secrets: the name is in the body."""
        namespace = urlsplit(handler.path).path.strip("/").split("/")[3]
        self.requests.append((handler.command, handler.path))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self.send(handler, 401, {"kind": "Status", "code": 401})
        if not self.allowed("create", ""):
            return self.send(handler, 403, {"kind": "Status", "code": 403})
        body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        self.secrets[(namespace, body["metadata"]["name"])] = body
        return self.send(handler, 201, body)

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def documents(text: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def run_cronjob(
    manifests: dict[str, dict[str, Any]], api: KubeApi, identity: dict[str, str], scratch: Path
) -> Result:
    """Do what the kubelet does with the CronJob's pod: mount its volumes, set its env, run its command."""
    spec = manifests["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["command"] == ["registries"]
    mounts: dict[str, Path] = {}
    for volume in spec["volumes"]:
        mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume["name"])
        folder = scratch / volume["name"]
        folder.mkdir(parents=True)
        if "configMap" in volume:
            assert volume["configMap"]["name"] == manifests["ConfigMap"]["metadata"]["name"]
            for key, value in manifests["ConfigMap"]["data"].items():
                (folder / key).write_text(value)
        mounts[mount] = folder
    account = scratch / "serviceaccount"  # the token the kubelet projects for serviceAccountName
    account.mkdir()
    (account / "token").write_text(api.token)
    (account / "ca.crt").write_bytes(api.ca.read_bytes())
    (account / "namespace").write_text(manifests["CronJob"]["metadata"].get("namespace", "default"))
    mounts["/var/run/secrets/kubernetes.io/serviceaccount"] = account

    def local(arg: str) -> str:
        for mount, folder in mounts.items():
            if arg == mount or arg.startswith(mount + "/"):
                return str(folder) + arg[len(mount) :]
        return arg

    env = {e["name"]: local(e["value"]) for e in container["env"]}
    env.update(identity, PATH=os.environ["PATH"], KUBERNETES_SERVICE_HOST="127.0.0.1")
    env["KUBERNETES_SERVICE_PORT"] = str(api.port)
    return run_process(env, *[local(arg) for arg in container["args"]])


def test_the_refresher_renews_the_secret_in_the_cluster(
    aws_env: dict[str, str],
    aws: AwsFront,
    dockerd: Dockerd,
    ecr_registry: PrivateRegistry,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    entries = [
        {**ecr_entry(ecr_registry), "aws-role-to-assume": "arn:aws:iam::123456789012:role/ci-only"},
        {"server": private_registry.server, "username": "alice", "password": private_registry.password},
    ]
    path = write_entries(tmp_path / "r.yml", entries)
    role_arn = "arn:aws:iam::123456789012:role/ecr-pull"
    result = pull_secret(
        {k: v for k, v in aws_env.items() if not k.startswith("AWS_")},  # no AWS needed to emit manifests
        "--refresher",
        "--registries",
        str(path),
        "--namespace",
        "prod",
        "--irsa-role-arn",
        role_arn,
        "--image",
        "registry.example.org/private-registries:test",
    )
    assert result.code == 0, result.err
    assert private_registry.password not in result.out and "ci-only" not in result.out  # safe to keep in git
    objects = list(yaml.safe_load_all(result.out))
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob"]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    manifests = documents(result.out)
    name = refresher_name("registry-credentials")
    assert manifests["ServiceAccount"]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}
    assert manifests["Role"]["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["registry-credentials"],
            "verbs": ["get", "patch", "create"],
        }
    ]
    cronjob = manifests["CronJob"]
    assert cronjob["spec"]["schedule"] == "0 */6 * * *"
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] == name
    assert yaml.safe_load(manifests["ConfigMap"]["data"]["registries.yml"]) == [
        {"server": ecr_registry.server, "type": "ecr", "aws-region": "us-east-1", "aws-account": ECR_ACCOUNT}
    ]
    assert "ecr:GetAuthorizationToken" in result.err and f"--from=cronjob/{name}" in result.err

    api = KubeApi(tmp_path / "kube", "sa-token-canary-5150", manifests["Role"])
    try:
        # the Role cannot grant a POST create (no name yet): the refresher creates by applying
        ca = ssl.create_default_context(cafile=str(api.ca))
        secret = json.dumps({"metadata": {"name": "registry-credentials"}}).encode()
        post = urllib.request.Request(
            f"https://127.0.0.1:{api.port}/api/v1/namespaces/prod/secrets",
            data=secret,
            headers={"Authorization": "Bearer sa-token-canary-5150", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(post, context=ca)
        assert api.secrets == {}
        api.requests.clear()

        identity = {k: v for k, v in aws_env.items() if k.startswith("AWS_")}  # the pod's IRSA identity
        first = run_cronjob(manifests, api, identity, tmp_path / "pod-1")
        assert first.code == 0, first.err
        assert f"Created Secret prod/registry-credentials: {ecr_registry.server}" in first.out
        created = api.secrets[("prod", "registry-credentials")]
        assert created["type"] == "kubernetes.io/dockerconfigjson"
        kubernetes_validate.validate(created, K8S_VERSION, strict=True)
        assert (
            pull_fresh(dockerd, ecr_registry.reference, config_dir_of(created, tmp_path / "k1")).returncode
            == 0
        )

        # the CI's Secret holds another registry as well: a renewal keeps it
        ci = kubectl_secret(
            "registry-credentials", private_registry.server, "alice", private_registry.password
        )
        auths = json.loads(decoded(created))["auths"] | json.loads(decoded(ci))["auths"]
        created["data"][".dockerconfigjson"] = b64(json.dumps({"auths": auths}))
        second = run_cronjob(manifests, api, identity, tmp_path / "pod-2")
        assert second.code == 0, second.err
        assert (
            "Renewed Secret prod/registry-credentials" in second.out
            and "kept 1 other registries" in second.out
        )
        renewed = api.secrets[("prod", "registry-credentials")]
        assert set(json.loads(decoded(renewed))["auths"]) == {ecr_registry.server, private_registry.server}
        assert renewed["metadata"]["annotations"]["private-registries/expires-at"].endswith("Z")
        config = config_dir_of(renewed, tmp_path / "k2")
        assert pull_fresh(dockerd, ecr_registry.reference, config).returncode == 0
        assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
        assert aws.count("ecr:GetAuthorizationToken") == 2
        assert aws.count("sts:AssumeRoleWithWebIdentity") == 0  # the job's role is not the cluster's
        for output in (first, second):
            assert "sa-token-canary-5150" not in output.text and private_registry.password not in output.text
        # every call stayed within the Role: only this Secret, only get and apply
        assert {p for _, p in api.requests} == {"/api/v1/namespaces/prod/secrets/registry-credentials"}
        assert {m for m, _ in api.requests} == {"GET", "PATCH"}
    finally:
        api.stop()


def test_a_role_without_rights_is_told(
    aws_env: dict[str, str], ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    path = write_entries(tmp_path / "r.yml", [ecr_entry(ecr_registry)])
    result = pull_secret(aws_env, "--refresher", "--registries", str(path), "--name", "other")
    manifests = documents(result.out)
    api = KubeApi(tmp_path / "kube", "tok", {"rules": [{"resources": ["secrets"], "verbs": ["get"]}]})
    try:
        identity = {k: v for k, v in aws_env.items() if k.startswith("AWS_")}
        refused = run_cronjob(manifests, api, identity, tmp_path / "pod")
        assert refused.code == 1
        assert "the Kubernetes API refused to write Secret default/other (403)" in refused.err
        assert "get, patch and create" in refused.err
    finally:
        api.stop()


@pytest.mark.parametrize(
    ("action_repository", "owner"),
    [(None, "private-registries"), ("Acme-Corp/private-registries", "acme-corp")],
)
def test_the_refresher_runs_the_image_the_release_published(
    env: dict[str, str],
    ecr_registry: PrivateRegistry,
    tmp_path: Path,
    action_repository: str | None,
    owner: str,
) -> None:
    """The release workflow pushes ghcr.io/<owner>/private-registries:<version>; inside the action
    the owner is that of the action the workflow uses, so a fork's refresher runs the fork's image."""
    from private_registries import __version__

    path = write_entries(tmp_path / "r.yml", [ecr_entry(ecr_registry)])
    extra = {"GITHUB_ACTION_REPOSITORY": action_repository} if action_repository else {}
    result = pull_secret({**env, **extra}, "--refresher", "--registries", str(path))
    assert result.code == 0, result.err
    (container,) = documents(result.out)["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["image"] == f"ghcr.io/{owner}/private-registries:{__version__}"


def test_the_refresher_needs_an_ecr_registry(env: dict[str, str], tmp_path: Path) -> None:
    path = write_entries(
        tmp_path / "r.yml", [{"server": "registry.example.org", "username": "u", "password": "p"}]
    )
    result = pull_secret(env, "--refresher", "--registries", str(path))
    assert result.code == 1 and "no ECR registry to refresh" in result.err
    apply = pull_secret(env, "--apply", "--registries", str(path))
    assert apply.code == 1 and "--apply works only inside a Kubernetes pod" in apply.err


# --- handing over to later steps (the action writes these to $GITHUB_ENV and $GITHUB_OUTPUT) -------


def test_handover_values_for_the_action(private_registry: PrivateRegistry, tmp_path: Path) -> None:
    from private_registries.action.runner import Runner
    from private_registries.config import make_registry
    from private_registries.credential import Credential
    from private_registries.deploy import kubernetes
    from private_registries.errors import InputError
    from private_registries.secret import MASKER
    from private_registries.services.pull_secret import PullSecretOptions, pull_secret

    reg = private_registry
    registry = make_registry(reg.server, reg.username, reg.password, where="test")
    credential = Credential(registry, reg.username, registry.password)  # type: ignore[arg-type]
    runner = Runner(Path("/github/runner_temp"), "/home/runner/work/_temp")
    host = runner.host_path(Path("/github/runner_temp/private-registries/docker"))
    assert host == "/home/runner/work/_temp/private-registries/docker"
    with pytest.raises(InputError, match="is not under /github/runner_temp"):
        runner.host_path(Path("/root/.docker"))
    assert Runner(Path("/github/runner_temp"), "").host_path(Path("/github/runner_temp/x")) == ""
    blob = pull_secret(PullSecretOptions(), [credential]).dockerconfigjson
    secret = kubernetes.build_secret([credential])
    assert str(blob) == "***" and blob.reveal() == secret["data"][".dockerconfigjson"]
    assert blob.reveal() in MASKER.known()

    config = tmp_path / "docker"
    config.mkdir(mode=0o700)
    (config / "config.json").write_bytes(b"{}")
    (config / "config.json").chmod(0o600)
    Runner(tmp_path, str(tmp_path), owner=(1001, 127)).give(
        [config, config / "config.json"]
    )  # the runner user
    for path in (config, config / "config.json"):
        assert (path.stat().st_uid, path.stat().st_gid) == (1001, 127)
    assert stat.S_IMODE((config / "config.json").stat().st_mode) == 0o600
