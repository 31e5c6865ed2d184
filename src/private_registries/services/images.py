"""The images a build pulls, read from its Dockerfile: no network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from private_registries import dockerfile
from private_registries.dockerfile import BaseImage


@dataclass(frozen=True, kw_only=True)
class DockerfileOptions:
    """Which Dockerfile, read with which build args, for which platform."""

    context: Path = Path(".")
    file: Path | None = None  # default: CONTEXT/Dockerfile
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None

    @property
    def path(self) -> Path:
        return self.file or self.context / "Dockerfile"


@dataclass(frozen=True)
class DockerfileImages:
    path: Path
    images: tuple[BaseImage, ...]

    @property
    def servers(self) -> list[str]:
        return list(dict.fromkeys(base.image.server for base in self.images))


def images(options: DockerfileOptions) -> DockerfileImages:
    path = options.path
    text = dockerfile.read(path)
    found = dockerfile.base_images(text, str(path), options.build_args, options.platform)
    return DockerfileImages(path, tuple(found))
