"""The action's image: cold build time, size over its base, and the main stage's start-up.

Built from a local Debian bookworm with python3 (debootstrap: no registry is reachable here); with
the default python:3.12-slim base the layers this project adds are the same. Its docker CLI image is
made from Debian 13's packages in the official docker:<version>-cli shape (the CLI, and the buildx
and compose plugins); the action's image copies the CLI and buildx alone.

Before and after, measured in the same run on the same image: "before" copied every plugin of the
CLI image (compose's size is what that cost) and shipped no compiled Python (the main stage then
compiled its imports at every start, PYTHONDONTWRITEBYTECODE keeping it from saving them: timed
in a container of the same image with its __pycache__ folders removed).
"""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import time
from pathlib import Path

from tests.servers.dockerd import Dockerd
from tests.servers.images import docker_cli_image
from tests.servers.runner import REPO, python_base
from tests.servers.tools import tool

IMAGE = "bench/action"
RUNS = 7
# The main stage with nothing to do: no registries, no build (its fixed cost, imports first).
MAIN = [
    "-e", "INPUT_REGISTRIES=[]", "-e", "RUNNER_TEMP=/tmp", "-e", "GITHUB_ACTIONS=true",
    "-e", "GITHUB_OUTPUT=/tmp/out", "-e", "GITHUB_ENV=/tmp/env", "-e", "GITHUB_STATE=/tmp/state",
    "-e", "GITHUB_STEP_SUMMARY=/tmp/summary", "-e", "INPUT_EXPORT-DOCKER-CONFIG=false",
]  # fmt: skip


def size(daemon: Dockerd, image: str) -> int:
    return int(json.loads(daemon.docker("image", "inspect", image).stdout)[0]["Size"])


def in_image(daemon: Dockerd, script: str) -> str:
    return daemon.docker("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", script).stdout.strip()


def median_runs(daemon: Dockerd, runs: dict[str, list[str]]) -> dict[str, float]:
    """The median wall time of `docker run --rm` for each (image, args), interleaved so that the
    page cache and the machine's load treat every variant alike (the container's start included)."""
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(RUNS + 1):
        for key, argv in runs.items():
            start = time.perf_counter()
            done = daemon.docker("run", "--rm", "--network", "none", *argv, check=False)
            times[key].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"{key} failed:\n{done.stdout}\n{done.stderr}")
    return {key: statistics.median(values[1:]) for key, values in times.items()}  # the first warms up


def main() -> dict[str, str]:
    daemon = Dockerd(Path("/tmp") / f"bench-image-{secrets.token_hex(3)}")
    try:
        base = python_base(daemon)
        cli = docker_cli_image(daemon)
        start = time.perf_counter()
        daemon.docker(
            "build", "--no-cache", "--network", "host",
            "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"DOCKER_CLI_IMAGE={cli}",
            "-t", IMAGE, str(REPO),
        )  # fmt: skip
        cold = time.perf_counter() - start
        base_size, image_size = size(daemon, base), size(daemon, IMAGE)
        compose = tool("docker-compose").stat().st_size
        copied = tool("docker").stat().st_size + tool("docker-buildx").stat().st_size
        venv = int(in_image(daemon, "du -sk /opt/venv | cut -f1")) * 1024
        pycache = int(in_image(daemon, "find /opt/venv -name __pycache__ -prune -exec du -sk {} + "
                               "| awk '{s+=$1} END {print s}'")) * 1024  # fmt: skip
        # a container of the same image without its compiled files: the image before
        uncompiled = f"bench/action-uncompiled-{secrets.token_hex(3)}"
        name = f"strip-{secrets.token_hex(3)}"
        daemon.docker("run", "--name", name, "--entrypoint", "sh", IMAGE, "-c",
                      "find /opt/venv -name __pycache__ -prune -exec rm -rf {} +")  # fmt: skip
        # the stripping container's entrypoint must not become the image's
        entrypoint = 'ENTRYPOINT ["/entrypoint.py"]'
        daemon.docker("commit", "--change", entrypoint, "--change", "CMD []", name, uncompiled)
        daemon.docker("rm", name)
        timed = median_runs(
            daemon,
            {
                "container": ["--entrypoint", "true", IMAGE],
                "after": [*MAIN, IMAGE],
                "before": [*MAIN, uncompiled],
            },
        )
        container, after, before = timed["container"], timed["after"], timed["before"]
        daemon.docker("rmi", uncompiled)
    finally:
        daemon.stop()
    added = (image_size - base_size) / 1e6
    before_added = added - pycache / 1e6 + compose / 1e6  # compose copied, nothing compiled
    return {
        "action image, cold build (no cache, packages from the index)": f"{cold:.0f} s",
        "action image size": (
            f"{image_size / 1e6:.0f} MB: base {base_size / 1e6:.0f} MB + {added:.0f} MB (the docker CLI "
            f"26.1 and buildx 0.13.1: {copied / 1e6:.0f} MB; the virtualenv: {venv / 1e6:.0f} MB, of "
            f"which {pycache / 1e6:.0f} MB compiled Python); before: + {before_added:.0f} MB "
            f"with every plugin of the CLI image (compose {compose / 1e6:.0f} MB) and no compiled Python"
        ),
        "the main stage's start-up (docker run, nothing to do; median of 7)": (
            f"{after:.2f} s compiled, {before:.2f} s before (compiling its imports at every start); "
            f"an empty container of the image: {container:.2f} s"
        ),
    }


if __name__ == "__main__":
    try:
        for measure, value in main().items():
            print(f"{measure}: {value}")
    except subprocess.CalledProcessError as exc:
        raise SystemExit(str(exc)) from exc
