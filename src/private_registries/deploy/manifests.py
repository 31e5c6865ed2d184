"""`imagePullSecrets` in Kubernetes manifests: find every pod template, add the Secret where it is needed.

Which objects have a pod spec, and where, is the table of `workloads` (the built-in workload kinds,
well-known operators' custom resources, and any the user names). Files are edited in place through
`yamledit`, so comments, anchors, key order and the other documents are kept byte for byte, and the
result is parsed again and compared with what was meant before anything is written. Running it twice
changes nothing the second time; a secret already listed is never dropped; an object without a pod
template is left untouched, and said so, with the reason.

Big files (an operator's install manifest is mostly CustomResourceDefinitions) are read first with
PyYAML's C loader, which only picks the documents that may hold a workload; just those are read
again with ruamel.yaml (positions, YAML 1.2) and edited. A document the fast reader might read
otherwise than ruamel.yaml (duplicate or merge keys, a kind or name YAML 1.1 and 1.2 disagree on)
is read with ruamel.yaml too; a file that cannot be split into documents by their `---` lines
with certainty (directives, unusual line breaks, a fast-reader error) is read wholly with ruamel.yaml.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from private_registries import yamlbounds
from private_registries.deploy import yamledit
from private_registries.deploy.workloads import (
    POD_IMAGES,
    Table,
    WorkloadKind,
    dotted,
    expand,
    images,
    is_custom,
    looks_like_pod_specs,
)
from private_registries.errors import InputError, Location, RegistriesError
from private_registries.fsutil import TooLarge, atomic_write, read_bounded
from private_registries.images import image_server

KEY = "imagePullSecrets"

Path_ = tuple[str | int, ...]

NO_POD_TEMPLATE = "no pod template"
UNKNOWN_CUSTOM = "a custom resource whose kind is not in the workload table"
NO_HELD_IMAGE = "no image from a registry we hold"
NO_IMAGE = "it names no image in this file"


@dataclass(frozen=True)
class Target:
    """One object that may get the Secret: a workload's pod spec, or a ServiceAccount."""

    document: int
    path: Path_  # to the mapping that holds imagePullSecrets (its last `create` keys are not there yet)
    kind: str
    name: str
    images: tuple[str, ...]
    api_version: str = ""
    create: tuple[str, ...] = ()  # mappings to write around the list (Tekton's podTemplate)
    workload: WorkloadKind | None = None  # the table entry that found it; None for a ServiceAccount

    @property
    def title(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def where(self) -> str:
        """The dotted path of its imagePullSecrets, for `--verbose`."""
        return dotted((*self.path, KEY))


@dataclass
class Change:
    target: Target
    action: str  # "added", "present", "skipped"
    reason: str = ""


@dataclass(frozen=True)
class Untouched:
    """An object left as it was because it has no pod spec we know of, and why."""

    document: int
    kind: str  # "" for a document with no kind
    name: str
    api_version: str
    reason: str
    custom: bool = False  # an object of an API group that Kubernetes itself does not serve
    pod_specs: tuple[str, ...] = ()  # for a custom resource: where it seems to hold pod specs

    @property
    def title(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else "a document with no kind"

    @property
    def hint(self) -> str | None:
        """For a custom resource that seems to hold a pod spec: the table entry that would patch it."""
        if not (self.custom and self.pod_specs):
            return None
        group = self.api_version.rpartition("/")[0]
        return " or ".join(f"{self.kind}.{group}={path}" for path in self.pod_specs)


@dataclass
class FileResult:
    path: Path
    before: str
    after: str
    changes: list[Change] = field(default_factory=list)
    left_alone: list[Untouched] = field(default_factory=list)  # objects with no pod spec we patch
    documents: int = 0  # documents in the file
    reread: int = 0  # documents read with ruamel.yaml (all of them when the fast reader was not used)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def untouched(self) -> list[str]:
        """The titles of the objects left alone (`Kind/name`)."""
        return [u.title for u in self.left_alone]

    @property
    def added(self) -> list[Change]:
        """The workloads changed (or, with a dry run, that would be)."""
        return [c for c in self.changes if c.action == "added"]

    @property
    def kept(self) -> list[Change]:
        """Workloads left as they were: the Secret is there already, or they do not need it."""
        return [c for c in self.changes if c.action != "added"]

    @property
    def custom_left_alone(self) -> list[Untouched]:
        return [u for u in self.left_alone if u.custom]

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
    """The images a pod spec pulls: its containers' and its image volumes'."""
    return images(pod_spec, POD_IMAGES)


def examine(
    index: int, data: object, table: Table, *, service_accounts: bool
) -> tuple[list[Target], list[Untouched]]:
    """The pod specs (and, if asked, the ServiceAccount) of one document, and the objects left alone."""
    found = _Found(index, table, service_accounts)
    found.document(data, ())
    return found.targets, found.left


@dataclass
class _Found:
    index: int
    table: Table
    service_accounts: bool
    targets: list[Target] = field(default_factory=list)
    left: list[Untouched] = field(default_factory=list)

    def document(self, data: object, prefix: Path_) -> None:
        if data is None:
            return
        if not isinstance(data, Mapping):
            self.left.append(Untouched(self.index, "", "", "", "not a Kubernetes object"))
        elif _is_list(data):
            for position, item in enumerate(data["items"]):
                self.document(item, (*prefix, "items", position))
        else:
            self.object(data, prefix)

    def object(self, data: Mapping[str, Any], prefix: Path_) -> None:
        kind, name = data.get("kind"), _name(data)
        api_version = data.get("apiVersion")
        version = api_version if isinstance(api_version, str) else ""
        if not isinstance(kind, str) or not kind:
            self.left.append(Untouched(self.index, "", name, version, "a document with no kind"))
            return
        if kind == "ServiceAccount" and not is_custom(api_version):
            if self.service_accounts:
                self.targets.append(Target(self.index, prefix, kind, name, (), version))
            else:
                self.left.append(Untouched(self.index, kind, name, version, NO_POD_TEMPLATE))
            return
        entries = self.table.lookup(kind, api_version)
        if not entries:
            custom = is_custom(api_version)
            shapes = tuple(looks_like_pod_specs(data)) if custom else ()
            reason = UNKNOWN_CUSTOM if custom else NO_POD_TEMPLATE
            self.left.append(Untouched(self.index, kind, name, version, reason, custom, shapes))
            return
        before = len(self.targets)
        for entry in entries:
            for path, create in _holders(data, entry):
                if entry.images:
                    pulled = images(data, entry.images)
                else:
                    pulled = [] if create else images_of(_data_at(data, path))
                target = Target(
                    self.index, (*prefix, *path), kind, name, tuple(pulled), version, create, entry
                )
                self.targets.append(target)
        if len(self.targets) == before:
            reason = "no pod spec at " + " or ".join(dotted(e.pod_spec) for e in entries)
            self.left.append(Untouched(self.index, kind, name, version, reason, is_custom(api_version)))


def _holders(data: object, entry: WorkloadKind) -> Iterator[tuple[Path_, tuple[str, ...]]]:
    """Where an entry's pod specs are in `data`, with the trailing keys still to be written."""
    fixed = entry.pod_spec[: len(entry.pod_spec) - entry.create]
    optional = entry.pod_spec[len(fixed) :]
    for path in expand(data, fixed):
        node: object = _data_at(data, path)
        if not isinstance(node, Mapping):
            continue
        missing: tuple[str, ...] = ()
        for position, step in enumerate(optional):
            if step not in node:
                missing = optional[position:]
                break
            node = node[step]
            if not isinstance(node, Mapping):
                break
        else:
            yield (*path, *optional), ()
            continue
        if missing:
            yield (*path, *optional), missing


def _is_list(data: Mapping[str, Any]) -> bool:
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), list)


