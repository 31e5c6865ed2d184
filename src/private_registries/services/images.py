"""The images a build pulls, read from its Dockerfile: no network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from private_registries import dockerfile
from private_registries.dockerfile import BaseImage, DockerfileOptions


@dataclass(frozen=True)
class DockerfileImages:
    path: Path
    text: str
    images: tuple[BaseImage, ...]

    @property
    def servers(self) -> list[str]:
        return list(dict.fromkeys(base.image.server for base in self.images))


def images(options: DockerfileOptions) -> DockerfileImages:
    path = options.path
    text = dockerfile.read(path)
    found = dockerfile.base_images(
        text,
        str(path),
        options.build_args,
        options.platform,
        target=options.target,
        all_stages=options.all_stages,
        build_contexts=options.build_contexts,
    )
    return DockerfileImages(path, text, tuple(found))
