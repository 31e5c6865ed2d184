"""The real kubectl (1.32, Debian 13's package) against what we write and what we patch.

`registries pull-secret` must print, byte for byte, what `kubectl create secret docker-registry
--dry-run=client` prints (`-o yaml` and `-o json`); with several registries, which kubectl makes only
one per command, each registry's entry is kubectl's and the whole Secret is what `kubectl create
secret generic --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=...` makes of our
own `.dockerconfigjson`. YAML that kubectl did not make (our expiry annotations, names it must
quote) is compared with kubectl's own re-emission of it.

`registries inject` on the manifests of tests/data/manifests, read back by kubectl: there is no
cluster, so the reading is `kubectl patch --local --type=merge -p '{}' -f FILE... -o json`, which
parses every file through kubectl's resource builder (YAML or JSON, Lists flattened into their
items), applies an empty patch (nothing changes) and prints each object, all files in one call.
The obvious others do not serve: `kubectl create --dry-run=client -f FILE` needs the server's API
discovery to map a kind (without a server: "unable to recognize ... connection refused", with
--validate=false too); `kubectl kustomize` reads through kustomize instead, and refuses an object
with only a generateName (Argo's Workflows).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from private_registries.config import make_registry
from private_registries.credential import Credential
from private_registries.deploy import kubernetes
from private_registries.secret import Secret
from tests.clirun import run
from tests.servers.tools import tool
from tests.test_inject_corpus import CASES

DATA = Path(__file__).parent / "data" / "manifests"
HUB = "https://index.docker.io/v1/"  # kubectl's default --docker-server, and the contract's Hub key


def kubectl(env: dict[str, str], *argv: str) -> bytes:
    """The real kubectl, with the test's own HOME (no kubeconfig: nothing here reaches a cluster)."""
    result = subprocess.run(
        [str(tool("kubectl")), *argv],
        env={"HOME": env["HOME"], "PATH": env["PATH"]},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr.decode(errors="replace")
    return result.stdout


def kubectl_secret(
    env: dict[str, str], name: str, server: str, username: str, password: str, namespace: str | None, fmt: str
) -> bytes:
    argv = ["create", "secret", "docker-registry", name, f"--docker-server={server}"]
    argv += [f"--docker-username={username}", f"--docker-password={password}"]
    argv += ["--namespace", namespace] if namespace else []
    return kubectl(env, *argv, "--dry-run=client", "-o", fmt)


def pull_secret(env: dict[str, str], tmp_path: Path, entries: list[dict[str, str]], *argv: str) -> bytes:
    """`registries pull-secret` as a user runs it (a new process), its stdout as bytes."""
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "private_registries", "pull-secret", "--registries", str(path), *argv],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def inner(secret: bytes) -> bytes:
    """The Secret's `.dockerconfigjson`, as bytes."""
    document = yaml.safe_load(secret)
    return base64.b64decode(document["data"][".dockerconfigjson"])


# (server in our entry, --docker-server for kubectl, username, password, --name, --namespace)
SINGLE = [
    pytest.param(
        "registry.example.org:5000", "registry.example.org:5000", "alice", "s3cret", "pull", None, id="one"
    ),
    pytest.param("docker.io", HUB, "hubber", "hub-pass", "registry-credentials", None, id="docker-hub"),
    pytest.param(
        "registry.example.org", "registry.example.org", "alice", "pa:ss:w0rd", "pull", None, id="colon"
    ),
    pytest.param("ghcr.io", "ghcr.io", "bøb", "pä:ss€", "pull", None, id="non-ascii"),
    pytest.param(
        "registry.example.org", "registry.example.org", "u", '<a&b>\t"\\', "pull", None, id="escapes"
    ),
    pytest.param(
        "registry.example.org", "registry.example.org", "alice", "s3cret", "pull", "prod", id="namespace"
    ),
    # names and namespaces go-yaml would read as numbers, booleans or dates: kubectl double-quotes them
    pytest.param("registry.example.org", "registry.example.org", "u", "p", "1.5", "y", id="quoted-names"),
    pytest.param(
        "registry.example.org", "registry.example.org", "u", "p", "2001-12-14", "123", id="date-name"
    ),
]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize(("server", "kube_server", "username", "password", "name", "namespace"), SINGLE)
def test_one_registry_is_kubectls_secret_byte_for_byte(
    env: dict[str, str],
    tmp_path: Path,
    fmt: str,
    server: str,
    kube_server: str,
    username: str,
    password: str,
    name: str,
    namespace: str | None,
) -> None:
    entry = {"server": server, "username": username, "password": password}
    argv = ["--name", name, "--format", fmt, *(["--namespace", namespace] if namespace else [])]
    ours = pull_secret(env, tmp_path, [entry], *argv)
    theirs = kubectl_secret(env, name, kube_server, username, password, namespace, fmt)
    assert ours.decode() == theirs.decode()
    assert ours == theirs
    assert b"creationTimestamp" in theirs  # what a dry run leaves (null), and so do we