def _name(data: Mapping[str, Any]) -> str:
    metadata = data.get("metadata")
    if isinstance(metadata, Mapping):
        return str(metadata.get("name") or metadata.get("generateName") or "?")
    return "?"


def secret_names(holder: object) -> list[str]:
    listed = holder.get(KEY) if isinstance(holder, Mapping) else None
    if not isinstance(listed, list):
        return []
    return [str(item.get("name")) for item in listed if isinstance(item, Mapping) and item.get("name")]


# -- reading a stream: the fast reader picks, ruamel.yaml reads what is picked --------------------------

_MARKER = re.compile(r"^---(?=[ \t\r\n]|\Z)", re.MULTILINE)
# What makes splitting at `---` lines uncertain: directives, and line breaks other than \n and \r\n.
_UNUSUAL = re.compile(r"^%|\r(?!\n)|[\x85\u2028\u2029]", re.MULTILINE)
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVER_12 = VersionedResolver(version=(1, 2))
_STR = "tag:yaml.org,2002:str"


class _FastLoader(yaml.CSafeLoader):  # type: ignore[misc, name-defined, unused-ignore]
    """PyYAML's C loader that also notes each document's root node and its merge and duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.roots: list[tuple[int, int, bool]] = []  # start, end, is an empty scalar
        self.doubtful: set[int] = set()

    def construct_document(self, node: Any) -> Any:
        empty = isinstance(node, yaml.ScalarNode) and node.start_mark.index == node.end_mark.index
        self.roots.append((node.start_mark.index, node.end_mark.index, empty))
        return super().construct_document(node)

    def flatten_mapping(self, node: Any) -> None:
        for key, _ in node.value:
            if key.tag == _MERGE:
                self.doubtful.add(len(self.roots) - 1)
                break
        super().flatten_mapping(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):  # a duplicate key: the C loader keeps the last
            self.doubtful.add(len(self.roots) - 1)
        return mapping


@dataclass
class _Part:
    """A stretch of the text read with ruamel.yaml on its own: one document, or the whole stream."""

    start: int
    end: int
    first: int  # the file's index of its first document
    data: list[Any] | None = None  # what the fast reader made of it (None: not read fast)
    doubtful: bool = False


class _Fallback(Exception):
    """The fast split does not hold for this text: read it all with ruamel.yaml."""


def _fast_parts(text: str) -> list[_Part] | None:
    """One part per document (`---` line to `---` line), as read by PyYAML's C loader; None when unsure."""
    if not getattr(yaml, "__with_libyaml__", False) or _UNUSUAL.search(text):
        return None
    loader = _FastLoader(text)
    try:
        data = []
        while loader.check_data():  # type: ignore[no-untyped-call]
            data.append(loader.get_data())
    except Exception:  # whatever the fast reader trips on, ruamel.yaml reads (or explains)
        return None
    finally:
        loader.dispose()
    bounds = [0, *(m.start() for m in _MARKER.finditer(text)), len(text)]
    spans = list(itertools.pairwise(bounds))
    if spans and spans[0][0] == spans[0][1] and len(data) == len(spans) - 1:
        spans = spans[1:]  # the text starts with `---`
    elif len(data) == len(spans) - 1:
        spans = spans[1:]  # what comes before the first `---` holds no document (comments)
    if len(data) != len(spans):
        return None
    bom = 1 if text.startswith("\ufeff") else 0  # libyaml does not count it
    for (start, end), (root, _, empty) in zip(spans, loader.roots, strict=True):
        if not empty and not start <= root + bom < end:
            return None
    return [
        _Part(start, end, index, [value], index in loader.doubtful)
        for index, ((start, end), value) in enumerate(zip(spans, data, strict=True))
    ]


