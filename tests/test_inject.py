"""`registries inject`: imagePullSecrets added to real-world manifests, round trip byte for byte.

The fixtures are a Helm-rendered release, kustomize output with comments, anchors, aliases, merge
keys and flow style, and a `kubectl get -o json` List. Each patched document must be a valid
Kubernetes object (kubernetes-validate, strict) and everything else must stay exactly as it was.
"""

import difflib
import json
import os
import shutil
import stat
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from private_registries.deploy.manifests import relative
from tests.clirun import Result, run

DATA = Path(__file__).parent / "data" / "manifests"
HELD = ("registry.example.org", "127.0.0.1:5000")
K8S_VERSION = "1.30"


@pytest.fixture
def registries_file(tmp_path: Path) -> Path:
    """The registries held (inject needs only their servers; the passwords are canaries)."""
    path = tmp_path / "registries.yml"
    entries = [{"server": s, "username": "u", "password": f"canary-inject-{i}"} for i, s in enumerate(HELD)]
    path.write_text(yaml.safe_dump(entries))
    return path


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(DATA / name, target)
    return target


def inject(capsys: pytest.CaptureFixture[str], env: dict[str, str], registries: Path, *argv: str) -> Result:
    return run(capsys, env, "inject", "--registries", str(registries), *argv)


def validate_all(text: str) -> list[str]:
    """Every object of a stream checked against the Kubernetes schemas; their kinds."""
    kinds = []
    for document in yaml.safe_load_all(text):
        if document is None:
            continue
        for item in document["items"] if document.get("kind") == "List" else [document]:
            kubernetes_validate.validate(item, K8S_VERSION, strict=True)
            kinds.append(item["kind"])
    return kinds


@pytest.mark.parametrize(
    "name",
    ["helm-rendered.yaml", "kustomize-output.yaml", "list.json"],
    ids=["helm", "kustomize", "json-list"],
)
def test_round_trip_of_real_world_manifests(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path, name: str
) -> None:
    path = copy(tmp_path, name)
    before = path.read_text()
    result = inject(capsys, env, registries_file, str(path))
    assert result.code == 0, result.err
    after = path.read_text()
    expected = (DATA / name.replace(".yaml", ".expected.yaml").replace(".json", ".expected.json")).read_text()
    assert after == expected
    # only lines were added: every original line is still there, in order
    added = [line for line in after.splitlines() if "registry-credentials" in line]
    assert added and all("imagePullSecrets" in line or "name: registry-credentials" in line for line in added)
    assert validate_all(after)
    assert "canary-inject" not in result.text
    # idempotent: a second run changes nothing
    again = inject(capsys, env, registries_file, str(path))
    assert again.code == 0 and path.read_text() == after
    assert "Added registry-credentials to 0 workloads in 0 files" in again.out
    assert before != after


def test_what_was_done_is_told_per_workload(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "helm-rendered.yaml")
    result = inject(capsys, env, registries_file, str(path))
    lines = result.out.splitlines()
    shown = relative(path)  # as the user gave it, or relative to here when shorter
    assert lines == [
        f"{shown}: Deployment/shop: added registry-credentials",
        f"{shown}: StatefulSet/shop-db: added registry-credentials",
        f"{shown}: CronJob/shop-report: added registry-credentials",
        f"{shown}: left untouched: 2 workloads that pull from no registry we hold, "
        "3 objects with no pod template (--verbose lists them)",
        "Added registry-credentials to 3 workloads in 1 files",
    ]
    path.write_text((DATA / "helm-rendered.yaml").read_text())
    verbose = inject(capsys, env, registries_file, str(path), "--verbose").out
    assert (
        f"{shown}: Deployment/shop: added registry-credentials at spec.template.spec.imagePullSecrets"
        in verbose
    )
    assert f"{shown}: DaemonSet/shop-agent: skipped (no image from a registry we hold)" in verbose
    assert f"{shown}: Pod/shop-test-connection: skipped (no image from a registry we hold)" in verbose
    for title in ("ServiceAccount/shop", "ConfigMap/shop-config", "Service/shop"):
        assert f"{shown}: {title}: left untouched (no pod template)" in verbose


