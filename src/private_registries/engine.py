"""The Docker Engine API's builder (the Docker SDK), handed exactly the credentials the Dockerfile
needs in `X-Registry-Config`: no prior `docker login`, nothing written to the user's docker config.
Pushes each tag with the credential of that tag's registry (`X-Registry-Auth`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from private_registries.credential import Credential
from private_registries.errors import BuildError
from private_registries.images import parse_image
from private_registries.text import plain

_STEP = re.compile(r"^Step \d+/\d+ : ")


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """What the daemon is asked to build."""

    context: Path
    dockerfile: Path | None = None
    tags: Sequence[str] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    pull: bool = False
    no_cache: bool = False


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


def connect(env: Mapping[str, str]) -> Any:
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
        return Client(version="auto", timeout=600, **kwargs_from_env(environment=dict(env)))
    except docker.errors.DockerException as exc:
        raise BuildError(
            f"cannot reach the Docker daemon at {host}: {_reason(exc)}",
            hint="start it, or point DOCKER_HOST at a running one, e.g. DOCKER_HOST=unix:///var/run/docker.sock",
        ) from None


def build(
    client: Any, options: BuildSpec, credentials: Sequence[Credential], log: Callable[[str], None]
) -> str:
    """Build; returns the image ID. Streams the daemon's log through `log`."""
    client.registry_config = registry_config(credentials)
    tags = list(options.tags)
    stream = client.build(
        path=str(options.context),
        dockerfile=str(options.dockerfile) if options.dockerfile else None,
        tag=tags[0] if tags else None,
        buildargs=dict(options.build_args) or None,
        labels=dict(options.labels) or None,
        target=options.target,
        platform=options.platform,
        pull=options.pull,
        nocache=options.no_cache,
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
        if aux.get("Digest"):
            digest = aux["Digest"]
        elif chunk.get("status") and not chunk.get("progressDetail"):
            log(f"{chunk.get('id', '')}: {chunk['status']}".lstrip(": "))
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


def _indent(text: str) -> str:
    return "\n".join(f"  | {line}" for line in text.splitlines()[-40:])


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "No such file or directory", "Permission denied"):
        if marker in text:
            return marker.lower()
    return text.split(": ", 1)[-1][:200] or type(exc).__name__
