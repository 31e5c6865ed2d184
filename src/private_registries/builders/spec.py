"""What a build is asked for and gives back, and what an engine must do: the records the engines
(cli.py, classic.py) and the choice among them (__init__.py) share."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from private_registries.builders.outline import Outline
from private_registries.credential import Credential
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import BuildError, ErrorKind, Location
from private_registries.secret import Secret


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
    # a context that is no folder here (a Git URL, or another URL buildx takes): passed on as it is
    remote_context: str = ""
    git_auth: Mapping[str, Secret] = field(default_factory=dict)  # secret ID -> token (gitcontext)
    add_hosts: Sequence[str] = ()  # HOST:IP
    allow: Sequence[str] = ()  # entitlements: network.host, security.insecure
    attests: Sequence[str] = ()  # type=sbom,generator=IMAGE
    call: str | None = None  # BuildKit's --call (buildx 0.14+): build, check, outline, targets
    cgroup_parent: str | None = None
    no_cache_filters: Sequence[str] = ()  # stages built without cache
    shm_size: str | None = None  # 2g
    ulimits: Sequence[str] = ()  # nofile=1024:1024
    # push by digest only, into the first tag's repository (no tag is pushed): one platform of a
    # multi-platform image built across runners, made into an index later (`registries merge`)
    push_by_digest: bool = False
    extra_args: Sequence[str] = ()  # after `--`: to buildx as they are

    @property
    def evaluates(self) -> bool:
        """Whether the build is asked for an evaluation (`--call check`, ...) rather than a result."""
        return bool(self.call) and self.call != "build"

    @property
    def image_output(self) -> bool:
        """Whether the result is an image with an ID (buildx refuses an image ID file for a local or
        tar output, which export files only; an evaluation gives none)."""
        if self.evaluates:
            return False
        return not any(entry(output).get("type") in {"local", "tar"} for output in self.outputs)

    @property
    def digest_repository(self) -> str:
        """The repository a push by digest goes to: the first tag's, without its tag ("": none)."""
        if not self.tags:
            return ""
        from private_registries.images import parse_image

        image = parse_image(self.tags[0], f"tag {self.tags[0]!r}")
        return f"{image.server}/{image.repository}"

    @property
    def digest_output(self) -> str:
        """buildx's output of a push by digest, as Docker's docs spell it for builds across runners."""
        return f"type=image,name={self.digest_repository},push-by-digest=true,name-canonical=true,push=true"

    def pushed_names(self) -> list[str]:
        """The names pushed: the tags with --push; each output's (its `name`s, else the tags) that is
        `type=registry` or has `push=true`; the repository alone, pushed by digest."""
        names = list(self.tags) if self.push else []
        if self.push_by_digest and self.tags:
            names.append(self.digest_repository)
        for output in self.outputs:
            fields = entry(output)
            if fields.get("type") == "registry" or _true(fields.get("push", "")):
                given = [name.strip() for name in fields.get("name", "").split(",") if name.strip()]
                names += given or list(self.tags)
        return list(dict.fromkeys(names))

    def registry_references(self) -> list[str]:
        """Every image reference the build reads or writes besides its Dockerfile's images: registry
        caches (imported and exported) and the names it pushes."""
        caches = []
        for value in [*self.cache_from, *self.cache_to]:
            fields = entry(value, cache=True)
            if fields.get("type") == "registry" and fields.get("ref"):
                caches.append(fields["ref"])
        return list(dict.fromkeys([*caches, *self.pushed_names()]))


def entry(value: str, *, cache: bool = False) -> dict[str, str]:
    """One --output or --cache-from/--cache-to value as buildx reads it: CSV `key=value` fields (keys
    lower case); a value with no `=` is buildx's shorthand: a local folder (`-`: a tar on stdout) for
    an output, a registry reference for a cache."""
    if "=" not in value:
        if cache:
            return {"type": "registry", "ref": value}
        return {"type": "tar"} if value == "-" else {"type": "local", "dest": value}
    try:
        fields = next(csv.reader([value]), [])
    except csv.Error:
        return {}
    pairs = (field.partition("=") for field in fields)
    return {key.strip().lower(): item for key, _, item in pairs if key.strip()}


def secret_envs(secrets: Sequence[str]) -> list[str]:
    """The environment variables the build's secrets read (`id=NAME,env=VARIABLE`, or a `type=env`
    secret's `src`/`id`): their values are secrets, masked before the build runs."""
    names = []
    for value in secrets:
        fields = entry(value)
        if fields.get("env"):
            names.append(fields["env"])
        elif fields.get("type") == "env":
            names.append(fields.get("src") or fields.get("source") or fields.get("id", ""))
    return [name for name in names if name]


def _true(text: str) -> bool:
    return text.strip().lower() in {"1", "t", "true"}  # Go's strconv.ParseBool, as buildx reads it


@dataclass(frozen=True)
class Built:
    image_id: str
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> digest
    metadata: Mapping[str, object] = field(default_factory=dict)  # buildx's metadata file, or its gist
    outline: Outline = field(default_factory=Outline)  # what the log told: steps, cache hits
    platforms: tuple[str, ...] = ()  # the image's own, when the builder can tell ("": not known)


class BuildFailed(BuildError):
    """The build (or its push) ran and failed: the error, with what its log told (the failing step,
    the log's tail) for the step summary."""

    def __init__(
        self,
        message: str,
        *,
        outline: Outline,
        hint: str | None = None,
        kind: ErrorKind | None = None,
        where: Location | None = None,
    ) -> None:
        super().__init__(message, hint=hint, kind=kind, where=where)
        self.outline = outline

    @classmethod
    def of(cls, error: BuildError, outline: Outline) -> BuildFailed:
        return cls(error.message, outline=outline, hint=error.hint, kind=error.kind, where=error.where)


class Progress(Protocol):
    def section(self, title: str) -> AbstractContextManager[None]: ...

    def line(self, text: str) -> None: ...


class Builder(Protocol):
    name: str  # as messages call it
    buildkit: bool  # pulls only the stages its target needs
    notice: str  # why this engine was chosen, when the user should know ("": nothing to say)

    def refuses(self, spec: BuildSpec) -> dict[str, str]:
        """The options set in `spec` that this engine cannot honour (as their flags), each with the
        engine that can: `buildx` or `BuildKit`."""
        ...

    def check_dockerfile(self, text: str, path: str) -> None:
        """Refuse, before the build, a Dockerfile this engine cannot build (naming the line)."""
        ...

    def local_images(self, images: Sequence[str], spec: BuildSpec) -> set[str]:
        """Those of `images` that the build would take from the daemon's image store without a pull
        (as `docker build` does), asked in bounded time; none when its builder does not read that store."""
        ...

    def build(
        self,
        dockerfile: DockerfileOptions,
        spec: BuildSpec,
        credentials: Sequence[Credential],
        progress: Progress,
    ) -> Built:
        """Build (and push); a failure of the build itself is a BuildFailed, with its log's outline."""
        ...
