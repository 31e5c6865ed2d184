"""Builds through the docker CLI's BuildKit: `docker buildx build`, or `docker build` with
DOCKER_BUILDKIT=1 on a CLI that has BuildKit built in and no buildx plugin (Docker 18.09 to 22).

BuildKit takes registry credentials from the CLI's config through its session, never from the
daemon; so the CLI runs with DOCKER_CONFIG pointing at a private temporary folder that holds exactly
the credentials of this build's registries, the user's other settings, and links to the user's
buildx/, contexts/ and cli-plugins/ (builders, contexts and plugins keep working). It is removed
when the build ends, however it ends.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

from private_registries import dockerconfig, signals
from private_registries.builders.outline import BuildKitLog, Outline
from private_registries.builders.spec import BuildFailed, BuildSpec, Built, Progress
from private_registries.credential import Credential
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import BuildError, InputError
from private_registries.text import plain

_TAIL = 40  # lines of a failed build's log quoted in its error
_READ_CHARS = 65536  # a longer line of the log comes (and is printed) in pieces of this size
_FAILURE = re.compile(r"^(?:#\d+ )?(?:ERROR|error|failed to solve)\b.*", re.IGNORECASE)
_PUSHED = re.compile(r"digest: (sha256:[0-9a-f]{64})")
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")  # os/arch[/variant], as the daemon says it
_UNRESOLVED = re.compile(r"failed to resolve source metadata for (\S+?):? ")
_GIT_FETCH = re.compile(r"failed to fetch remote (\S+?):? ")  # BuildKit's git source, its remote
GIT_FETCH_HINT = (
    "BuildKit could not fetch the Git repository {url}: check the URL and its ref, and that the token "
    "may read it (the job's token, the github-token input, goes to BuildKit for the job's own server; "
    "GITHUB_TOKEN needs `permissions: contents: read`; for another host give a build secret "
    "GIT_AUTH_TOKEN.HOST, for an ssh URL --ssh default)"
)
_LOOKUP_SECONDS = 10  # asking the daemon's image store for one image
# What buildx says when its `docker` driver (the daemon's own BuildKit) cannot do what was asked.
_DOCKER_DRIVER = "not supported for the docker driver"
DOCKER_DRIVER_HINT = (
    "the docker driver (the daemon's own BuildKit) cannot do this on the daemon's classic image store: "
    "build with a docker-container builder (`docker buildx create --use --driver docker-container`, or "
    "docker/setup-buildx-action in a workflow; then --builder NAME picks it if it is not the current one), "
    "or turn on the daemon's containerd image store "
    '(daemon.json {"features": {"containerd-snapshotter": true}})'
)
# buildx's docker driver pushes through the daemon, which cannot push by digest (on either image store)
_NO_PUSH_BY_DIGEST = "push-by-digest is currently not implemented for docker driver"
NO_PUSH_BY_DIGEST_HINT = (
    "push-by-digest needs a builder that pushes itself, which buildx's docker driver (the daemon's "
    "own BuildKit) is not, on either image store: a docker-container builder (docker/setup-buildx-action "
    "in a workflow, or `docker buildx create --use --driver docker-container`; --builder NAME picks it if "
    "it is not the current one), or a remote one"
)
_IMAGETOOLS_PUSHED = re.compile(r"pushing (sha256:[0-9a-f]{64}) to (\S+)")


class CliBuilder:
    def __init__(self, cli: str, env: Mapping[str, str], *, buildx: bool) -> None:
        self.cli = cli
        self.env = env
        self.buildx = buildx
        self.name = "buildx" if buildx else "BuildKit of the docker CLI (no buildx plugin)"
        self.buildkit = True
        self.notice = ""

    def refuses(self, spec: BuildSpec) -> dict[str, str]:
        if self.buildx:
            if spec.call:
                self._check_call()
            return {}
        only_buildx = {
            "--allow": spec.allow,
            "--attest": spec.attests,
            "--call": spec.call,
            "--cgroup-parent": spec.cgroup_parent,
            "--no-cache-filter": spec.no_cache_filters,
            "--shm-size": spec.shm_size,  # the daemon's BuildKit before Docker 23 ignores them
            "--ulimit": spec.ulimits,
            "--cache-to": spec.cache_to,
            "--build-context": spec.build_contexts,
            "--provenance": spec.provenance,
            "--sbom": spec.sbom,
            "--annotation": spec.annotations,
            "--builder": spec.builder,
            "--push-by-digest": spec.push_by_digest,
        }
        refused = {flag: "buildx" for flag, value in only_buildx.items() if value}
        if len(spec.platforms) > 1:
            refused["--platform with several platforms"] = "buildx"
        return refused

    def _check_call(self) -> None:
        """`--call` came with buildx 0.14 (0.13 had only the experimental `--print`): refused, naming
        the version in use, when this buildx's `build --help` has no such flag."""
        try:
            helped = subprocess.run(
                [self.cli, "buildx", "build", "--help"], env=dict(self.env), capture_output=True, text=True,
                timeout=_LOOKUP_SECONDS, check=False,
            )  # fmt: skip
            version = subprocess.run(
                [self.cli, "buildx", "version"], env=dict(self.env), capture_output=True, text=True,
                timeout=_LOOKUP_SECONDS, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return  # buildx itself says what it cannot do
        if re.search(r"(?m)^\s+--call\b", helped.stdout):
            return
        found = re.search(r"github\.com/docker/buildx v?(\d+\.\d+\.\d+)", version.stdout)
        which = f"buildx {found[1]}" if found else "the buildx in use"
        raise InputError(
            f"--call: {which} has no --call (BuildKit's evaluation of a build, e.g. check); "
            "buildx 0.14 and later have it",
            hint="install buildx 0.14 or later (docker/setup-buildx-action in a workflow), or drop --call",
        )

    def check_dockerfile(self, text: str, path: str) -> None:
        pass  # BuildKit reads whatever the parser read; its frontend says the rest

    def imagetools_create(
        self,
        tags: Sequence[str],
        sources: Sequence[str],
        credentials: Sequence[Credential],
        progress: Progress,
        *,
        annotations: Sequence[str] = (),
    ) -> dict[str, str]:
        """`docker buildx imagetools create -t TAG... SOURCE...`: the index of the sources' manifests,
        pushed to every tag, with exactly these credentials in a temporary DOCKER_CONFIG (as a build
        gets them). Each tag with the digest buildx says it pushed."""
        if not self.buildx:
            raise InputError(
                f"a merge needs buildx (its imagetools); the docker CLI {self.cli} has no buildx plugin",
                hint="install the buildx plugin (docker-buildx, or docker/setup-buildx-action in a workflow)",
            )
        args = ["buildx", "imagetools", "create", "--progress", "plain"]
        args += [part for tag in tags for part in ("--tag", tag)]
        args += [part for annotation in annotations for part in ("--annotation", annotation)]
        seen = _Seen(progress)
        with dockerconfig.temporary(
            credentials, dockerconfig.default_dir(self.env), buildx_state=dockerconfig.buildx_state(self.env)
        ) as config:
            env = {**self.env, "DOCKER_CONFIG": str(config)}
            with progress.section(f"Merge {len(sources)} images into {', '.join(tags)}"):
                self._run([*args, *sources], env, seen, "the merge")
        pushed = dict.fromkeys(tags, "")
        for line in seen.lines:
            found = _IMAGETOOLS_PUSHED.search(line)
            if found and found[2] in pushed:
                pushed[found[2]] = found[1]
        missing = [tag for tag, digest in pushed.items() if not digest]
        if missing:
            raise BuildError(f"buildx imagetools create reported no digest for {', '.join(missing)}")
        return pushed

    def local_images(self, images: Sequence[str], spec: BuildSpec) -> set[str]:
        """`docker image inspect` through the CLI in use, each image at once, each in bounded time."""
        if not images or not self._reads_daemon_store(spec):
            return set()
        with ThreadPoolExecutor(max_workers=min(8, len(images))) as pool:
            present = pool.map(self._in_store, images)
            return {image for image, there in zip(images, present, strict=True) if there}

    def _in_store(self, image: str) -> bool:
        try:
            answer = subprocess.run(
                [self.cli, "image", "inspect", "--format", "{{.Id}}", image],
                env=dict(self.env), capture_output=True, text=True, timeout=_LOOKUP_SECONDS, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return False
        return answer.returncode == 0 and answer.stdout.strip().startswith("sha256:")

    def _reads_daemon_store(self, spec: BuildSpec) -> bool:
        """Whether the build runs on the daemon's own BuildKit (buildx's `docker` driver), which takes
        a FROM from the daemon's image store first; a docker-container, kubernetes or remote builder
        has a store of its own. buildx keeps each such builder in BUILDX_CONFIG (else
        $DOCKER_CONFIG/buildx) as instances/NAME, and the current one's name in `current`."""
        if not self.buildx:
            return True
        folder = Path(self.env.get("BUILDX_CONFIG") or dockerconfig.default_dir(self.env) / "buildx")
        name = spec.builder or self.env.get("BUILDX_BUILDER") or _json(folder / "current").get("Name")
        if not isinstance(name, str) or not name:
            return True  # the default builder: the current context's daemon, docker driver
        instance = _json(folder / "instances" / name)
        return not instance or instance.get("Driver") == "docker"  # no instance: a docker context

    def arguments(self, dockerfile: DockerfileOptions, spec: BuildSpec, scratch: Path) -> list[str]:
        """The CLI's arguments: build-push-action's inputs, as buildx (or `docker build`) spells them."""
        by_digest = [spec.digest_output] if spec.push_by_digest else []
        repeated = {
            "--tag": [] if spec.push_by_digest else spec.tags,  # they only name the repository
            "--build-arg": [f"{name}={value}" for name, value in dockerfile.build_args.items()],
            "--label": [f"{name}={value}" for name, value in spec.labels.items()],
            "--cache-from": spec.cache_from,
            "--cache-to": spec.cache_to,
            "--secret": [*spec.secrets, *_git_auth_secrets(spec, scratch)],
            "--ssh": spec.ssh,
            "--output": [*spec.outputs, *by_digest],
            "--annotation": spec.annotations,
            "--build-context": [f"{name}={value}" for name, value in spec.build_contexts.items()],
            "--add-host": spec.add_hosts,
            "--allow": spec.allow,
            "--attest": spec.attests,
            "--no-cache-filter": spec.no_cache_filters,
            "--ulimit": spec.ulimits,
        }
        once = {
            "--file": str(dockerfile.file) if dockerfile.file else None,
            "--target": dockerfile.target,
            "--platform": ",".join(spec.platforms) or None,
            "--provenance": spec.provenance,
            "--sbom": spec.sbom,
            "--network": spec.network,
            "--builder": spec.builder,
            "--call": spec.call,
            "--cgroup-parent": spec.cgroup_parent,
            "--shm-size": spec.shm_size,
            "--iidfile": str(scratch / "iid") if spec.image_output else None,
            "--metadata-file": str(scratch / "metadata.json") if self.buildx else None,
        }
        switches = {
            "--pull": spec.pull,
            "--no-cache": spec.no_cache,
            "--load": spec.load and self.buildx,
            "--push": spec.push and self.buildx,  # docker build cannot: its tags are pushed after
        }
        args = ["buildx", "build"] if self.buildx else ["build"]
        args.append("--progress=plain")
        args += [part for flag, values in repeated.items() for value in values for part in (flag, value)]
        args += [part for flag, value in once.items() if value for part in (flag, value)]
        args += [flag for flag, on in switches.items() if on]
        return [*args, *spec.extra_args, spec.remote_context or str(dockerfile.context)]

    def build(
        self,
        dockerfile: DockerfileOptions,
        spec: BuildSpec,
        credentials: Sequence[Credential],
        progress: Progress,
    ) -> Built:
        user_config = dockerconfig.default_dir(self.env)
        with (
            dockerconfig.temporary(
                credentials,
                user_config,
                buildx_state=dockerconfig.buildx_state(self.env) if self.buildx else None,
            ) as config,
            tempfile.TemporaryDirectory(prefix="registries-build-") as scratch,
        ):
            env = {**self.env, "DOCKER_CONFIG": str(config)}
            if not self.buildx:
                env["DOCKER_BUILDKIT"] = "1"
            _write_git_auth(spec, Path(scratch))
            title = ", ".join(spec.tags) or spec.remote_context or dockerfile.context
            with progress.section(f"Build {title}"):
                _, outline = self._run(
                    self.arguments(dockerfile, spec, Path(scratch)), env, progress, "the build",
                    frontend="" if spec.remote_context else _frontend(dockerfile),
                )  # fmt: skip
            metadata = _metadata(Path(scratch))
            image_id = _read(Path(scratch) / "iid") or str(metadata.get("containerimage.config.digest", ""))
            if not spec.image_output:
                image_id = ""  # files only: no image, whatever the metadata says of the config
            pushed: dict[str, str] = {}
            if self.buildx:
                digest = str(metadata.get("containerimage.digest", ""))
                pushed = dict.fromkeys(spec.pushed_names(), digest)
            elif spec.push:
                for tag in spec.tags:
                    with progress.section(f"Push {tag}"):
                        log, _ = self._run(["push", tag], env, progress, f"the push of {tag}")
                    pushed[tag] = _pushed_digest(log, tag)
        if not self.buildx:
            metadata = {"containerimage.config.digest": image_id}
            if pushed:
                metadata["containerimage.digest"] = next(iter(pushed.values()))
        if not image_id and not spec.outputs and not spec.evaluates:
            raise BuildFailed("the build finished without an image ID", outline=outline)
        platforms = tuple(spec.platforms) or self._platform(image_id, spec)
        return Built(image_id, pushed, metadata, outline, platforms)

    def _platform(self, image_id: str, spec: BuildSpec) -> tuple[str, ...]:
        """The platform of an image built into the daemon's store (`docker image inspect`); none when
        it went elsewhere (another builder's store, a registry only) or the daemon cannot tell."""
        if not image_id or not self._reads_daemon_store(spec):
            return ()
        try:
            answer = subprocess.run(
                [self.cli, "image", "inspect", "--format",
                 "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}", image_id],
                env=dict(self.env), capture_output=True, text=True, timeout=_LOOKUP_SECONDS, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return ()
        found = answer.stdout.strip()
        return (found,) if answer.returncode == 0 and _PLATFORM.fullmatch(found) else ()

    def _run(
        self, args: list[str], env: Mapping[str, str], progress: Progress, what: str, *, frontend: str = ""
    ) -> tuple[list[str], Outline]:
        """Run the CLI, its output streamed line by line (no escapes but colours); its tail kept, and
        what BuildKit's plain progress tells of the build (a BuildFailed carries it on a failure)."""
        tail: deque[str] = deque(maxlen=_TAIL)
        reader = BuildKitLog()

        def start() -> subprocess.Popen[str]:
            try:
                return subprocess.Popen(
                    [self.cli, *args],
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                )
            except OSError as exc:
                raise BuildError(f"cannot run the docker CLI {self.cli}: {exc.strerror}") from None

        # SIGTERM/SIGINT go to the CLI (which cancels the build), killed if it has not ended within
        # signals.GRACE; then we unwind as the signal would have, and the temporary config goes
        with signals.forwarding(start) as (process, received), process:
            try:
                lines = (
                    iter(partial(process.stdout.readline, _READ_CHARS), "") if process.stdout else iter(())
                )
                for raw in lines:
                    line = plain(raw.rstrip("\n"), keep_colours=True)
                    tail.append(plain(line))
                    reader.feed(tail[-1])
                    progress.line(line)
            except BaseException:  # whatever else stops us: make sure the CLI is gone before cleaning up
                process.kill()
                raise
        signals.raise_received(received)
        if process.returncode != 0:
            raise BuildFailed(
                _failure(what, list(tail)), hint=_hint(list(tail), frontend), outline=reader.outline()
            )
        return list(tail), reader.outline()


class _Seen:
    """A progress that passes everything on and keeps the lines (plain) to read what buildx said."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.lines: list[str] = []

    def section(self, title: str) -> AbstractContextManager[None]:
        return self.progress.section(title)

    def line(self, text: str) -> None:
        self.lines.append(plain(text))
        self.progress.line(text)


def _hint(tail: list[str], frontend: str) -> str | None:
    """How to fix what the CLI said, where it says too little: the builders that can, the frontend."""
    fetched = next((match[1] for line in tail for match in [_GIT_FETCH.search(line)] if match), "")
    if fetched:
        return GIT_FETCH_HINT.format(url=fetched)
    if any("Cannot connect to the Docker daemon" in line for line in tail):
        return "start it, or point DOCKER_HOST at a running one"
    if any(_DOCKER_DRIVER in line for line in tail):
        return DOCKER_DRIVER_HINT
    if any(_NO_PUSH_BY_DIGEST in line for line in tail):
        return NO_PUSH_BY_DIGEST_HINT
    unresolved = {match[1] for line in tail for match in [_UNRESOLVED.search(line)] if match}
    if frontend and frontend in unresolved:
        return (
            f"the # syntax= frontend image {frontend} could not be pulled: make it reachable (a mirror: "
            "# syntax=MIRROR/docker/dockerfile:1), or remove the # syntax= line to build with the "
            "frontend built into BuildKit"
        )
    return None


def _frontend(dockerfile: DockerfileOptions) -> str:
    """The `# syntax=` image of the Dockerfile, as BuildKit names it in its messages ("": none)."""
    from private_registries.dockerfile import syntax_directive
    from private_registries.images import parse_image

    try:
        found = syntax_directive(dockerfile.path.read_text(encoding="utf-8"))
        return str(parse_image(found[1])) if found else ""
    except (OSError, UnicodeDecodeError, InputError):
        return ""


def _git_auth_secrets(spec: BuildSpec, scratch: Path) -> list[str]:
    """The --secret of each Git token, read from a file of the build's own: never a command line."""
    return [f"id={name},src={scratch / f'git-auth-{index}'}" for index, name in enumerate(spec.git_auth)]


def _write_git_auth(spec: BuildSpec, scratch: Path) -> None:
    """Each Git token into its file (mode 0600, in the build's private folder, gone with it)."""
    for index, token in enumerate(spec.git_auth.values()):
        descriptor = os.open(scratch / f"git-auth-{index}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(token.reveal())


def _json(path: Path) -> dict[str, object]:
    text = _read(path)
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _failure(what: str, tail: list[str]) -> str:
    reason = next((line for line in reversed(tail) if _FAILURE.match(line.strip())), "")
    shown = "\n".join(f"  | {line}" for line in tail[-20:])
    return f"{what} failed" + (f": {reason.strip()}" if reason else "") + (f"\n{shown}" if shown else "")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _metadata(scratch: Path) -> dict[str, object]:
    return _json(scratch / "metadata.json")


def _pushed_digest(log: list[str], tag: str) -> str:
    for line in reversed(log):
        match = _PUSHED.search(line)
        if match:
            return match[1]
    raise BuildError(f"the docker CLI pushed {tag} but reported no digest")