def test_an_existing_secret_is_never_dropped(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "kustomize-output.yaml")
    inject(capsys, env, registries_file, str(path))
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    by_name = {d["metadata"]["name"]: d for d in documents if d["kind"] != "List"}
    worker = by_name["prod-worker"]["spec"]["template"]["spec"]["imagePullSecrets"]
    assert worker == [{"name": "old-token"}, {"name": "registry-credentials"}]
    # a list that came only through a merge key (<<: *base) is repeated in the new own key
    api = by_name["prod-api"]["spec"]["template"]["spec"]["imagePullSecrets"]
    assert api == [{"name": "from-base"}, {"name": "registry-credentials"}]
    # the alias of a pod spec is edited once, through its anchor
    pods = next(d for d in documents if d["kind"] == "List")["items"]
    assert [p["spec"]["imagePullSecrets"] for p in pods] == [[{"name": "registry-credentials"}]] * 2


def test_all_and_service_accounts(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "helm-rendered.yaml")
    result = run(capsys, env, "inject", "--all", "--service-account", "--name", "pull", str(path))
    assert result.code == 0, result.err
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    account = next(d for d in documents if d["kind"] == "ServiceAccount")
    assert account["imagePullSecrets"] == [{"name": "pull"}]
    agent = next(d for d in documents if d["kind"] == "DaemonSet")
    assert agent["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "pull"}]
    assert "Added pull to 6 workloads in 1 files" in result.out
    validate_all(path.read_text())


def test_dry_run_shows_the_diff_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "kustomize-output.yaml")
    before = path.read_text()
    result = inject(capsys, env, registries_file, "--dry-run", str(path))
    assert result.code == 0
    assert path.read_text() == before
    assert f"--- a/{path}" in result.out and f"+++ b/{path}" in result.out
    assert "+      - name: registry-credentials" in result.out
    assert "would add registry-credentials" in result.out
    assert "Would add registry-credentials to 6 workloads in 1 files" in result.out


