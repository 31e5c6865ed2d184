"""Base images made here (no registry on the internet is reachable): busybox-static in a tarball."""

from __future__ import annotations

import io
import shutil
import tarfile

from tests.servers.dockerd import Dockerd
from tests.servers.procs import require
from tests.servers.tools import tool

APPLETS = ("sh", "ls", "cat", "echo", "true", "env", "test", "mkdir", "touch", "sleep")


def busybox_tar(marker: str = "") -> bytes:
    """A root filesystem with busybox and a few applets; `marker` lands in /etc/bench-image."""
    busybox = shutil.which("busybox") or require("busybox", "busybox-static")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        data = (marker + "\n").encode()
        info = tarfile.TarInfo("etc/bench-image")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def import_image(dockerd: Dockerd, reference: str, marker: str = "") -> str:
    """`docker import` a busybox image as `reference`; returns its image ID."""
    result = dockerd.docker("import", "-", reference, input=busybox_tar(marker or reference))
    return result.stdout.strip()


DEBIAN_DOCKER_CLI = "/usr/bin/docker"  # Debian 12's docker.io: CLI 20.10, BuildKit built in, no buildx
DOCKER_CLI_IMAGE = "bench/docker-cli:26.1"


def docker_cli_image(dockerd: Dockerd) -> str:
    """The official docker:<version>-cli image's shape, made offline from Debian 13's packages: the
    docker CLI 26.1 at /usr/local/bin/docker, and the buildx (0.13.1) and compose (2.26) plugins under
    /usr/local/libexec/docker/cli-plugins/. The action's image copies the CLI and buildx alone. They
    link only libc (>= 2.34), which the action's Debian base has."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("usr", "usr/local", "usr/local/bin", "usr/local/libexec", "usr/local/libexec/docker",
                       "usr/local/libexec/docker/cli-plugins"):  # fmt: skip
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        tar.add(str(tool("docker")), arcname="usr/local/bin/docker")
        for plugin in ("docker-buildx", "docker-compose"):
            tar.add(str(tool(plugin)), arcname=f"usr/local/libexec/docker/cli-plugins/{plugin}")
    dockerd.docker("import", "-", DOCKER_CLI_IMAGE, input=buffer.getvalue())
    return DOCKER_CLI_IMAGE
