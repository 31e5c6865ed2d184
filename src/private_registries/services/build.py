"""A build: the pre-flight, then a build (BuildKit by default) with exactly the credentials of the
registries it pulls from and pushes to, then the push. The log goes to the caller's progress."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Protocol

from private_registries import builders, gitcontext
from private_registries.builders import BuildSpec, Engine
from private_registries.builders.outline import Outline
from private_registries.builders.spec import BuildFailed, secret_envs
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import BuildError, Failures, InputError, RegistriesError
from private_registries.gitcontext import RemoteContext
from private_registries.images import parse_image
from private_registries.keychain import Keychain
from private_registries.secret import MASKER, Secret, basic_auth
from private_registries.services.check import CheckResult, check_images
from private_registries.services.images import DockerfileImages, images, remote_images


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    dockerfile: DockerfileOptions  # its platform and build contexts are taken from spec
    spec: BuildSpec = field(default_factory=BuildSpec)
    engine: Engine = Engine.AUTO
    check: bool = True  # the pre-flight first; a failure there stops the build
    # a context that is no folder here (gitcontext): dockerfile.file is then a path in it
    remote: RemoteContext | None = None


class BuildProgress(Protocol):
    """Where a build reports as it goes: the pre-flight's result, then each part's log."""

    def checked(self, result: CheckResult) -> None: ...

    def notice(self, text: str) -> None: ...

    def section(self, title: str) -> AbstractContextManager[None]: ...

    def line(self, text: str) -> None: ...


@dataclass(frozen=True)
class BuildResult:
    checked: CheckResult | None = None  # None: the pre-flight did not run
    image_id: str = ""  # "": nothing was built (the pre-flight failed)
    tags: tuple[str, ...] = ()
    pushed: Mapping[str, str] = field(default_factory=dict)  # tag -> digest
    metadata: Mapping[str, object] = field(default_factory=dict)  # buildx's metadata (or its gist)
    engine: str = ""  # which engine built it ("": nothing was built)
    # What the step summary tells of the build: what was asked, how it went.
    spec: BuildSpec | None = None  # None: the build did not start (the pre-flight failed)
    platforms: tuple[str, ...] = ()  # those asked, else the image's own when the builder tells it
    seconds: float | None = None  # how long the build (and push) took; None: it did not run
    outline: Outline = field(default_factory=Outline)  # what its log told: steps, cache hits, failure
    error: BuildError | None = None  # the build (or push) ran and failed

    @property
    def built(self) -> bool:
        return bool(self.engine)

    @property
    def ran(self) -> bool:
        """Whether the builder ran (and built, or failed)."""
        return self.seconds is not None

    @property
    def failures(self) -> list[RegistriesError]:
        failed: list[RegistriesError] = list(self.checked.failures) if self.checked else []
        return [*failed, self.error] if self.error else failed

    @property
    def digest(self) -> str:
        return next(iter(self.pushed.values()), "")

    @property
    def base_images(self) -> dict[str, str]:
        return self.checked.digests if self.checked else {}


def build(options: BuildOptions, keychain: Keychain, progress: BuildProgress) -> BuildResult:
    spec = options.spec
    for name in secret_envs(spec.secrets):  # a secret's value from the environment: masked from now on
        if keychain.context.env.get(name):
            Secret(keychain.context.env[name])
    spec = _context_spec(options, keychain)
    if spec.push and not spec.tags:
        raise InputError("a push needs at least one tag", hint="name it: -t registry.example.org/team/app:1")
    for tag in spec.tags:
        parse_image(tag, f"tag {tag!r}")
    if spec.push_by_digest:
        _refuse_with_push_by_digest(spec)
    # Registry caches and pushed names: their registries' credentials go into the build's config too.
    written = [
        parse_image(ref, f"image {ref!r} (a cache or output)").server for ref in spec.registry_references()
    ]
    builder = builders.choose(options.engine, keychain.context.env)
    if builder.notice:
        progress.notice(builder.notice)
    builders.check_options(builder, spec)
    # BuildKit pulls only the stages the target needs; the classic builder pulls them all.
    dockerfile = replace(
        options.dockerfile,
        platform=",".join(spec.platforms) or None,
        all_stages=not builder.buildkit,
        build_contexts=spec.build_contexts,
    )
    found = _dockerfile_images(options, dockerfile, builder, keychain, progress)
    checked = None
    if options.check and found is not None and found.images:
        checked = check_images(found, keychain)
        if not checked.ok and not spec.pull:  # as `docker build`, an image the daemon holds is used as it is
            failed = [str(c.base.image) for c in checked.checks if not c.ok]
            checked = checked.with_local(builder.local_images(failed, spec))
        progress.checked(checked)
        if not checked.ok:
            return BuildResult(checked)
    # a Dockerfile that could not be read (a remote context's): every held registry's credentials
    pulled = found.servers if found is not None else [registry.server for registry in keychain.held]
    credentials, failures = keychain.credentials([*pulled, *written])
    if failures:
        raise Failures(failures)
    _refuse_secrets(dockerfile, spec, keychain)
    started = time.monotonic()
    try:
        built = builder.build(dockerfile, spec, credentials, progress)
    except BuildError as error:  # the build ran and failed: returned, with what its log told
        outline = error.outline if isinstance(error, BuildFailed) else Outline()
        return BuildResult(
            checked, tags=tuple(spec.tags), spec=spec, platforms=tuple(spec.platforms),
            seconds=time.monotonic() - started, outline=outline, error=error,
        )  # fmt: skip
    return BuildResult(
        checked, built.image_id, tuple(spec.tags), built.pushed, built.metadata, builder.name,
        spec=spec, platforms=built.platforms, seconds=time.monotonic() - started, outline=built.outline,
    )  # fmt: skip


def _refuse_with_push_by_digest(spec: BuildSpec) -> None:
    """A push by digest pushes one image, unnamed but for its repository (the first tag's), and
    nowhere else: what would name, load or push it otherwise makes no sense with it."""
    example = "-t registry.example.org/team/app (its tag, if any, is not pushed)"
    if not spec.tags:
        raise InputError("--push-by-digest needs a tag to name the repository", hint=f"name it: {example}")
    repositories = list(dict.fromkeys(_repository(tag) for tag in spec.tags))
    if len(repositories) > 1:
        raise InputError(
            f"--push-by-digest pushes to one repository; the tags name {len(repositories)}: "
            f"{', '.join(repositories)}",
            hint="build with one repository's tag; the merge pushes the index to every tag it is given, "
            "in any repository",
        )
    others = {
        "--push": "it already pushes, by digest: no tag is pushed (the merge tags the index)",
        "--load": "the image goes to the registry only; the merge's index is what is pulled",
        "--output": "it is an output of its own (type=image,push-by-digest=true,...)",
        "--call": "an evaluation pushes nothing",
    }
    given = {
        "--push": spec.push, "--load": spec.load, "--output": bool(spec.outputs), "--call": spec.evaluates,
    }  # fmt: skip
    for flag, reason in others.items():
        if given[flag]:
            raise InputError(f"--push-by-digest and {flag} do not go together: {reason}", hint=f"drop {flag}")


def _repository(tag: str) -> str:
    image = parse_image(tag, f"tag {tag!r}")
    return f"{image.server}/{image.repository}"


def _context_spec(options: BuildOptions, keychain: Keychain) -> BuildSpec:
    """The spec; with a remote context, building from it (BuildKit fetches it) with the job's token
    for the job's server, unless the user gives a Git credential of their own, which wins. A local
    context must be a folder."""
    spec, remote, context = options.spec, options.remote, keychain.context
    if remote is None:
        if not options.dockerfile.context.is_dir():
            raise InputError(f"build context {options.dockerfile.context} is not a folder")
        return spec
    auth = {}
    if not gitcontext.user_gives_auth(spec.secrets):
        auth = gitcontext.auth_secret(remote, context.env, context.github_token)
    return replace(spec, remote_context=remote.url, git_auth=auth)


def _dockerfile_images(
    options: BuildOptions,
    dockerfile: DockerfileOptions,
    builder: builders.Builder,
    keychain: Keychain,
    progress: BuildProgress,
) -> DockerfileImages | None:
    """The Dockerfile's images (refused here when the builder cannot build it); for a remote context,
    as the GitHub API gives it to the pre-flight (None, said in a notice, when it cannot: BuildKit
    reads it in the repository all the same; none asked without the pre-flight)."""
    if options.remote is None:
        found: DockerfileImages | str = images(dockerfile)
    elif not options.check:
        return None
    else:
        found = remote_images(dockerfile, options.remote, keychain.context)
    if isinstance(found, str):
        if options.remote is not None:
            progress.notice(gitcontext.skipped(options.remote, found))
        return None
    builder.check_dockerfile(found.text, str(found.path))
    return found


def _refuse_secrets(dockerfile: DockerfileOptions, spec: BuildSpec, keychain: Keychain) -> None:
    """Build args and labels are kept in the image for anyone who pulls it: no secret may ride them,
    nor the base64 form config.json gives a password (made here, if no check made it already)."""
    for registry in keychain.held:
        if registry.username and registry.password:
            basic_auth(registry.username, registry.password)
    known = [value for value in MASKER.known() if len(value) >= 6]
    for kind, values in (("build arg", dockerfile.build_args), ("label", spec.labels)):
        for name, value in values.items():
            if any(secret in value for secret in known):
                raise InputError(
                    f"{kind} {name} carries a registry secret; the image would keep it (docker history)",
                    hint="registry credentials reach the build's FROM pulls without build args; "
                    "for a secret a RUN step needs, use a BuildKit secret mount (--secret) instead",
                )