def _ambiguous(value: object) -> bool:
    """A value YAML 1.1 (the fast reader) and 1.2 (ruamel.yaml) might read differently, written plain."""
    if value is None:
        return False
    if not isinstance(value, str):
        return True
    return bool(value) and _RESOLVER_12.resolve(ScalarNode, value, (True, False)) != _STR


def _pick(data: object, table: Table, service_accounts: bool) -> bool:
    """Whether ruamel.yaml must read a document: it may hold a pod spec, or the fast reading is unsure."""
    if not isinstance(data, Mapping):
        return False
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if _ambiguous(kind) or _ambiguous(data.get("apiVersion")) or _ambiguous(name):
        return True
    if _is_list(data):
        return any(_pick(item, table, service_accounts) for item in data["items"])
    if kind == "ServiceAccount":
        return service_accounts
    return bool(table.lookup(kind, data.get("apiVersion")))


def _read(text: str, where: str, part: _Part, fast: bool) -> list[yamledit.Document]:
    if not fast:
        return yamledit.parse(text, where)
    try:
        documents = yamledit.parse(text, where, start=part.start, end=part.end)
    except RegistriesError:  # say it as the whole file's reading says it
        raise _Fallback from None
    if len(documents) != 1:
        raise _Fallback
    return documents


@dataclass
class _Scan:
    """A stream, examined: ruamel.yaml's documents for the parts that were read, the objects left alone."""

    parts: list[tuple[_Part, list[yamledit.Document]]]
    found: list[Target]
    left: list[Untouched]
    documents: int
    reread: int


