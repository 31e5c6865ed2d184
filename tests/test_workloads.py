"""The table of workload kinds, kinds named by the user, and when the fast reader steps aside."""

from __future__ import annotations

import pytest

from private_registries.deploy import manifests
from private_registries.deploy.workloads import EACH, Table, WorkloadKind, parse_kind
from private_registries.errors import InputError

NAME = "registry-credentials"
HELD = ["registry.example.org"]

CUSTOM = """\
apiVersion: example.com/v1
kind: Runner
metadata:
  name: nightly
spec:
  runner:
    template:
      spec:
        containers:
        - name: main
          image: registry.example.org/team/runner:1
"""


def test_parse_kind() -> None:
    assert parse_kind("Rollout.argoproj.io=spec.template.spec") == WorkloadKind(
        "Rollout", "argoproj.io", ("spec", "template", "spec")
    )
    assert parse_kind("PipelineRun.v1beta1.tekton.dev=spec.podTemplate") == WorkloadKind(
        "PipelineRun", "tekton.dev", ("spec", "podTemplate"), version="v1beta1"
    )
    assert parse_kind("Runner=spec.runner.template.spec").group is None  # every group
    assert parse_kind("Thing.core=spec").group == ""
    assert parse_kind("JobSet.jobset.x-k8s.io=spec.replicatedJobs[].template.spec").pod_spec == (
        "spec",
        "replicatedJobs",
        EACH,
        "template",
        "spec",
    )
    assert (
        str(parse_kind(" Rollout.argoproj.io = spec.template.spec "))
        == "Rollout.argoproj.io=spec.template.spec"
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("Rollout.argoproj.io", "no pod spec path"),
        ("=spec", "no pod spec path"),
        ("rollout-x.argoproj.io=spec", "is not a kind name"),
        ("Rollout.Argoproj.IO=spec", "is not an API group"),
        ("Rollout.argoproj.io=spec..template", "is not a field name"),
        ("Rollout.argoproj.io=spec.on.template", "'on' is not a field name"),
        ("Rollout.argoproj.io=[].spec", "is not a field name"),
        ("Rollout.argoproj.io=*.spec", "starts inside a list"),
    ],
)
def test_a_wrong_kind_spec_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_kind(spec)
    assert says in caught.value.message and repr(spec) in caught.value.message
    assert "Rollout.argoproj.io=spec.template.spec" in (caught.value.hint or "")


def test_kinds_are_matched_on_their_group() -> None:
    table = Table()
    assert table.lookup("Service", "v1") == []
    assert [e.pod_spec for e in table.lookup("Service", "serving.knative.dev/v1")] == [
        ("spec", "template", "spec")
    ]
    assert table.lookup("Deployment", "example.com/v1") == []  # a CRD that happens to be called so
    assert table.lookup("Deployment", None)  # a built-in kind without apiVersion (a patch) is still one
    assert table.lookup("Rollout", None) == []  # a CRD's kind needs its group
    v1, v1beta1 = (
        table.lookup("PipelineRun", "tekton.dev/v1"),
        table.lookup("PipelineRun", "tekton.dev/v1beta1"),
    )
    assert [e.pod_spec for e in v1] == [("spec", "taskRunTemplate", "podTemplate")]
    assert [e.pod_spec for e in v1beta1] == [("spec", "podTemplate")]


def test_a_custom_resource_is_left_alone_and_said_why_with_the_entry_that_would_patch_it() -> None:
    result = manifests.inject_text(CUSTOM, "x", NAME, HELD)
    assert result.after == CUSTOM and not result.changes
    [left] = result.left_alone
    assert (left.title, left.custom, left.reason) == ("Runner/nightly", True, manifests.UNKNOWN_CUSTOM)
    assert left.pod_specs == ("spec.runner.template.spec",)
    assert left.hint == "Runner.example.com=spec.runner.template.spec"


@pytest.mark.parametrize(
    "spec", ["Runner.example.com=spec.runner.template.spec", "Runner=spec.runner.template.spec"]
)
def test_a_kind_named_by_the_user_is_patched(spec: str) -> None:
    result = manifests.inject_text(CUSTOM, "x", NAME, HELD, extra_kinds=[spec])
    assert result.after == CUSTOM.replace(
        "runner:1\n", "runner:1\n        imagePullSecrets:\n        - name: registry-credentials\n"
    )
    assert [(c.target.title, c.action) for c in result.changes] == [("Runner/nightly", "added")]
    assert manifests.held_images_text(CUSTOM, extra_kinds=[spec]) == ["registry.example.org/team/runner:1"]


