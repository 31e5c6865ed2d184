"""The action's image: cold build time (no cache) and size, against the base image it starts from.

Built from a local Debian bookworm with python3 (debootstrap: no registry is reachable here); with
the default python:3.12-slim base the layers this project adds are the same. Its docker CLI comes
from the bench's stand-in (Debian's CLI, no buildx plugin); the official docker:<version>-cli image
adds its CLI (about 40 MB) and buildx plugin (about 60 MB) instead.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from tests.servers.dockerd import Dockerd
from tests.servers.images import docker_cli_image
from tests.servers.runner import REPO, python_base


def size(daemon: Dockerd, image: str) -> int:
    return int(json.loads(daemon.docker("image", "inspect", image).stdout)[0]["Size"])


def main() -> dict[str, str]:
    daemon = Dockerd(Path("/tmp") / f"bench-image-{secrets.token_hex(3)}")
    try:
        base = python_base(daemon)
        cli = docker_cli_image(daemon)
        start = time.perf_counter()
        daemon.docker(
            "build",
            "--no-cache",
            "--network",
            "host",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            f"DOCKER_CLI_IMAGE={cli}",
            "-t",
            "bench/action",
            str(REPO),
        )
        cold = time.perf_counter() - start
        base_size, image_size = size(daemon, base), size(daemon, "bench/action")
        docker = size(daemon, cli)
        venv = daemon.docker(
            "run", "--rm", "--entrypoint", "du", "bench/action", "-sm", "/opt/venv"
        ).stdout.split()[0]
        botocore = daemon.docker(
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            "bench/action",
            "-c",
            "du -sm /opt/venv/lib/python3*/site-packages/botocore",
        ).stdout.split()[0]
    finally:
        daemon.stop()
    added = (image_size - base_size) / 1e6
    return {
        "action image, cold build (no cache, packages from the index)": f"{cold:.0f} s",
        "action image size": (
            f"{image_size / 1e6:.0f} MB: base {base_size / 1e6:.0f} MB + {added:.0f} MB "
            f"(the docker CLI: {docker / 1e6:.0f} MB; the virtualenv: {venv} MB, of which botocore "
            f"{botocore} MB after trimming)"
        ),
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