def test_a_manifest_that_does_not_parse_names_file_and_line(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    good = copy(tmp_path, "helm-rendered.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: [\n")
    before = good.read_text()
    result = inject(capsys, env, registries_file, str(good), str(bad))
    assert result.code == 1
    assert f"error: {bad}: not valid YAML at line 5 column 2" in result.err
    assert good.read_text() == before  # nothing is written while any file is wrong
    assert "Traceback" not in result.text


def test_an_unrendered_helm_template_gets_a_hint(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    template = tmp_path / "deployment.yaml"
    template.write_text("spec:\n  template:\n    spec:\n      {{- with .Values.imagePullSecrets }}\n")
    result = inject(capsys, env, registries_file, str(template))
    assert result.code == 1
    assert f"{template}: not valid YAML at line 4" in result.err
    assert "helm template" in result.err


def test_duplicate_keys_are_refused_without_quoting_values(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("kind: Pod\nmetadata: {name: a}\nspec:\n  containers: []\n  containers: [canary-dup]\n")
    result = inject(capsys, env, registries_file, str(path))
    assert result.code == 1
    assert f"{path}: at line 5 column 3: duplicate key" in result.err
    assert "canary-dup" not in result.err


def test_a_document_without_pod_template_is_left_untouched(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plain.yaml"
    text = "# only config\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    text += "data:\n  image: 127.0.0.1:5000/x\n"
    path.write_text(text)
    result = inject(capsys, env, registries_file, str(path))
    assert result.code == 0
    assert path.read_text() == text
    assert "left untouched: 1 object with no pod template" in result.out
    assert "no pod template in these files: nothing to do" in result.err


def test_a_read_only_file_is_refused_and_kept(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "helm-rendered.yaml")
    before = path.read_text()
    path.chmod(0o444)
    result = inject(capsys, env, registries_file, str(path))
    assert result.code == 1
    assert f"{path} is read-only; no file was written" in result.err
    assert path.read_text() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_a_failed_write_leaves_the_file_whole(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    registries_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The new text goes to a temporary file that is renamed over the old: a failure leaves the old."""
    path = copy(tmp_path, "helm-rendered.yaml")
    path.chmod(0o640)
    before = path.read_text()

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    result = inject(capsys, env, registries_file, str(path))
    assert result.code == 1
    assert f"cannot write {path}: No space left on device; it was left as it is" in result.err
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helm-rendered.yaml", "home", "registries.yml"]
    monkeypatch.undo()
    assert inject(capsys, env, registries_file, str(path)).code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file keeps its mode


def test_a_secret_name_must_be_dns_1123(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "helm-rendered.yaml")
    result = inject(capsys, env, registries_file, "--name", "Registry_Creds", str(path))
    assert result.code == 2
    assert "--name 'Registry_Creds' is not a valid Kubernetes Secret name" in result.err
    assert "'registry-creds'" in result.err


def test_a_missing_file_and_no_registries(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    result = inject(capsys, env, registries_file, str(tmp_path / "nope.yaml"))
    assert result.code == 1 and f"{tmp_path / 'nope.yaml'} does not exist" in result.err
    empty = run(capsys, env, "inject", str(copy(tmp_path, "list.json")))
    assert empty.code == 1
    assert "no registries held" in empty.err and "--all" in empty.err


def test_json_stays_json(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = copy(tmp_path, "list.json")
    assert inject(capsys, env, registries_file, str(path)).code == 0
    data = json.loads(path.read_text())
    assert data["items"][0]["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "registry-credentials"}
    ]


def test_windows_line_endings_and_no_final_newline(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "crlf.yaml"
    text = "kind: Pod\r\nmetadata:\r\n  name: a\r\nspec:\r\n  containers:\r\n    - name: a\r\n"
    path.write_bytes((text + "      image: 127.0.0.1:5000/a").encode())
    assert inject(capsys, env, registries_file, str(path)).code == 0
    assert path.read_bytes().decode() == (
        text + "      image: 127.0.0.1:5000/a\r\n  imagePullSecrets:\r\n    - name: registry-credentials"
    )


def test_a_custom_resource_is_named_and_patched_once_its_kind_is_given(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], registries_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "arena.yaml"
    text = (
        "apiVersion: games.example.org/v1\nkind: Arena\nmetadata:\n  name: a\nspec:\n  server:\n"
        "    template:\n      spec:\n        containers:\n        - name: s\n"
        "          image: registry.example.org/games/arena:1\n"
    )
    path.write_text(text)
    shown = relative(path)
    left = inject(capsys, env, registries_file, str(path))
    assert left.code == 0 and path.read_text() == text
    assert (
        f"{shown}: Arena/a (games.example.org/v1) was left alone: a custom resource whose kind is not in the "
        "workload table, though it seems to hold a pod spec; to patch it: "
        "--kind Arena.games.example.org=spec.server.template.spec"
    ) in left.err
    assert f"{shown}: left untouched: 1 custom resource (--verbose lists them)" in left.out
    kind = "Arena.games.example.org=spec.server.template.spec"
    patched = inject(capsys, env, registries_file, str(path), "--kind", kind)
    assert patched.code == 0, patched.err
    assert f"{shown}: Arena/a: added registry-credentials" in patched.out
    spec = yaml.safe_load(path.read_text())["spec"]["server"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    diff = difflib.ndiff(text.splitlines(), path.read_text().splitlines())
    new = [line[:2] + line[2:].strip() for line in diff if line[0] in "+-"]
    assert new == ["+ imagePullSecrets:", "+ - name: registry-credentials"]  # all else kept
    wrong = inject(capsys, env, registries_file, str(path), "--kind", "Arena.games.example.org")
    assert wrong.code == 1 and "workload kind 'Arena.games.example.org': no pod spec path" in wrong.err
