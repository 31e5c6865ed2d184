"""`imagePullSecrets` in Kubernetes manifests: find every pod template, add the Secret where it is needed.

Multi-document files are edited in place through `yamledit` (so comments, anchors, key order and the
other documents are kept byte for byte), and the result is parsed again and compared with what was
meant before anything is written. Running it twice changes nothing the second time; a secret already
listed is never dropped; a document without a pod template is left untouched.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode

from private_registries.deploy import yamledit
from private_registries.errors import InputError, RegistriesError
from private_registries.fsutil import atomic_write
from private_registries.images import image_server

KEY = "imagePullSecrets"
# kind -> where its pod spec is
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Target:
    """One object that may get the Secret: a workload's pod spec, or a ServiceAccount."""

    document: int
    path: Path_  # to the mapping that holds imagePullSecrets
    kind: str
    name: str
    images: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Change:
    target: Target
    action: str  # "added", "present", "skipped"
    reason: str = ""


@dataclass
class FileResult:
    path: Path
    before: str
    after: str
    changes: list[Change] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # documents with no pod template

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        name = str(self.path)
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )


def images_of(pod_spec: object) -> list[str]:
    if not isinstance(pod_spec, Mapping):
        return []
    found = []
    for key in CONTAINER_KEYS:
        containers = pod_spec.get(key)
        if isinstance(containers, list):
            found += [
                c["image"] for c in containers if isinstance(c, Mapping) and isinstance(c.get("image"), str)
            ]
    return found


def targets(
    documents: Sequence[yamledit.Document], *, service_accounts: bool
) -> tuple[list[Target], list[str]]:
    """The pod specs (and, if asked, ServiceAccounts) of a stream, and the titles of documents with none."""
    found: list[Target] = []
    untouched: list[str] = []
    for index, document in enumerate(documents):
        here = list(_targets_in(index, document.data, (), service_accounts))
        if here:
            found += here
        elif document.data is not None:
            untouched.append(_title(document.data))
    return found, untouched


def _targets_in(index: int, data: object, prefix: Path_, service_accounts: bool) -> Iterator[Target]:
    if not isinstance(data, Mapping):
        return
    kind = data.get("kind")
    if kind == "List" or (
        isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)
    ):
        for position, item in enumerate(data.get("items") or []):
            yield from _targets_in(index, item, (*prefix, "items", position), service_accounts)
        return
    name = _name(data)
    if kind == "ServiceAccount" and service_accounts:
        yield Target(index, prefix, kind, name, ())
        return
    path = POD_SPEC_PATHS.get(str(kind))
    if path is None:
        return
    spec: object = data
    for step in path:
        spec = spec.get(step) if isinstance(spec, Mapping) else None
    if isinstance(spec, Mapping):
        yield Target(index, (*prefix, *path), str(kind), name, tuple(images_of(spec)))


def _name(data: Mapping[str, Any]) -> str:
    metadata = data.get("metadata")
    if isinstance(metadata, Mapping):
        return str(metadata.get("name") or metadata.get("generateName") or "?")
    return "?"


def _title(data: object) -> str:
    if isinstance(data, Mapping) and data.get("kind"):
        return f"{data['kind']}/{_name(data)}"
    return "a document with no kind"


def secret_names(holder: object) -> list[str]:
    listed = holder.get(KEY) if isinstance(holder, Mapping) else None
    if not isinstance(listed, list):
        return []
    return [str(item.get("name")) for item in listed if isinstance(item, Mapping) and item.get("name")]


