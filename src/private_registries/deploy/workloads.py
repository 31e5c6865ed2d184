"""Where each kind of workload keeps its pod spec: the table `inject` and `pull-secret --for` read.

A pod spec is found only where a known kind puts it (never by guessing), and a kind is matched on its
apiVersion group as well as its name: a Knative `Service` has a pod spec, a core `Service` has none.
The table holds the built-in workload kinds and the custom resources of well-known operators; more
can be named on the command line as `KIND[.VERSION][.GROUP]=path.to.podSpec` (`parse_kind`).

Paths are tuples of mapping keys; the step `*` stands for every item of a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from private_registries.errors import InputError

Step = str
Path_ = tuple[Step, ...]
EACH = "*"

# What a pod spec names as images: its containers' and its image volumes' (the kubelet pulls both
# with the pod's imagePullSecrets).
POD_IMAGES: tuple[Path_, ...] = (
    ("initContainers", EACH, "image"),
    ("containers", EACH, "image"),
    ("ephemeralContainers", EACH, "image"),
    ("volumes", EACH, "image", "reference"),
)

# The API groups of Kubernetes itself: an object of another group is a custom resource.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


@dataclass(frozen=True)
class WorkloadKind:
    """A kind whose objects hold a pod spec (or a pod template that takes imagePullSecrets) at `pod_spec`.

    `group` None matches every group, `version` None every version. `images` are paths from the
    object's root; empty means the pod spec's own (`POD_IMAGES` under `pod_spec`). `create` is how many
    trailing steps of `pod_spec` may be written when missing (Tekton's optional podTemplate).
    """

    kind: str
    group: str | None
    pod_spec: Path_
    version: str | None = None
    images: tuple[Path_, ...] = ()
    create: int = 0

    @property
    def image_paths(self) -> tuple[Path_, ...]:
        return self.images or tuple((*self.pod_spec, *path) for path in POD_IMAGES)

    @property
    def builtin(self) -> bool:
        return self.group is not None and self.group in BUILTIN_GROUPS

    def __str__(self) -> str:
        name = ".".join(part for part in (self.kind, self.version, self.group) if part)
        return f"{name}={dotted(self.pod_spec)}"


def dotted(path: Iterable[str | int]) -> str:
    """`spec.template.spec`; a list step as `[]` (every item) or `[2]` (one)."""
    text = ""
    for step in path:
        if step == EACH:
            text += "[]"
        elif isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_GROUP = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_STEP = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
# Words YAML 1.1 reads as booleans or null: a key written so is not the string (`on:` is True).
_NOT_STRINGS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})
EXAMPLE = "Rollout.argoproj.io=spec.template.spec"


def _steps(path: str) -> Path_:
    steps: list[Step] = []
    for part in path.split("."):
        name, brackets = part, 0
        while name.endswith("[]"):
            name, brackets = name[:-2], brackets + 1
        if name == EACH:
            steps.append(EACH)
            continue
        if not _STEP.fullmatch(name) or name.lower() in _NOT_STRINGS:
            raise ValueError(part)
        steps += [name] + [EACH] * brackets
    return tuple(steps)


def _pod(kind: str, group: str | None, path: str, **more: object) -> WorkloadKind:
    return WorkloadKind(kind, group, _steps(path), **more)  # type: ignore[arg-type]


_TEMPLATE = "spec.template.spec"
# Argo Workflows: a WorkflowSpec takes imagePullSecrets for every pod of the workflow; its images are
# in its templates (container, script, containerSet, init containers and sidecars) and image volumes.
_ARGO_IMAGES = (
    ("templates", EACH, "container", "image"),
    ("templates", EACH, "script", "image"),
    ("templates", EACH, "containerSet", "containers", EACH, "image"),
    ("templates", EACH, "initContainers", EACH, "image"),
    ("templates", EACH, "sidecars", EACH, "image"),
    ("volumes", EACH, "image", "reference"),
)
# Tekton: a TaskRun's or PipelineRun's pod template (pod.Template) takes imagePullSecrets; the images
# are the steps and sidecars of the embedded Task specs (a taskRef names none here).
_TASK_IMAGES = (
    ("steps", EACH, "image"),
    ("sidecars", EACH, "image"),
    ("stepTemplate", "image"),
)


def _under(prefix: Path_, paths: Iterable[Path_]) -> tuple[Path_, ...]:
    return tuple((*prefix, *path) for path in paths)


_PIPELINE_TASKS = tuple(
    (*prefix, *path)
    for section in ("tasks", "finally")
    for prefix in [("spec", "pipelineSpec", section, EACH, "taskSpec")]
    for path in _TASK_IMAGES
)
_TEKTON_POD = ("podTemplate", "volumes", EACH, "image", "reference")

BUILTIN: tuple[WorkloadKind, ...] = (
    # Kubernetes
    _pod("Pod", "", "spec"),
    _pod("PodTemplate", "", "template.spec"),
    _pod("ReplicationController", "", _TEMPLATE),
    *(_pod(kind, "apps", _TEMPLATE) for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")),
    *(_pod(kind, "extensions", _TEMPLATE) for kind in ("Deployment", "DaemonSet", "ReplicaSet")),
    _pod("Job", "batch", _TEMPLATE),
    _pod("CronJob", "batch", "spec.jobTemplate.spec.template.spec"),
    # Argo Rollouts
    _pod("Rollout", "argoproj.io", _TEMPLATE),
    # Argo Workflows
    *(
        _pod(kind, "argoproj.io", "spec", images=_under(("spec",), _ARGO_IMAGES))
        for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
    ),
    _pod(
        "CronWorkflow",
        "argoproj.io",
        "spec.workflowSpec",
        images=_under(("spec", "workflowSpec"), _ARGO_IMAGES),
    ),
    # Knative Serving and Eventing
    _pod("Service", "serving.knative.dev", _TEMPLATE),
    _pod("Configuration", "serving.knative.dev", _TEMPLATE),
    _pod("Revision", "serving.knative.dev", "spec"),
    _pod("ContainerSource", "sources.knative.dev", _TEMPLATE),
    # OpenKruise: CloneSet, Advanced StatefulSet and DaemonSet, BroadcastJob, AdvancedCronJob
    *(
        _pod(kind, "apps.kruise.io", _TEMPLATE)
        for kind in ("CloneSet", "StatefulSet", "DaemonSet", "BroadcastJob")
    ),
    _pod("AdvancedCronJob", "apps.kruise.io", "spec.template.jobTemplate.spec.template.spec"),
    _pod("AdvancedCronJob", "apps.kruise.io", "spec.template.broadcastJobTemplate.spec.template.spec"),
    # KEDA: jobTargetRef is a batch/v1 JobSpec
    _pod("ScaledJob", "keda.sh", "spec.jobTargetRef.template.spec"),
    # Kubernetes SIGs: JobSet, LeaderWorkerSet
    _pod("JobSet", "jobset.x-k8s.io", "spec.replicatedJobs[].template.spec.template.spec"),
    _pod("LeaderWorkerSet", "leaderworkerset.x-k8s.io", "spec.leaderWorkerTemplate.leaderTemplate.spec"),
    _pod("LeaderWorkerSet", "leaderworkerset.x-k8s.io", "spec.leaderWorkerTemplate.workerTemplate.spec"),
    # Crossplane: the Deployment that runs a Provider's or a Function's package
    _pod("DeploymentRuntimeConfig", "pkg.crossplane.io", "spec.deploymentTemplate.spec.template.spec"),
    # Tekton
    _pod(
        "TaskRun",
        "tekton.dev",
        "spec.podTemplate",
        images=(*_under(("spec", "taskSpec"), _TASK_IMAGES), ("spec", *_TEKTON_POD)),
        create=1,
    ),
    _pod(
        "PipelineRun",
        "tekton.dev",
        "spec.taskRunTemplate.podTemplate",
        version="v1",
        images=(*_PIPELINE_TASKS, ("spec", "taskRunTemplate", *_TEKTON_POD)),
        create=2,
    ),
    *(
        _pod(
            "PipelineRun",
            "tekton.dev",
            "spec.podTemplate",
            version=version,
            images=(*_PIPELINE_TASKS, ("spec", *_TEKTON_POD)),
            create=1,
        )
        for version in ("v1beta1", "v1alpha1")
    ),
)


def parse_kind(spec: str) -> WorkloadKind:
    """`KIND[.VERSION][.GROUP]=path.to.podSpec` as a table entry, or an InputError that says what is wrong.

    Without GROUP the kind matches in every API group; a list step is written `[]` (`jobs[].spec`) or `*`.
    """
    usage = f"write KIND[.GROUP]=path.to.podSpec, e.g. {EXAMPLE}"
    name, equals, path = spec.partition("=")
    name, path = name.strip(), path.strip()
    if not equals or not name or not path:
        raise InputError(f"workload kind {spec!r}: no pod spec path", hint=usage)
    kind, _, rest = name.partition(".")
    if not _KIND.fullmatch(kind):
        raise InputError(
            f"workload kind {spec!r}: {kind!r} is not a kind name (letters and digits, as in Deployment)",
            hint=usage,
        )
    version: str | None = None
    group: str | None = None
    if rest:
        first, dot, tail = rest.partition(".")
        if dot and _VERSION.fullmatch(first):
            version, rest = first, tail
        if not _GROUP.fullmatch(rest):
            raise InputError(
                f"workload kind {spec!r}: {rest!r} is not an API group (lower-case DNS name, as argoproj.io)",
                hint=usage,
            )
        group = "" if rest == "core" else rest
    try:
        steps = _steps(path)
    except ValueError as exc:
        raise InputError(
            f"workload kind {spec!r}: {str(exc)!r} is not a field name of the path",
            hint=f"{usage}; fields are separated by dots, [] after a list (spec.jobs[].template.spec)",
        ) from None
    if steps[0] == EACH:
        raise InputError(f"workload kind {spec!r}: the path starts inside a list", hint=usage)
    return WorkloadKind(kind, group, steps, version=version)


def split_api_version(api_version: object) -> tuple[str | None, str | None]:
    """(group, version) of an apiVersion: `apps/v1` → (apps, v1), `v1` → ("", v1), none → (None, None)."""
    if not isinstance(api_version, str) or not api_version:
        return None, None
    group, slash, version = api_version.rpartition("/")
    return (group if slash else ""), version


@dataclass(frozen=True)
class Table:
    """The kinds to patch: the user's (first) and the built-in ones."""

    kinds: tuple[WorkloadKind, ...] = BUILTIN
    extra: tuple[WorkloadKind, ...] = ()

    @classmethod
    def with_extra(cls, extra: Sequence[WorkloadKind | str] = ()) -> Table:
        return cls(extra=tuple(parse_kind(e) if isinstance(e, str) else e for e in extra))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(k.kind for k in (*self.extra, *self.kinds))

    def lookup(self, kind: object, api_version: object) -> list[WorkloadKind]:
        """Every entry for this object, the most specific first (one kind can have several pod specs)."""
        if not isinstance(kind, str):
            return []
        group, version = split_api_version(api_version)
        for entries in (self.extra, self.kinds):
            found = [
                entry
                for entry in entries
                if entry.kind == kind
                and (entry.version is None or entry.version == version)
                and (
                    entry.group is None
                    or entry.group == group
                    # no apiVersion at all: a built-in kind as before (a patch, a fixture); not a CRD's
                    or (group is None and entry.builtin)
                )
            ]
            if found:
                best = max(_rank(entry) for entry in found)
                return [entry for entry in found if _rank(entry) == best]
        return []


def _rank(entry: WorkloadKind) -> tuple[bool, bool]:
    return entry.group is not None, entry.version is not None


def is_custom(api_version: object) -> bool:
    """An object of an API group that Kubernetes itself does not serve (a CRD's)."""
    group, _ = split_api_version(api_version)
    return group is not None and group not in BUILTIN_GROUPS


def expand(data: object, path: Path_, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The concrete paths (list steps as indexes) that `path` reaches in `data`, where all of it exists."""
    if not path:
        yield prefix
        return
    step, rest = path[0], path[1:]
    if step == EACH:
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from expand(item, rest, (*prefix, index))
    elif isinstance(data, Mapping) and step in data:
        yield from expand(data[step], rest, (*prefix, step))


def values(data: object, path: Path_) -> list[object]:
    found: list[object] = []
    for concrete in expand(data, path):
        value = data
        for step in concrete:
            value = value[step]  # type: ignore[index]
        found.append(value)
    return found


def images(data: object, paths: Iterable[Path_]) -> list[str]:
    return [value for path in paths for value in values(data, path) if isinstance(value, str) and value]


def looks_like_pod_specs(data: object, limit: int = 8) -> list[str]:
    """Dotted paths where an object seems to hold a pod spec (a `containers` list of mappings).

    Only a hint for a custom resource that no table entry names; nothing is edited on its strength.
    """
    found: list[str] = []

    def walk(node: object, path: tuple[str | int, ...], depth: int) -> None:
        if len(found) >= limit or depth > 12:
            return
        if isinstance(node, Mapping):
            containers = node.get("containers")
            if (
                path
                and isinstance(containers, list)
                and containers
                and all(isinstance(c, Mapping) for c in containers)
            ):
                found.append(dotted(EACH if isinstance(step, int) else step for step in path))
                return
            for key, value in node.items():
                if isinstance(key, str) and key not in ("status", "metadata"):
                    walk(value, (*path, key), depth + 1)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index), depth + 1)

    walk(data, (), 0)
    return list(dict.fromkeys(found))
