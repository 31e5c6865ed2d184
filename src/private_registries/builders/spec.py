"""What a build is asked for and gives back, and what an engine must do: the records the engines
(cli.py, classic.py) and the choice among them (__init__.py) share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from private_registries.credential import Credential
from private_registries.dockerfile import DockerfileOptions


class Engine(StrEnum):
    AUTO = "auto"
    BUILDKIT = "buildkit"
    CLASSIC = "classic"


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """What to make of the Dockerfile, beyond the Dockerfile itself (its path, args and target).

    The names are build-push-action's (and buildx's); each engine takes what it can (`Builder.refuses`).
    """

    tags: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    platforms: Sequence[str] = ()
    pull: bool = False
    no_cache: bool = False
    push: bool = False
    load: bool = False
    cache_from: Sequence[str] = ()
    cache_to: Sequence[str] = ()
    secrets: Sequence[str] = ()  # id=NAME,src=FILE or id=NAME,env=VARIABLE
    ssh: Sequence[str] = ()  # default, or ID=SOCKET|KEY
    build_contexts: Mapping[str, str] = field(default_factory=dict)
    outputs: Sequence[str] = ()
    provenance: str | None = None
    sbom: str | None = None
    annotations: Sequence[str] = ()
    network: str | None = None
    builder: str | None = None
    extra_args: Sequence[str] = ()  # after `--`: to buildx as they are


@dataclass(frozen=True)
class Built:
    image_id: str
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> digest
    metadata: Mapping[str, object] = field(default_factory=dict)  # buildx's metadata file, or its gist


class Progress(Protocol):
    def section(self, title: str) -> AbstractContextManager[None]: ...

    def line(self, text: str) -> None: ...


class Builder(Protocol):
    name: str  # as messages call it
    buildkit: bool  # pulls only the stages its target needs

    def refuses(self, spec: BuildSpec) -> dict[str, str]:
        """The options set in `spec` that this engine cannot honour (as their flags), each with the
        engine that can: `buildx` or `BuildKit`."""
        ...

    def check_dockerfile(self, text: str, path: str) -> None:
        """Refuse, before the build, a Dockerfile this engine cannot build (naming the line)."""
        ...

    def build(
        self,
        dockerfile: DockerfileOptions,
        spec: BuildSpec,
        credentials: Sequence[Credential],
        progress: Progress,
    ) -> Built: ...