def test_docker_hub_is_written_under_the_v1_key_kubectl_writes_by_default(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The contract's Docker Hub key is https://index.docker.io/v1/, kubectl's default server. Given
    `--docker-server=docker.io` kubectl writes `docker.io` as it is; we write the v1 key for
    docker.io, as the contract says (the kubelet serves Hub images under either)."""
    ours = pull_secret(env, tmp_path, [{"server": "docker.io", "username": "hubber", "password": "x"}])
    assert list(json.loads(inner(ours))["auths"]) == [HUB]
    argv = ["create", "secret", "docker-registry", "registry-credentials", "--docker-username=hubber"]
    argv += ["--docker-password=x", "--dry-run=client", "-o", "yaml"]
    default = kubectl(env, *argv)  # no --docker-server
    assert list(json.loads(inner(default))["auths"]) == [HUB] and default == ours
    short = kubectl(env, *argv, "--docker-server=docker.io")
    assert list(json.loads(inner(short))["auths"]) == ["docker.io"]


def test_several_registries_each_entry_kubectls_and_the_whole_from_our_dockerconfigjson(
    env: dict[str, str], tmp_path: Path
) -> None:
    registries = [
        ("registry.example.org:5000", "registry.example.org:5000", "alice", "s3cret"),
        ("docker.io", HUB, "hubber", "hub-<canary>&-7741"),
        ("ghcr.io", "ghcr.io", "bøb", "pä:ss€"),
        ("quay.io", "quay.io", "robot+ci", "a:b:c"),
    ]
    entries = [{"server": s, "username": u, "password": p} for s, _, u, p in registries]
    for fmt in ("yaml", "json"):
        argv = ["--name", "pull", "--namespace", "prod", "--format", fmt]
        ours = pull_secret(env, tmp_path, entries, *argv)
        config = inner(ours)
        # each registry's entry: the bytes kubectl writes for it alone, in Go's key order (sorted)
        parts = {}
        for _, server, username, password in registries:
            single = inner(kubectl_secret(env, "pull", server, username, password, "prod", fmt))
            assert single.startswith(b'{"auths":{') and single.endswith(b"}}")
            parts[server] = single[len(b'{"auths":{') : -len(b"}}")]
        assert config == b'{"auths":{' + b",".join(parts[key] for key in sorted(parts)) + b"}}"
        # the whole Secret: kubectl's, made from our .dockerconfigjson
        path = tmp_path / f"dockerconfig-{fmt}.json"
        path.write_bytes(config)
        generic = ["create", "secret", "generic", "pull", "--type=kubernetes.io/dockerconfigjson"]
        generic += [f"--from-file=.dockerconfigjson={path}", "--namespace", "prod"]
        theirs = kubectl(env, *generic, "--dry-run=client", "-o", fmt)
        assert ours.decode() == theirs.decode()
        assert ours == theirs


def credential(server: str, *, expires_at: datetime | None = None, lifetime: str | None = None) -> Credential:
    registry = make_registry(server, "u", "p", where="test")
    return Credential(registry, "u", Secret("p"), expires_at=expires_at, lifetime=lifetime)


def reemitted(env: dict[str, str], tmp_path: Path, documents: list[dict[str, Any]]) -> list[bytes]:
    """kubectl's own YAML of these objects (read from our JSON, an empty patch, printed again)."""
    argv = []
    for index, document in enumerate(documents):
        path = tmp_path / f"object-{index}.json"
        path.write_text(kubernetes.render(document, "json"), encoding="utf-8")
        argv += ["-f", str(path)]
    out = kubectl(env, "patch", "--local", "--type=merge", "-p", "{}", *argv, "-o", "yaml")
    printed = re.split(rb"(?m)^(?=apiVersion: )", out)[1:]  # several objects: one after the other
    assert len(printed) == len(documents)
    return printed


def test_our_annotations_are_written_as_kubectl_writes_them(env: dict[str, str], tmp_path: Path) -> None:
    """kubectl makes no annotations: its re-emission of our Secret is the reference for them. The
    expiry (an RFC 3339 time, which go-yaml double-quotes), the servers' ends in words (single-quoted
    for their `: `), and a long list of them (folded at 80 columns)."""
    moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    ecr = [f"{n:012d}.dkr.ecr.eu-west-{n % 3 + 1}.amazonaws.com" for n in (123456789012, 210987654321, 7)]
    secrets = [
        kubernetes.build_secret([credential(ecr[0], expires_at=moment)], "pull", "prod"),
        kubernetes.build_secret([credential("ghcr.io", lifetime="end of the job")], "registry-credentials"),
        kubernetes.build_secret([credential(s, expires_at=moment) for s in ecr], "y", "123"),
        kubernetes.build_secret(
            [credential("registry.example.org")], "a", annotations={"example.org/on": "on", "a9": "1:20"}
        ),
    ]
    assert kubernetes.EXPIRES_AT in secrets[0]["metadata"]["annotations"]
    assert len(secrets[2]["metadata"]["annotations"][kubernetes.EXPIRES]) > 80
    printed = reemitted(env, tmp_path, secrets)
    for secret, theirs in zip(secrets, printed, strict=True):
        ours = kubernetes.render(secret, "yaml").encode()
        assert ours.decode() == theirs.decode()
        assert ours == theirs
    assert b'    private-registries/expires-at: "2031-05-06T07:08:09Z"\n' in printed[0]


# strings whose YAML form is go-yaml's choice: plain, single- or double-quoted, literal, folded
AWKWARD = [
    *["123", "1.5", "y", "n", "no", "on", "True", "tRUE", "1e3", "0x1f", "0o17", "0b1", "08", "0777"],
    *["1_000", "null", "Null", "~", "", "nan", ".5", ".e3", "-.inf", "+", "-", "1:20", "190:20:30"],
    *["1:60", "1.5.6", "2001-12-14", "2025-13-01", "2001-12-14T21:59:43.10-05:00", "2001-12-14T21:59:43"],
    *["2001-12-14 21:59:43.10", "18446744073709551615", "18446744073709551616", "0x" + "f" * 17, "1e400"],
    *["<<", "- a", "a #b", "'q", "a\tb", "a\x01b", "line one\nline two", "tail\n", "  indented\nx"],
    *["trail ", " lead", "a: b", "x:", "@x", "`x", "%x", "!x", "&x", "*x", "|x", "?x", "? x", "[a]", "{a}"],
    *["a,b", "#a", "<a&b>", "é€ ünïcode", "word " * 30, "x" * 100],
]
# keys in go-yaml's order (digit runs by value, letters after the rest); a set on which it is a total
# order (go-yaml's is not on every set: then kubectl's own order changes run to run)
KEYS = ["0", "1", "01", "2", "10", "A", "a", "a-b", "a.b", "a_b", "a0", "a1", "a01", "a9", "a10", "aB", "ab"]


def test_yaml_quoting_and_key_order_are_go_yamls(env: dict[str, str], tmp_path: Path) -> None:
    documents: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"v": value}}
        for i, value in enumerate(AWKWARD)
    ]
    documents.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keys"}, "data": {}})
    documents[-1]["data"] = {key: "v" for key in reversed(KEYS)}
    differ = [
        (document["data"], ours, theirs)
        for document, theirs in zip(documents, reemitted(env, tmp_path, documents), strict=True)
        if (ours := kubernetes.go_yaml(document).encode()) != theirs
    ]
    assert differ == []
    assert list(yaml.safe_load(kubernetes.go_yaml(documents[-1]))["data"]) == KEYS


