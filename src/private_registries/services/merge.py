"""A merge: the multi-platform index of images pushed by digest (one build a platform, each on its
own runner), made with `docker buildx imagetools create` and pushed to every tag, with exactly the
credentials of the registries it reads and writes (a temporary DOCKER_CONFIG, as a build has).

Annotations go on the index, or on its descriptors of the platforms' manifests. The manifests
themselves were pushed by their builds and cannot change here: buildx 0.13 refuses `manifest:`
annotations in a merge, and annotations with no level too ("" annotations are not supported yet),
where a build takes them for the manifest's. A merge reads those as the index's, the one object
it makes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from private_registries import builders
from private_registries.builders import Engine, Progress
from private_registries.errors import Failures, InputError
from private_registries.images import is_digest, parse_image
from private_registries.keychain import Keychain
from private_registries.text import cut

# algorithm:hex, loosely: what was meant as a digest (a short or mistyped one is refused as such)
_DIGEST_LIKE = re.compile(r"^[a-z0-9]+:[0-9a-fA-F]*$")
# An annotation's level, as buildx writes it: a type and, optionally, the platforms it is for.
_LEVEL = re.compile(r"^(?P<type>[a-z-]*)(?P<platforms>\[[^\]]*\])?$")
_MERGE_LEVELS = ("index", "manifest-descriptor")  # what imagetools create can annotate
_NOT_MERGED = {  # the levels it cannot, and why
    "manifest": "the platforms' manifests were pushed by their builds; the index points at them as they are",
    "index-descriptor": "that is a descriptor of the index in an OCI layout, which a merge does not write",
}


@dataclass(frozen=True, kw_only=True)
class MergeOptions:
    tags: Sequence[str]  # where the index goes (every tag gets it)
    # REPO@DIGEST, or a DIGEST alone: in the first tag's repository (where a push by digest of the
    # same tags went); a reference by tag is taken too, as imagetools takes it
    sources: Sequence[str]
    # KEY=VALUE, or LEVEL:KEY=VALUE as a build takes them (metadata-action's annotations output);
    # with no level, the index's
    annotations: Sequence[str] = ()


@dataclass(frozen=True)
class MergeResult:
    tags: tuple[str, ...]
    sources: tuple[str, ...]  # each as a full reference
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> the index's digest
    annotations: tuple[str, ...] = ()  # as buildx got them, each with its level
    seconds: float = 0.0

    @property
    def digest(self) -> str:
        return next(iter(self.pushed.values()), "")


def sources_of(options: MergeOptions) -> list[str]:
    """The sources as full references (a digest alone in the first tag's repository), each once;
    refused, naming it, when one is neither a digest nor a reference, or when there is nothing."""
    if not options.tags:
        raise InputError(
            "a merge needs a tag to push the index to",
            hint="name it: -t registry.example.org/team/app:1 (the digests' repository, unless they are "
            "full references)",
        )
    tags = [parse_image(tag, f"tag {tag!r}") for tag in options.tags]
    for tag, image in zip(options.tags, tags, strict=True):
        if image.digest:
            raise InputError(f"tag {cut(tag)}: an index is pushed to a tag, not to a digest")
    repository = f"{tags[0].server}/{tags[0].repository}"
    found: list[str] = []
    for text in (item.strip() for item in options.sources):
        if not text:
            continue
        if is_digest(text):
            found.append(f"{repository}@{text}")
            continue
        if _DIGEST_LIKE.match(text):
            raise InputError(
                f"{cut(text)} is not a digest",
                hint="a digest is sha256: and 64 hex digits, as a build prints it",
            )
        found.append(str(parse_image(text, f"image {text!r} (to merge)")))
    if not found:
        raise InputError(
            "a merge needs the images to merge: their digests (sha256:...) or references (REPO@sha256:...)",
            hint="each build that pushed by digest printed `Pushed REPO@sha256:...` "
            "(the action: its digest output)",
        )
    return list(dict.fromkeys(found))


def merge_annotations(annotations: Sequence[str]) -> list[str]:
    """The annotations as imagetools create takes them: one level each (a build's
    `index,manifest-descriptor:` is split), none given read as `index:`; refused, naming the line
    and the fix, when one has no `=`, no key, or a level a merge cannot annotate."""
    found: list[str] = []
    for number, line in enumerate(annotations, 1):
        text = line.strip()
        if not text:
            continue
        name, equals, value = text.partition("=")
        levels, colon, key = name.partition(":") if ":" in name else ("", "", name)
        where = f"annotation {number} ({cut(text)})"
        if not equals or not key.strip():
            raise InputError(
                f"{where}: expected KEY=VALUE", hint="e.g. index:org.opencontainers.image.title=app"
            )
        for level in levels.split(",") if colon else ["index"]:
            matched = _LEVEL.match(level.strip())
            kind = matched["type"] if matched else ""
            if kind in _NOT_MERGED:
                raise InputError(
                    f"{where}: a merge cannot set {kind} annotations: {_NOT_MERGED[kind]}",
                    hint="give it to the builds; for the index write index:KEY=VALUE (metadata-action: set "
                    "DOCKER_METADATA_ANNOTATIONS_LEVELS: index in the merge job)",
                )
            if kind not in _MERGE_LEVELS:
                raise InputError(
                    f"{where}: {cut(level, 40)} is not an annotation level",
                    hint="a merge takes index:KEY=VALUE and manifest-descriptor:KEY=VALUE "
                    "(manifest-descriptor[linux/arm64]: for one platform's)",
                )
            found.append(f"{level.strip()}:{key}={value}")
    return list(dict.fromkeys(found))


def merge(options: MergeOptions, keychain: Keychain, progress: Progress) -> MergeResult:
    sources = sources_of(options)
    annotations = merge_annotations(options.annotations)
    tags = list(dict.fromkeys(tag.strip() for tag in options.tags))
    builder = builders.choose(Engine.BUILDKIT, keychain.context.env)
    from private_registries.builders.cli import CliBuilder

    if not isinstance(builder, CliBuilder):  # BUILDKIT gives the CLI's or nothing: never classic
        raise InputError("a merge needs the docker CLI's buildx plugin (its imagetools)")
    servers = [parse_image(reference).server for reference in [*tags, *sources]]
    credentials, failures = keychain.credentials(servers)
    if failures:
        raise Failures(failures)
    began = time.monotonic()
    pushed = builder.imagetools_create(tags, sources, credentials, progress, annotations=annotations)
    return MergeResult(
        tuple(tags), tuple(sources), pushed, tuple(annotations), seconds=time.monotonic() - began
    )