def _scan(text: str, where: str, table: Table, *, service_accounts: bool, fast: bool = True) -> _Scan:
    if fast:  # once, before either reader builds anything (the ruamel.yaml parts check themselves too)
        yamlbounds.check(text, where, reader=yamledit.events)
    split = _fast_parts(text) if fast else None
    fast = split is not None
    parts = split or [_Part(0, len(text), 0)]
    read: list[tuple[_Part, list[yamledit.Document]]] = []
    found: list[Target] = []
    left: list[Untouched] = []
    count = reread = 0
    try:
        for part in parts:
            if part.data is not None and not (part.doubtful or _pick(part.data[0], table, service_accounts)):
                _, alone = examine(part.first, part.data[0], table, service_accounts=service_accounts)
                left += alone  # (and no target: it would have been picked)
                count += 1
                continue
            documents = _read(text, where, part, fast)
            read.append((part, documents))
            for offset, document in enumerate(documents):
                here, alone = examine(
                    part.first + offset, document.data, table, service_accounts=service_accounts
                )
                found += here
                left += alone
            count += len(documents)
            reread += len(documents)
    except _Fallback:
        return _scan(text, where, table, service_accounts=service_accounts, fast=False)
    return _Scan(read, found, left, count, reread)


# -- editing ------------------------------------------------------------------------------------------


@dataclass
class TextResult:
    after: str
    changes: list[Change]
    left_alone: list[Untouched]
    documents: int
    reread: int


def inject_text(
    text: str,
    where: str,
    name: str,
    servers: Iterable[str],
    *,
    every_workload: bool = False,
    service_accounts: bool = False,
    extra_kinds: Sequence[WorkloadKind | str] = (),
) -> TextResult:
    """`text` with `{name: NAME}` added to every pod spec that needs it; the changes; the objects left alone.

    A workload needs it when one of its images (containers, image volumes) comes from one of
    `servers` (or always, with `every_workload`). `extra_kinds` add to the table of workload kinds
    (`KIND[.GROUP]=path.to.podSpec`, see `workloads.parse_kind`). Raises InputError, naming `where`
    and the line, for what cannot be edited, and RegistriesError when the edit would not read back
    as meant (then nothing is written).
    """
    table = Table.with_extra(extra_kinds)
    scan = _scan(text, where, table, service_accounts=service_accounts)
    editor = _Editor(text, where, name, set(servers), every_workload)
    for part, documents in scan.parts:
        for offset in range(len(documents)):
            editor.documents[part.first + offset] = (part, documents)
    changes = [editor.change(target) for target in scan.found]
    pieces: list[str] = []
    at = 0
    for part, documents in scan.parts:
        edits = editor.edits.get(part.start)
        if not edits:
            continue
        new = yamledit.apply(text[part.start : part.end], [_moved(e, -part.start) for e in edits])
        _verify(new, where, name, (part, documents), editor.added[part.start])
        pieces += [text[at : part.start], new]
        at = part.end
    after = "".join([*pieces, text[at:]]) if pieces else text
    if pieces and len(_MARKER.findall(after)) != len(_MARKER.findall(text)):
        raise RegistriesError(f"{where}: {NOT_AS_MEANT}", hint=BUG)
    return TextResult(after, changes, scan.left, scan.documents, scan.reread)


