"""A merge: the multi-platform index of images pushed by digest (one build a platform, each on its
own runner), made with `docker buildx imagetools create` and pushed to every tag, with exactly the
credentials of the registries it reads and writes (a temporary DOCKER_CONFIG, as a build has)."""

from __future__ import annotations

import re
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


@dataclass(frozen=True, kw_only=True)
class MergeOptions:
    tags: Sequence[str]  # where the index goes (every tag gets it)
    # REPO@DIGEST, or a DIGEST alone: in the first tag's repository (where a push by digest of the
    # same tags went); a reference by tag is taken too, as imagetools takes it
    sources: Sequence[str]


@dataclass(frozen=True)
class MergeResult:
    tags: tuple[str, ...]
    sources: tuple[str, ...]  # each as a full reference
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> the index's digest

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


def merge(options: MergeOptions, keychain: Keychain, progress: Progress) -> MergeResult:
    sources = sources_of(options)
    tags = list(dict.fromkeys(tag.strip() for tag in options.tags))
    builder = builders.choose(Engine.BUILDKIT, keychain.context.env)
    from private_registries.builders.cli import CliBuilder

    if not isinstance(builder, CliBuilder):  # BUILDKIT gives the CLI's or nothing: never classic
        raise InputError("a merge needs the docker CLI's buildx plugin (its imagetools)")
    servers = [parse_image(reference).server for reference in [*tags, *sources]]
    credentials, failures = keychain.credentials(servers)
    if failures:
        raise Failures(failures)
    pushed = builder.imagetools_create(tags, sources, credentials, progress)
    return MergeResult(tuple(tags), tuple(sources), pushed)
