"""The Engine API's legacy builder (the Docker SDK): the fallback when no BuildKit can be driven.

It is handed exactly the credentials the Dockerfile needs in `X-Registry-Config`: no prior `docker
login`, nothing written to the user's docker config. It pushes each tag with the credential of that
tag's registry (`X-Registry-Auth`). It pulls every stage's images, and knows none of BuildKit's
syntax (a Dockerfile that needs it is refused before the build, naming the line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from private_registries.builders.outline import ClassicLog
from private_registries.builders.spec import BuildFailed, BuildSpec, Built, Progress
from private_registries.credential import Credential
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import BuildError, Location
from private_registries.images import parse_image
from private_registries.text import plain

_STEP = re.compile(r"^Step \d+/\d+ : ")
# The push's last status line: `TAG: digest: sha256:... size: N`. The containerd image store's push
# (Engine 24 and later) says the digest only there; the classic store also sends it as `aux`.
_PUSHED = re.compile(r"\bdigest: (sha256:[0-9a-f]{64})\b")
_LOOKUP_SECONDS = 10


class ClassicBuilder:
    name = "classic builder"
    buildkit = False

    def __init__(self, env: Mapping[str, str], notice: str = "") -> None:
        self.env = env
        self.notice = notice  # why it was chosen when BuildKit was wanted

    def refuses(self, spec: BuildSpec) -> dict[str, str]:
        refused: dict[str, str] = {}
        buildkit = {
            "--secret": spec.secrets,
            "--ssh": spec.ssh,
            "--output": spec.outputs,
            "--add-host": spec.add_hosts,
            "a remote context (a Git URL)": spec.remote_context,
        }
        buildx = {
            "--allow": spec.allow,
            "--attest": spec.attests,
            "--call": spec.call,
            "--cgroup-parent": spec.cgroup_parent,
            "--no-cache-filter": spec.no_cache_filters,
            "--shm-size": spec.shm_size,
            "--ulimit": spec.ulimits,
            "--cache-to": spec.cache_to,
            "--build-context": spec.build_contexts,
            "--provenance": spec.provenance,
            "--sbom": spec.sbom,
            "--annotation": spec.annotations,
            "--builder": spec.builder,
            "--push-by-digest": spec.push_by_digest,
            "arguments after --": spec.extra_args,
        }
        refused.update({flag: "BuildKit" for flag, value in buildkit.items() if value})
        refused.update({flag: "buildx" for flag, value in buildx.items() if value})
        if len(spec.platforms) > 1:
            refused["--platform with several platforms"] = "buildx"
        return refused

    def check_dockerfile(self, text: str, path: str) -> None:
        """A Dockerfile written for BuildKit is refused before the build, naming the line."""
        from private_registries.dockerfile import needs_buildkit

        found = needs_buildkit(text, path)
        if found:
            line, reason = found
            raise BuildError(
                f"{path}:{line}: {reason} needs BuildKit; the classic builder cannot build this Dockerfile",
                hint="build with BuildKit: install the docker CLI's buildx plugin, "
                "or use a docker CLI that has BuildKit (--engine buildkit)",
                where=Location(path, line),
            )

    def local_images(self, images: Sequence[str], spec: BuildSpec) -> set[str]:
        """The daemon's image store, asked through the Engine API (the builder's own)."""
        if not images:
            return set()
        import docker

        try:
            client = connect(self.env, timeout=_LOOKUP_SECONDS)
        except BuildError:
            return set()  # the build says so, with the fix
        present = set()
        for image in images:
            try:
                client.inspect_image(image)
            except (docker.errors.DockerException, OSError):
                continue
            present.add(image)
        return present

    def build(
        self,
        dockerfile: DockerfileOptions,
        spec: BuildSpec,
        credentials: Sequence[Credential],
        progress: Progress,
    ) -> Built:
        client = connect(self.env)
        tags = list(spec.tags)
        reader = ClassicLog()

        def line(text: str) -> None:
            reader.feed(plain(text))
            progress.line(text)

        try:
            with progress.section(f"Build {', '.join(tags) or dockerfile.context}"):
                image_id = build(client, dockerfile, spec, list(credentials), line)
        except BuildError as error:
            raise BuildFailed.of(
                error, reader.outline(failed=True, reason=_reason_of(error, reader.current))
            ) from None
        outline = reader.outline()
        pushed: dict[str, str] = {}
        if spec.push:
            by_server = {credential.server: credential for credential in credentials}
            for tag in tags:
                try:
                    with progress.section(f"Push {tag}"):
                        pushed[tag] = push(client, tag, by_server.get(parse_image(tag).server), progress.line)
                except BuildError as error:
                    raise BuildFailed.of(error, outline) from None
        metadata: dict[str, object] = {"containerimage.config.digest": image_id}
        if pushed:
            metadata["containerimage.digest"] = next(iter(pushed.values()))
        return Built(
            image_id, pushed, metadata, outline, tuple(spec.platforms) or _platform(client, image_id)
        )


def registry_config(credentials: Sequence[Credential]) -> dict[str, dict[str, str]]:
    """The body of X-Registry-Config: `{registry: {username, password}}`, no `auths` wrapper."""
    config: dict[str, dict[str, str]] = {}
    for credential in credentials:
        if credential.identity_token:
            entry = {"identitytoken": credential.identity_token.reveal()}
        else:
            entry = {"username": credential.username, "password": credential.password.reveal()}
        config[credential.config_key] = {**entry, "serveraddress": credential.config_key}
    return config


def connect(env: Mapping[str, str], *, timeout: int = 600) -> Any:
    """A client of the daemon at DOCKER_HOST (or the default socket), or a clear error."""
    import docker
    from docker.utils import kwargs_from_env

    class Client(docker.APIClient):  # type: ignore[misc]
        registry_config: dict[str, dict[str, str]] = {}  # noqa: RUF012 - set per build

        def _set_auth_headers(self, headers: dict[str, str]) -> None:
            # Exactly what this build needs; never a fallback to the user's config.json.
            if self.registry_config:
                headers["X-Registry-Config"] = docker.auth.encode_header(self.registry_config)

    host = env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        return Client(version="auto", timeout=timeout, **kwargs_from_env(environment=dict(env)))
    except docker.errors.DockerException as exc:
        raise BuildError(
            f"cannot reach the Docker daemon at {host}: {_reason(exc)}",
            hint="start it, or point DOCKER_HOST at a running one, e.g. DOCKER_HOST=unix:///var/run/docker.sock",
        ) from None


def build(
    client: Any,
    dockerfile: DockerfileOptions,
    spec: BuildSpec,
    credentials: Sequence[Credential],
    log: Callable[[str], None],
) -> str:
    """Build; returns the image ID. Streams the daemon's log through `log`."""
    client.registry_config = registry_config(credentials)
    tags = list(spec.tags)
    stream = client.build(
        path=str(dockerfile.context),
        dockerfile=str(dockerfile.file) if dockerfile.file else None,
        tag=tags[0] if tags else None,
        buildargs=dict(dockerfile.build_args) or None,
        labels=dict(spec.labels) or None,
        target=dockerfile.target,
        platform=spec.platforms[0] if spec.platforms else None,
        pull=spec.pull,
        nocache=spec.no_cache,
        cache_from=list(spec.cache_from) or None,
        network_mode=spec.network,
        rm=True,
        forcerm=True,
        decode=True,
    )
    image_id = _follow(stream, log)
    for tag in tags[1:]:
        repository, name = split_tag(tag)
        client.tag(image_id, repository, name)
    return image_id