NOT_AS_MEANT = "the edit did not come out as intended; the file was left as it is"
BUG = "this is a bug in private-registries; please report it with the manifest's layout"


@dataclass
class _Editor:
    """Decides, target by target, what to do, and makes the edits (kept by the start of their part)."""

    text: str
    where: str
    name: str
    held: set[str]
    every_workload: bool
    documents: dict[int, tuple[_Part, list[yamledit.Document]]] = field(default_factory=dict)
    edits: dict[int, list[yamledit.Edit]] = field(default_factory=dict)
    added: dict[int, list[Target]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    styles: dict[int, yamledit.Style] = field(default_factory=dict)

    def change(self, target: Target) -> Change:
        part, documents = self.documents[target.document]
        document = documents[target.document - part.first]
        needed = (
            target.kind == "ServiceAccount"
            or self.every_workload
            or any(image_server(image) in self.held for image in target.images)
        )
        if not needed:
            return Change(target, "skipped", NO_HELD_IMAGE if target.images else NO_IMAGE)
        node = yamledit.node_at(document.node, _existing(target))
        listed = [] if target.create else secret_names(_data_at(document.data, target.path))
        if id(node) in self.seen and not target.create:  # an alias of a pod spec edited already
            return Change(target, "added", "its pod spec is an alias of one edited above")
        if self.name in listed:
            return Change(target, "present")
        if not isinstance(node, MappingNode):
            raise InputError(f"{self.where}: {target.title}: cannot find its pod spec in the text")
        self.seen.add(id(node))
        if target.document not in self.styles:
            newline = "\r\n" if "\r\n" in self.text else "\n"
            self.styles[target.document] = yamledit.style_of(document.node, "", newline)
        own = yamledit.own_key(node, KEY) is not None
        inherited = [] if own or target.create else [{"name": n} for n in listed]
        try:
            edit = yamledit.add_to_list(
                self.text,
                node,
                KEY,
                [{"name": self.name}],
                self.styles[target.document],
                inherited=inherited,
                within=target.create,
            )
        except InputError as error:
            where = Location(self.where, yamledit.line_of(node))
            raise InputError(
                f"{self.where}: {target.title}: {error.message}", hint=error.hint, where=where
            ) from None
        if not part.start <= edit.start <= edit.end <= part.end:
            raise RegistriesError(f"{self.where}: {target.title}: {NOT_AS_MEANT}", hint=BUG)
        self.edits.setdefault(part.start, []).append(edit)
        self.added.setdefault(part.start, []).append(target)
        return Change(target, "added")


def _existing(target: Target) -> Path_:
    """The path to the deepest mapping of a target that is there already."""
    return target.path[: len(target.path) - len(target.create)]


def _moved(edit: yamledit.Edit, by: int) -> yamledit.Edit:
    return yamledit.Edit(edit.start + by, edit.end + by, edit.text)


def _data_at(data: object, path: Path_) -> object:
    for step in path:
        if isinstance(data, Mapping) and isinstance(step, str):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


def _verify(
    after: str, where: str, name: str, read: tuple[_Part, list[yamledit.Document]], added: Sequence[Target]
) -> None:
    """The edited part must read back as exactly the old data plus the new entries, or nothing is written."""
    part, documents = read
    expected = copy.deepcopy([d.data for d in documents])  # one copy: aliases stay shared
    done: set[int] = set()
    for target in added:
        holder = _data_at(expected[target.document - part.first], _existing(target))
        if not isinstance(holder, dict):
            continue
        for step in target.create:
            holder = holder.setdefault(step, {})
        if id(holder) not in done:
            done.add(id(holder))
            holder[KEY] = [*(holder.get(KEY) or []), {"name": name}]
    try:
        actual = yamledit.load(after)
    except YAMLError:
        actual = None
    if actual != expected:
        raise RegistriesError(f"{where}: {NOT_AS_MEANT}", hint=BUG)


def read(path: Path) -> str:
    try:
        return read_bounded(path).decode("utf-8")  # bytes decoded as they are: \r\n kept
    except TooLarge as exc:
        raise InputError(f"cannot read the manifest: {exc}") from None
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
    extra_kinds: Sequence[WorkloadKind | str] = (),
) -> list[FileResult]:
    """Patch every file: all are read, checked, and found writable before the first is written, so a
    failure writes none (one met while writing puts back those written before it); see `inject_text`."""
    servers = list(servers)
    extra = Table.with_extra(extra_kinds).extra  # a wrong spec is refused before any file is read
    results = []
    for path in paths:
        before = read(path)
        done = inject_text(
            before,
            str(path),
            name,
            servers,
            every_workload=every_workload,
            service_accounts=service_accounts,
            extra_kinds=extra,
        )
        results.append(
            FileResult(path, before, done.after, done.changes, done.left_alone, done.documents, done.reread)
        )
    if not dry_run:
        changed = [result for result in results if result.changed]
        for result in changed:
            check_writable(result.path)
        _write_all(changed)
    return results


