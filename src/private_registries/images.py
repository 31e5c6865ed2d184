"""Image references as Docker reads them: `nginx` is `docker.io/library/nginx:latest`.

The first path component is a registry only if it has a dot or a colon, or is `localhost`
(or is not lower case); otherwise the image is on Docker Hub, where one-part names live under
`library/`. No tag means `latest`, unless a digest pins the image.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from private_registries.errors import InputError
from private_registries.hosts import DOCKER_HUB, DOCKER_HUB_ALIASES
from private_registries.text import cut

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,256}$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)


def is_digest(text: str) -> bool:
    """`algorithm:hex`, as a reference pins an image and as a registry names a manifest."""
    return _DIGEST.fullmatch(text) is not None


@dataclass(frozen=True)
class ImageRef:
    server: str  # the registry, as our entries name it (Docker Hub: docker.io)
    repository: str  # the path in the registry, e.g. library/nginx
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What the registry's manifest endpoint takes: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.server}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image(text: str, where: str = "image") -> ImageRef:
    """Normalise `text`; raise InputError naming `where` if it is not a valid reference."""
    original = text.strip()
    if not original:
        raise InputError(f"{where}: the image reference is empty")
    rest, _, digest = original.partition("@")
    if digest and not is_digest(digest):
        raise InputError(f"{where}: {cut(original)} has an invalid digest {cut(digest)}")
    tag: str | None = None
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise InputError(f"{where}: {cut(original)} has an invalid tag {cut(tag)}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        if not _DOMAIN.match(first):
            raise InputError(f"{where}: {cut(original)} has an invalid registry {cut(first)}")
        server, path = first.lower(), remainder
    else:
        server, path = DOCKER_HUB, rest
    if server in DOCKER_HUB_ALIASES:
        server = DOCKER_HUB
    if server == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _PATH.match(path):
        raise InputError(
            f"{where}: {cut(original)} is not a valid image reference",
            hint="repository names are lower case (letters, digits, and . _ - between them), "
            "e.g. registry.example.org/team/app:1",
        )
    if tag is None and not digest:
        tag = "latest"
    return ImageRef(server, path, tag, digest or None)


def image_server(reference: object) -> str | None:
    """The registry of an image reference; None when it is not one (empty, an unrendered template)."""
    if not isinstance(reference, str):
        return None
    try:
        return parse_image(reference).server
    except InputError:
        return None


def servers_of(images: Iterable[object]) -> list[str]:
    """The distinct registries of these images, in order of first appearance."""
    found = (image_server(image) for image in images)
    return list(dict.fromkeys(server for server in found if server))