def push(client: Any, tag: str, credential: Credential | None, log: Callable[[str], None]) -> str:
    """Push one tag with its registry's credential (X-Registry-Auth); returns the pushed digest."""
    repository, name = split_tag(tag)
    auth = None
    if credential is not None:
        auth = registry_config([credential])[credential.config_key]
    digest = ""
    for chunk in client.push(repository, tag=name, auth_config=auth, stream=True, decode=True):
        if "error" in chunk:
            raise BuildError(
                f"the registry refused the push of {tag}: {plain(str(chunk['error'])).strip()}",
                hint="check that the credential for this registry may push to the repository",
            )
        aux = chunk.get("aux") or {}
        status = chunk.get("status")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = aux["Digest"]
        elif status and not chunk.get("progressDetail"):
            log(f"{chunk.get('id', '')}: {status}".lstrip(": "))
            pushed = _PUSHED.search(str(status))
            digest = pushed[1] if pushed and not digest else digest
    if not digest:
        raise BuildError(f"the daemon pushed {tag} but reported no digest")
    return str(digest)


def split_tag(tag: str) -> tuple[str, str]:
    """`host:5000/team/app:1` -> (`host:5000/team/app`, `1`); no tag means `latest`."""
    parse_image(tag, f"tag {tag!r}")  # validates
    slash, colon = tag.rfind("/"), tag.rfind(":")
    if colon > slash:
        return tag[:colon], tag[colon + 1 :]
    return tag, "latest"


def _follow(stream: Iterator[dict[str, Any]], log: Callable[[str], None]) -> str:
    image_id = ""
    step: list[str] = []  # the current step and its output, for the failure message
    for chunk in stream:
        if "error" in chunk:
            failing = plain(step[0] if step else "the build")
            output = plain("".join(step[1:])).rstrip()
            raise BuildError(
                f"the build failed at {failing.strip()}: {plain(str(chunk['error'])).strip()}"
                + (f"\n{_indent(output)}" if output else "")
            )
        text = chunk.get("stream")
        if isinstance(text, str):
            if _STEP.match(text):
                step = [text]
            else:
                step.append(text)
            # The classic builder wraps a step's stderr in red (ESC[91m ... ESC[0m): the log keeps it.
            for line in plain(text, keep_colours=True).rstrip("\n").splitlines():
                log(line)
        elif chunk.get("status"):
            log(f"{chunk.get('id', '')}: {chunk['status']}".lstrip(": "))
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    if not image_id:
        raise BuildError("the daemon finished the build without an image ID")
    return image_id


def _reason_of(error: BuildError, step: str) -> str:
    """The daemon's words in a failure of _follow (`the build failed at STEP: WHY`), its first line."""
    return error.message.split("\n", 1)[0].removeprefix(f"the build failed at {step.strip()}: ")


def _platform(client: Any, image_id: str) -> tuple[str, ...]:
    """The built image's platform, as the daemon's image store has it; none if it cannot tell."""
    import docker

    try:
        image = client.inspect_image(image_id)
    except (docker.errors.DockerException, OSError):
        return ()
    parts = [image.get("Os"), image.get("Architecture"), image.get("Variant")]
    found = "/".join(str(part) for part in parts if part)
    return (found,) if found.count("/") >= 1 else ()


def _indent(text: str) -> str:
    return "\n".join(f"  | {line}" for line in text.splitlines()[-40:])


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "No such file or directory", "Permission denied"):
        if marker in text:
            return marker.lower()
    return text.split(": ", 1)[-1][:200] or type(exc).__name__