_FOLDER_HINT = "check that its folder is writable (the file is replaced through a temporary file there)"


def check_writable(path: Path) -> None:
    """Refuse (naming it) a file that `write` could not replace: read-only by its mode, or on a
    file system or in a folder that refuses the change (a read-only mount, an immutable file), which
    is tried for real: a temporary file is made in its folder and removed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise InputError(f"{path} is read-only; no file was written", hint=f"chmod u+w {path}")
        real = Path(os.path.realpath(path))
        os.close(os.open(real, os.O_WRONLY | os.O_NONBLOCK))  # opened, not written: nothing changes
        fd, probe = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}; no file was written",
            hint=_FOLDER_HINT,
        ) from None


def _write_all(results: Sequence[FileResult]) -> None:
    """Write each; if one fails all the same (a disk that filled since the check), put back the
    ones written before it, and say so."""
    done: list[FileResult] = []
    for result in results:
        try:
            write(result.path, result.after)
        except InputError as error:
            if not done:
                raise
            stuck = [str(written.path) for written in reversed(done) if not _put_back(written)]
            said = f"{error.message}; the files written before it were put back as they were"
            if stuck:
                stuck_files = ", ".join(stuck)
                said = f"{error.message}; of the files written before it, {stuck_files} could not be put back"
            raise InputError(said, hint=error.hint) from None
        done.append(result)


def _put_back(result: FileResult) -> bool:
    try:
        write(result.path, result.before)
    except InputError:
        return False
    return True


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
            hint=_FOLDER_HINT,
        ) from None


def held_images(paths: Sequence[Path], *, extra_kinds: Sequence[WorkloadKind | str] = ()) -> list[str]:
    """Every image the pod templates of these files pull, containers' and image volumes' (`--for`)."""
    extra = Table.with_extra(extra_kinds).extra
    return [image for path in paths for image in held_images_text(read(path), str(path), extra_kinds=extra)]


def held_images_text(
    text: str, where: str = "", *, extra_kinds: Sequence[WorkloadKind | str] = ()
) -> list[str]:
    """The images the pod templates of one stream pull (see `held_images`)."""
    scan = _scan(text, where, Table.with_extra(extra_kinds), service_accounts=False)
    return [image for target in scan.found for image in target.images]


def relative(path: Path) -> str:
    """A path as the user gave it, or relative to here when that is shorter."""
    try:
        shorter = os.path.relpath(path)
    except ValueError:
        return str(path)
    return shorter if len(shorter) < len(str(path)) else str(path)