# --- inject, read back by kubectl ------------------------------------------------------------------

NAME = "registry-credentials"
HELD = sorted({server for case in CASES for server in case.held} | {"registry.example.org", "127.0.0.1:5000"})
ADDED = re.compile(rf"^(?P<file>[^:]+): (?P<title>\S+): added {NAME} at (?P<where>\S+)$")


def manifest_files() -> list[str]:
    return sorted(
        path.name
        for path in DATA.iterdir()
        if path.suffix in (".yaml", ".json") and ".expected." not in path.name
    )


def read_by_kubectl(env: dict[str, str], folder: Path, files: list[str]) -> list[dict[str, Any]]:
    """Every object of these files as kubectl reads them, in order, in one call."""
    argv = [arg for name in files for arg in ("-f", str(folder / name))]
    out = kubectl(env, "patch", "--local", "--type=merge", "-p", "{}", *argv, "-o", "json").decode()
    decoder, objects, at = json.JSONDecoder(), [], 0
    while at < len(out):
        if out[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(out, at)
        objects.append(value)
    return objects


def title(item: dict[str, Any]) -> str:
    metadata = item.get("metadata") or {}
    return f"{item.get('kind')}/{metadata.get('name') or metadata.get('generateName')}"


def titles_per_file(folder: Path, files: list[str]) -> list[tuple[str, str]]:
    """(file, title) of each object, a List's items in its place: the order kubectl prints them."""
    found = []
    for name in files:
        for document in yaml.safe_load_all((folder / name).read_text()):
            if not document:
                continue
            listed = str(document.get("kind", "")).endswith("List") and "items" in document
            found += [(name, title(item)) for item in (document["items"] if listed else [document])]
    return found


def with_entry(item: dict[str, Any], where: str) -> dict[str, Any]:
    """The object as it must read with our entry appended to the imagePullSecrets of the mapping at
    `where` (mappings made on the way)."""
    expected = copy.deepcopy(item)
    node = expected
    for step in [part for part in where.split(".") if part]:
        node = node.setdefault(step, {})
    node["imagePullSecrets"] = [*(node.get("imagePullSecrets") or []), {"name": NAME}]
    return expected


def test_kubectl_reads_every_injected_manifest_with_the_entries_where_inject_says(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = manifest_files()
    assert len(files) >= 18
    folder = tmp_path / "manifests"
    folder.mkdir()
    for name in files:
        shutil.copy(DATA / name, folder / name)
    registries = tmp_path / "registries.yml"
    registries.write_text(
        yaml.safe_dump([{"server": s, "username": "u", "password": "inject-pw-5150"} for s in HELD])
    )
    monkeypatch.chdir(folder)  # inject shows the files as given
    result = run(
        capsys, env, "inject", "--registries", str(registries), "--service-account", "--verbose", *files
    )
    assert result.code == 0, result.err
    added: dict[tuple[str, str], str] = {}
    for line in result.out.splitlines():
        if match := ADDED.match(line):
            # a List's item is its own object for kubectl: its path starts at the item
            where = re.sub(r"^items\[\d+\]\.", "", match["where"])
            assert (match["file"], match["title"]) not in added
            added[(match["file"], match["title"])] = where.removesuffix("imagePullSecrets")
    total = re.search(rf"^Added {NAME} to (\d+) workloads in (\d+) files$", result.out, re.M)
    assert total and int(total[1]) == len(added) > 0

    before = read_by_kubectl(env, DATA, files)
    after = read_by_kubectl(env, folder, files)
    where_from = titles_per_file(folder, files)  # which file each object came from
    assert [title(item) for item in before] == [t for _, t in where_from]
    assert [title(item) for item in after] == [t for _, t in where_from]
    assert len(set(where_from)) == len(where_from)
    assert set(added) <= set(where_from)
    patched = 0
    for key, old, new in zip(where_from, before, after, strict=True):
        if key not in added:
            assert new == old, key  # nothing added, nothing else changed
            continue
        patched += 1
        assert new == with_entry(old, added[key]), key
        # at the pod spec path: the list it had (if any) and ours after it
        steps = [part for part in added[key].split(".") if part]
        node, was = new, old
        for step in steps:
            node, was = node[step], (was or {}).get(step)
        assert node["imagePullSecrets"] == [*((was or {}).get("imagePullSecrets") or []), {"name": NAME}]
    assert patched == len(added)
    # among them workloads of many kinds (a Tekton podTemplate written, ServiceAccounts), and left
    # alone: a workload whose image is a placeholder, a custom resource, objects with no pod template
    assert {t.split("/")[0] for _, t in added} >= {"Deployment", "CronJob", "Workflow", "TaskRun", "Rollout"}
    assert ("helm-rendered.yaml", "ServiceAccount/shop") in added
    left = set(where_from) - set(added)
    assert {
        ("knative-helloworld-go.yaml", "Service/helloworld-go"),
        ("cert-manager-certificate.yaml", "Certificate/www"),
    } <= left
    assert ("ingress-nginx-cloud.yaml", "ConfigMap/ingress-nginx-controller") in left
    assert sum(NAME in json.dumps(item) for item in after) == len(added)