def inject_text(
    text: str,
    where: str,
    name: str,
    servers: Iterable[str],
    *,
    every_workload: bool = False,
    service_accounts: bool = False,
) -> tuple[str, list[Change], list[str]]:
    """`text` with `{name: NAME}` added to every pod spec that needs it; the changes; untouched documents.

    A workload needs it when one of its images comes from one of `servers` (or always, with
    `every_workload`). Raises InputError, naming `where` and the line, for what cannot be edited.
    """
    held = set(servers)
    documents = yamledit.parse(text, where)
    found, untouched = targets(documents, service_accounts=service_accounts)
    edits: list[yamledit.Edit] = []
    changes: list[Change] = []
    seen: set[int] = set()
    styles: dict[int, yamledit.Style] = {}
    for target in found:
        holder = _data_at(documents[target.document].data, target.path)
        node = yamledit.node_at(documents[target.document].node, target.path)
        needed = (
            target.kind == "ServiceAccount"
            or every_workload
            or any(image_server(image) in held for image in target.images)
        )
        if not needed:
            changes.append(Change(target, "skipped", "no image from a registry we hold"))
            continue
        listed = secret_names(holder)
        if id(node) in seen:  # an alias of a pod spec edited already
            changes.append(Change(target, "added", "its pod spec is an alias of one edited above"))
            continue
        if name in listed:
            changes.append(Change(target, "present"))
            continue
        if not isinstance(node, MappingNode):
            raise InputError(f"{where}: {target.title}: cannot find its pod spec in the text")
        seen.add(id(node))
        style = styles.setdefault(target.document, yamledit.style_of(documents[target.document].node, text))
        own = yamledit.own_key(node, KEY) is not None
        inherited = [] if own else [{"name": n} for n in listed]
        try:
            edits.append(yamledit.add_to_list(text, node, KEY, [{"name": name}], style, inherited=inherited))
        except InputError as error:
            raise InputError(f"{where}: {target.title}: {error.message}", hint=error.hint) from None
        changes.append(Change(target, "added"))
    after = yamledit.apply(text, edits)
    if edits:
        _verify(text, after, where, name, [c.target for c in changes if c.action == "added"])
    return after, changes, untouched


def _data_at(data: object, path: Path_) -> object:
    for step in path:
        if isinstance(data, Mapping) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


def _verify(before: str, after: str, where: str, name: str, added: Sequence[Target]) -> None:
    """The edited text must parse to exactly the old data plus the new entries, or nothing is written."""
    expected = [d.data for d in yamledit.parse(before, where)]
    done: set[int] = set()
    for target in added:
        holder = _data_at(expected[target.document], target.path)
        if isinstance(holder, dict) and id(holder) not in done:
            done.add(id(holder))
            holder[KEY] = [*(holder.get(KEY) or []), {"name": name}]
    try:
        actual = [d.data for d in yamledit.parse(after, where)]
    except InputError:
        actual = None
    if actual != expected:
        raise RegistriesError(
            f"{where}: the edit did not come out as intended; the file was left as it is",
            hint="this is a bug in private-registries; please report it with the manifest's layout",
        )


def read(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # keep \r\n as it is
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder", hint="name the manifest files (a shell glob works)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def inject_files(
    paths: Sequence[Path],
    name: str,
    servers: Iterable[str],
    *,
    every_workload: bool = False,
    service_accounts: bool = False,
    dry_run: bool = False,
) -> list[FileResult]:
    """Patch every file (all are read and checked before the first is written); see `inject_text`."""
    servers = list(servers)
    results = []
    for path in paths:
        before = read(path)
        after, changes, untouched = inject_text(
            before,
            str(path),
            name,
            servers,
            every_workload=every_workload,
            service_accounts=service_accounts,
        )
        results.append(FileResult(path, before, after, changes, untouched))
    if not dry_run:
        for result in results:
            if result.changed:
                write(result.path, result.after)
    return results


def write(path: Path, text: str) -> None:
    """Replace `path` atomically, keeping its mode; a read-only file is refused, not overridden."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise InputError(f"{path} is read-only; it was left as it is", hint=f"chmod u+w {path}")
        atomic_write(path, text.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}; it was left as it is",
            hint="check that its folder is writable (the file is replaced through a temporary file there)",
        ) from None


def held_images(paths: Sequence[Path]) -> list[str]:
    """Every container image of the pod templates in these files (for `pull-secret --for`)."""
    images: list[str] = []
    for path in paths:
        documents = yamledit.parse(read(path), str(path))
        found, _ = targets(documents, service_accounts=False)
        images += [image for target in found for image in target.images]
    return images


def relative(path: Path) -> str:
    """A path as the user gave it, or relative to here when that is shorter."""
    try:
        shorter = os.path.relpath(path)
    except ValueError:
        return str(path)
    return shorter if len(shorter) < len(str(path)) else str(path)
