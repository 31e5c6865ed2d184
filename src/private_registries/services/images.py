"""The images a build pulls, read from its Dockerfile: no network, but for a Git context's Dockerfile
(read through the GitHub API)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from private_registries import dockerfile, gitcontext
from private_registries.context import Context
from private_registries.dockerfile import BaseImage, DockerfileOptions
from private_registries.errors import InputError
from private_registries.gitcontext import RemoteContext


@dataclass(frozen=True)
class DockerfileImages:
    path: Path
    text: str
    images: tuple[BaseImage, ...]

    @property
    def servers(self) -> list[str]:
        return list(dict.fromkeys(base.image.server for base in self.images))


def images(options: DockerfileOptions) -> DockerfileImages:
    return images_of(options, options.path, dockerfile.read(options.path))


def remote_images(
    options: DockerfileOptions, remote: RemoteContext, context: Context
) -> DockerfileImages | str:
    """A remote context's Dockerfile images, for the pre-flight: read here when FILE is absolute (buildx
    reads it here then), else through the GitHub API (gitcontext); why not, when it cannot be read."""
    if options.file is not None and options.file.is_absolute():
        return images(options)
    if not remote.git:
        return f"{remote.url} is no Git repository (a file BuildKit downloads)"
    fetched = gitcontext.read_dockerfile(remote, options.file, context)
    if fetched.text is None:
        return fetched.reason
    return images_of(options, Path(fetched.path), fetched.text)


def read_remote_images(
    options: DockerfileOptions, remote: RemoteContext, context: Context
) -> DockerfileImages:
    """remote_images for a command whose answer is the images (`images`, `check`): what keeps the
    Dockerfile from being read is the error, where a build goes on without its pre-flight."""
    found = remote_images(options, remote, context)
    if isinstance(found, str):
        raise InputError(
            f"cannot read the Dockerfile of the Git context {remote.repository}: {found}",
            hint="it is read through the GitHub API of GITHUB_SERVER_URL (github.com unless set), with "
            "GITHUB_TOKEN for a private repository; or give a checkout of it (a folder) instead",
        )
    return found


def images_of(options: DockerfileOptions, path: Path, text: str) -> DockerfileImages:
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