def test_a_wrong_kind_spec_is_refused_before_any_file_is_read(tmp_path: object) -> None:
    with pytest.raises(InputError, match="is not an API group"):
        manifests.inject_files([], NAME, HELD, extra_kinds=["Runner.EXAMPLE=spec"])


def test_a_list_of_pod_specs_in_a_custom_resource() -> None:
    text = """\
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
  - name: a
    template:
      spec:
        template:
          spec:
            containers: [{name: a, image: registry.example.org/a}]
  - name: b
    template:
      spec:
        template:
          spec:
            containers: [{name: b, image: docker.io/library/b}]
"""
    result = manifests.inject_text(text, "x", NAME, HELD)
    assert [(c.target.where, c.action) for c in result.changes] == [
        ("spec.replicatedJobs[0].template.spec.template.spec.imagePullSecrets", "added"),
        ("spec.replicatedJobs[1].template.spec.template.spec.imagePullSecrets", "skipped"),
    ]
    assert (
        "containers: [{name: a, image: registry.example.org/a}]\n            imagePullSecrets:\n"
        in result.after
    )


def test_a_pipelinerun_gets_its_task_run_template_written() -> None:
    text = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  generateName: build-
spec:
  pipelineSpec:
    tasks:
    - name: build
      taskSpec:
        steps:
        - name: build
          image: registry.example.org/tools/builder:2
"""
    result = manifests.inject_text(text, "x", NAME, HELD)
    assert result.after == text + (
        "  taskRunTemplate:\n    podTemplate:\n      imagePullSecrets:\n      - name: registry-credentials\n"
    )
    again = manifests.inject_text(result.after, "x", NAME, HELD)
    assert [c.action for c in again.changes] == ["present"] and again.after == result.after


# -- the fast reader steps aside where YAML 1.1 and 1.2 (or its splitting) might disagree ----------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example.org/web:1
"""


def full(text: str) -> manifests.TextResult:
    """What ruamel.yaml alone makes of it."""
    saved = manifests._fast_parts
    manifests._fast_parts = lambda text: None  # type: ignore[assignment]
    try:
        return manifests.inject_text(text, "x", NAME, HELD)
    finally:
        manifests._fast_parts = saved


@pytest.mark.parametrize(
    ("text", "reread"),
    [
        # a merge key: the document is read by ruamel.yaml, not judged by the fast reader
        ("base: &b {a: 1}\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  <<: *b\n---\n" + DEPLOYMENT, 2),
        # a name YAML 1.1 reads as a string and 1.2 as a number
        ("kind: ConfigMap\nmetadata: {name: 0o17}\n---\n" + DEPLOYMENT, 2),
        # a directive: the `---` lines cannot be trusted to split the text
        ("%YAML 1.1\n---\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + DEPLOYMENT, 2),
        # a line break other than \n and \r\n
        ("kind: ConfigMap\rmetadata: {name: c}\n---\n" + DEPLOYMENT, 2),
        # documents ended by `...` rather than started by `---`
        ("kind: ConfigMap\nmetadata: {name: c}\n...\n" + DEPLOYMENT, 2),
        # a comment before the first `---`, and an empty document
        ("# header\n---\n---\n" + DEPLOYMENT, 1),
    ],
    ids=["merge-key", "yaml11-vs-12", "directive", "lone-cr", "document-end", "empty"],
)
def test_where_the_fast_reader_is_unsure_ruamel_reads(text: str, reread: int) -> None:
    fast = manifests.inject_text(text, "x", NAME, HELD)
    assert fast.reread == reread
    slow = full(text)
    assert fast.after == slow.after and fast.left_alone == slow.left_alone
    assert [c.action for c in fast.changes] == ["added"]


def test_a_duplicate_key_is_refused_even_in_a_document_without_pod_spec() -> None:
    text = DEPLOYMENT + "---\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: x\n  a: y\n"
    with pytest.raises(InputError) as caught:
        manifests.inject_text(text, "f.yaml", NAME, HELD)
    assert caught.value.message == "f.yaml: at line 16 column 3: duplicate key"


def test_a_kind_the_two_yaml_versions_read_apart_goes_to_ruamel() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yes\n---\n" + DEPLOYMENT
    fast = manifests.inject_text(text, "x", NAME, HELD)
    assert fast.left_alone[0].title == "ConfigMap/yes"  # YAML 1.2's reading, not 1.1's True
    assert fast.left_alone == full(text).left_alone
