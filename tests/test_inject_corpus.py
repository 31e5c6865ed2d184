"""`inject` on a corpus of real manifests (tests/data/manifests/SOURCES.md says where each comes from).

For each file the pod specs that must gain the entry were written down by hand, from reading the file.
Checked: structurally (only those pod specs gain `{name: registry-credentials}`, every other value is
as it was), line by line (every other line kept byte for byte; flow style and JSON grow inside a line),
CRLF kept, the fast reading the same as ruamel.yaml's alone, idempotent, nothing written on a dry run.
"""

from __future__ import annotations

import copy
import difflib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from private_registries.deploy import manifests

DATA = Path(__file__).parent / "data" / "manifests"
NAME = "registry-credentials"


@dataclass(frozen=True)
class Case:
    file: str
    held: tuple[str, ...]  # registries held; empty: every workload (--all)
    added: tuple[tuple[int, str], ...]  # (document, path of the mapping that gains imagePullSecrets)
    left: tuple[tuple[str, str], ...] = ()  # (title, reason) of objects left alone that matter here
    custom: tuple[str, ...] = ()  # titles of custom resources left alone
    documents: int = 1
    created: tuple[str, ...] = field(default=())  # mappings written around the list (Tekton)


TEMPLATE = "spec.template.spec"
CASES = [
    # ingress-nginx 1.2.1: one Deployment and two Jobs among 19 objects, all images on k8s.gcr.io
    Case(
        "ingress-nginx-cloud.yaml",
        ("k8s.gcr.io",),
        ((14, TEMPLATE), (15, TEMPLATE), (16, TEMPLATE)),
        left=(
            ("ServiceAccount/ingress-nginx", "no pod template"),
            ("Service/ingress-nginx-controller", "no pod template"),
        ),
        documents=19,
    ),
    Case("kube-state-metrics-deployment.yaml", ("k8s.gcr.io",), ((0, TEMPLATE),)),
    Case("argocd-redis-deployment.yaml", ("docker.io",), ((0, TEMPLATE),)),  # redis:5.0.8 is on Docker Hub
    Case("cert-manager-helloweb-deployment.yaml", ("us-docker.pkg.dev",), ((0, TEMPLATE),)),
    Case("cert-manager-certificate.yaml", ("docker.io",), (), custom=("Certificate/www",)),
    # Argo Rollouts: a Rollout's template; one that only refers to a Deployment has none of its own
    Case("argo-rollouts-canary.yaml", ("docker.io",), ((0, TEMPLATE),)),
    Case(
        "argo-rollouts-workload-ref.yaml",
        ("docker.intuit.com",),
        ((0, TEMPLATE),),
        left=(("Rollout/rollout-ref-deployment", "no pod spec at spec.template.spec"),),
        custom=("Rollout/rollout-ref-deployment",),
        documents=2,
    ),
    # Argo Workflows: the WorkflowSpec takes the secret for all the workflow's pods
    Case("argo-workflows-cron.yaml", ("docker.io",), ((0, "spec.workflowSpec"),)),
    Case("argo-workflows-image-pull-secrets.yaml", ("docker.io",), ((0, "spec"),)),
    Case("argo-workflows-container-set.yaml", ("docker.io",), ((0, "spec"),)),
    # Tekton: the TaskRun has no podTemplate yet; it is written with the list in it
    Case(
        "tekton-taskrun-podtemplate.yaml",
        ("mirror.gcr.io",),
        ((0, "spec.podTemplate"),),
        created=("podTemplate",),
    ),
    # KEDA: jobTargetRef is a JobSpec; the file ends with an empty document
    Case(
        "keda-scaledjob-rabbitmq.yaml", ("docker.io",), ((1, "spec.jobTargetRef.template.spec"),), documents=3
    ),
    # Knative: a Service (not a core Service); its image is a placeholder, so only --all patches it
    Case("knative-helloworld-go.yaml", (), ((0, TEMPLATE),)),
    # the v1alpha1 Configuration wrote `revisionTemplate`: no pod spec where the table looks
    Case(
        "knative-configuration-v1alpha1.yaml",
        (),
        (),
        left=(("Configuration/stock-configuration-example", "no pod spec at spec.template.spec"),),
        custom=("Configuration/stock-configuration-example",),
    ),
    Case("kruise-cloneset.yaml", ("docker.io",), ((0, TEMPLATE),)),  # no final newline
    Case(
        "kruise-advancedcronjob.yaml",
        (),
        (),
        left=(
            (
                "AdvancedCronJob/advancedcronjob-sample",
                "no pod spec at spec.template.jobTemplate.spec.template.spec"
                " or spec.template.broadcastJobTemplate.spec.template.spec",
            ),
        ),
        custom=("AdvancedCronJob/advancedcronjob-sample",),
    ),
    # JSON: a ReplicationControllerList
    Case(
        "k8s-rclist.json",
        ("k8s.gcr.io",),
        ((0, "items[0].spec.template.spec"), (0, "items[1].spec.template.spec")),
    ),
    # flow style; the container's image is on Docker Hub, the image volume on quay.io
    Case("k8s-website-image-volumes.yaml", ("quay.io",), ((0, "spec"),)),
]


