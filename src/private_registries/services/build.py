"""A build: the pre-flight, then a build with exactly the credentials its base images need, then a push
of each tag with its registry's credential. The daemon's log goes to the caller's `BuildProgress`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from private_registries import engine
from private_registries.errors import Failures, InputError, RegistriesError
from private_registries.images import parse_image
from private_registries.keychain import Keychain
from private_registries.secret import MASKER
from private_registries.services.check import CheckResult, check_images
from private_registries.services.images import DockerfileOptions, images


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    dockerfile: DockerfileOptions
    tags: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    pull: bool = False
    no_cache: bool = False
    push: bool = False
    check: bool = True  # the pre-flight first; a failure there stops the build


class BuildProgress(Protocol):
    """Where a build reports as it goes: the pre-flight's result, then each part's log."""

    def checked(self, result: CheckResult) -> None: ...

    def section(self, title: str) -> AbstractContextManager[None]: ...

    def line(self, text: str) -> None: ...


@dataclass(frozen=True)
class BuildResult:
    checked: CheckResult | None = None  # None: the pre-flight did not run
    image_id: str = ""  # "": nothing was built (the pre-flight failed)
    tags: tuple[str, ...] = ()
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> digest

    @property
    def failures(self) -> list[RegistriesError]:
        return self.checked.failures if self.checked else []

    @property
    def digest(self) -> str:
        return next(iter(self.pushed.values()), "")

    @property
    def base_images(self) -> dict[str, str]:
        return self.checked.digests if self.checked else {}


def build(options: BuildOptions, keychain: Keychain, progress: BuildProgress) -> BuildResult:
    context = options.dockerfile.context
    if not context.is_dir():
        raise InputError(f"build context {context} is not a folder")
    if options.push and not options.tags:
        raise InputError("--push needs at least one tag", hint="name it: -t registry.example.org/team/app:1")
    tag_servers = [parse_image(tag, f"tag {tag!r}").server for tag in options.tags]
    found = images(options.dockerfile)
    checked = None
    if options.check and found.images:
        checked = check_images(found, keychain)
        progress.checked(checked)
        if not checked.ok:
            return BuildResult(checked)
    servers = found.servers
    credentials, failures = keychain.credentials([*servers, *(tag_servers if options.push else [])])
    if failures:
        raise Failures(failures)
    _refuse_secrets(options)
    client = engine.connect(keychain.context.env)
    spec = engine.BuildSpec(
        context=context,
        dockerfile=options.dockerfile.file,
        tags=options.tags,
        build_args=options.dockerfile.build_args,
        labels=options.labels,
        target=options.target,
        platform=options.dockerfile.platform,
        pull=options.pull,
        no_cache=options.no_cache,
    )
    with progress.section(f"Build {', '.join(options.tags) or context}"):
        image_id = engine.build(client, spec, [c for c in credentials if c.server in servers], progress.line)
    pushed: dict[str, str] = {}
    if options.push:
        by_server = {credential.server: credential for credential in credentials}
        for tag, server in zip(options.tags, tag_servers, strict=True):
            with progress.section(f"Push {tag}"):
                pushed[tag] = engine.push(client, tag, by_server.get(server), progress.line)
    return BuildResult(checked, image_id, tuple(options.tags), pushed)


def _refuse_secrets(options: BuildOptions) -> None:
    """Build args and labels are kept in the image for anyone who pulls it: no secret may ride them."""
    known = [value for value in MASKER.known() if len(value) >= 6]
    for kind, values in (("build arg", options.dockerfile.build_args), ("label", options.labels)):
        for name, value in values.items():
            if any(secret in value for secret in known):
                raise InputError(
                    f"{kind} {name} carries a registry secret; the image would keep it (docker history)",
                    hint="registry credentials reach the build's FROM pulls without build args; "
                    "for a secret a RUN step needs, use a BuildKit secret mount instead",
                )