def steps(path: str) -> list[str | int]:
    found: list[str | int] = []
    for part in path.split("."):
        match = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        found += [match[1], int(match[2])] if match else [part]
    return found


def expected_data(before: list[Any], case: Case) -> list[Any]:
    """The documents as they must read after the edit: the old ones plus the entries, nothing else."""
    data = copy.deepcopy(before)
    for document, path in case.added:
        node = data[document]
        for step in steps(path):
            node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
        node["imagePullSecrets"] = [*(node.get("imagePullSecrets") or []), {"name": NAME}]
    return data


ADDED_LINE = re.compile(
    rf"^\s*(?:imagePullSecrets:|(?:- )?name: {NAME}|podTemplate:"
    rf'|"?imagePullSecrets"?: \[\{{"?name"?: "?{NAME}"?\}}\],?)\r?\n?$'
)


def assert_only_insertions(before: str, after: str, case: Case) -> None:
    """Every line of `before` is in `after`, in order, byte for byte; only our lines (or, in flow
    style, our text inside a line) were added."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    inserted = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        assert tag in ("insert", "replace"), (tag, old[i1:i2])
        a, b = "".join(old[i1:i2]), "".join(new[j1:j2])
        if tag == "insert":
            assert all(ADDED_LINE.match(line) for line in new[j1:j2]), new[j1:j2]
            inserted += 1
            continue
        # flow style: one stretch of text went in, inside or after a line that is otherwise the same
        prefix = 0
        while prefix < len(a) and a[prefix] == b[prefix]:
            prefix += 1
        grown = b[prefix : prefix + len(b) - len(a)]
        assert b[:prefix] + b[prefix + len(grown) :] == a, (a, b)
        assert "imagePullSecrets" in grown and NAME in grown, grown
        inserted += 1
    assert inserted == len(case.added)


def copy_to(tmp_path: Path, name: str, *, crlf: bool = False) -> Path:
    target = tmp_path / name
    shutil.copy(DATA / name, target)
    if crlf:
        target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    return target


def run(path: Path, case: Case, **options: Any) -> manifests.FileResult:
    [result] = manifests.inject_files([path], NAME, case.held, every_workload=not case.held, **options)
    return result


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_only_the_expected_pod_specs_gain_the_entry(tmp_path: Path, case: Case) -> None:
    path = copy_to(tmp_path, case.file)
    before = path.read_text()
    result = run(path, case)
    after = path.read_text()
    assert result.after == after and result.documents == case.documents
    old = list(yaml.safe_load_all(before))
    assert list(yaml.safe_load_all(after)) == expected_data(old, case)
    added = {(c.target.document, c.target.where) for c in result.added}
    assert added == {(d, f"{p}.imagePullSecrets") for d, p in case.added}
    assert all(c.target.create == case.created for c in result.added)
    assert_only_insertions(before, after, case)
    titles = {(u.title, u.reason) for u in result.left_alone}
    assert set(case.left) <= titles
    assert [u.title for u in result.custom_left_alone] == list(case.custom)
    if not case.added:
        assert after == before and not result.changed


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_a_second_run_changes_nothing(tmp_path: Path, case: Case) -> None:
    path = copy_to(tmp_path, case.file)
    run(path, case)
    once = path.read_bytes()
    again = run(path, case)
    assert path.read_bytes() == once and not again.changed
    assert not again.added and all(c.action in ("present", "skipped") for c in again.changes)


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_a_dry_run_writes_nothing_and_tells_the_same(tmp_path: Path, case: Case) -> None:
    path = copy_to(tmp_path, case.file)
    before = path.read_bytes()
    dry = run(path, case, dry_run=True)
    assert path.read_bytes() == before
    real = run(path, case)
    assert dry.after == real.after and [c.target for c in dry.added] == [c.target for c in real.added]


@pytest.mark.parametrize(
    "name",
    [
        "ingress-nginx-cloud.yaml",
        "tekton-taskrun-podtemplate.yaml",
        "kruise-cloneset.yaml",
        "k8s-rclist.json",
    ],
)
def test_crlf_files_keep_their_line_endings(tmp_path: Path, name: str) -> None:
    case = next(c for c in CASES if c.file == name)
    (tmp_path / "lf").mkdir()
    (tmp_path / "crlf").mkdir()
    lf = run(copy_to(tmp_path / "lf", name), case)
    path = copy_to(tmp_path / "crlf", name, crlf=True)
    crlf = run(path, case)
    written = path.read_bytes()
    assert written == lf.after.replace("\n", "\r\n").encode()
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert crlf.added


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_the_fast_reading_edits_as_ruamel_alone_does(
    tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DATA / case.file).read_text()
    options = {"every_workload": not case.held}
    fast = manifests.inject_text(text, case.file, NAME, case.held, **options)
    monkeypatch.setattr(manifests, "_fast_parts", lambda text: None)
    full = manifests.inject_text(text, case.file, NAME, case.held, **options)
    assert full.reread == full.documents
    assert fast.after == full.after
    assert [(c.target, c.action) for c in fast.changes] == [(c.target, c.action) for c in full.changes]
    assert fast.left_alone == full.left_alone


def test_only_the_workload_documents_are_read_again() -> None:
    text = (DATA / "ingress-nginx-cloud.yaml").read_text()
    result = manifests.inject_text(text, "x", NAME, ["k8s.gcr.io"])
    assert (result.documents, result.reread) == (19, 3)


def test_an_image_volume_counts_as_the_pods_image(tmp_path: Path) -> None:
    path = DATA / "k8s-website-image-volumes.yaml"
    assert manifests.held_images([path]) == ["debian", "quay.io/crio/artifact:v2"]
    # the container's registry alone is not enough for a pod whose image volume is elsewhere, and back
    [held_hub] = manifests.inject_files([copy_to(tmp_path, path.name)], NAME, ["ghcr.io"], dry_run=True)
    assert [c.action for c in held_hub.changes] == ["skipped"]
    assert held_hub.changes[0].reason == "no image from a registry we hold"


def test_held_images_reads_custom_workloads() -> None:
    images = manifests.held_images(
        [
            DATA / "argo-workflows-container-set.yaml",
            DATA / "keda-scaledjob-rabbitmq.yaml",
            DATA / "argo-rollouts-canary.yaml",
        ]
    )
    assert images == [
        "argoproj/argosay:v2",
        "argoproj/argosay:v2",
        "argoproj/argosay:v2",
        "tsuyoshiushio/rabbitmq-client:dev3",
        "argoproj/rollouts-demo:blue",
    ]


def test_workloads_without_an_image_we_hold_are_skipped_and_counted() -> None:
    text = (DATA / "ingress-nginx-cloud.yaml").read_text()
    result = manifests.inject_text(text, "x", NAME, ["ghcr.io"])
    assert result.after == text
    assert [(c.target.title, c.action, c.reason) for c in result.changes] == [
        (title, "skipped", "no image from a registry we hold")
        for title in (
            "Deployment/ingress-nginx-controller",
            "Job/ingress-nginx-admission-create",
            "Job/ingress-nginx-admission-patch",
        )
    ]
    assert len(result.left_alone) == 16 and not any(u.custom for u in result.left_alone)
