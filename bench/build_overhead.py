"""`registries build` against a plain `docker build` after a `docker login`: the same Dockerfile
(a private base image, some seconds of RUN work), both with --pull --no-cache so every run pulls
the base image with credentials and rebuilds. Median of several runs, alternating."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import clean_env
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import push

RUNS = 5
WORK = 'RUN i=0; while [ "$i" -lt 4000000 ]; do i=$((i+1)); done; echo "$i" > /work'


def main() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        daemon = Dockerd(Path("/tmp") / f"bench-build-{secrets.token_hex(3)}")
        password = secrets.token_hex(8)
        registry = Registry(root / "registry", users={"builder": password})
        try:
            base = f"{registry.server}/base/image:1"
            push(daemon, base, "builder", password, root)
            context = root / "ctx"
            context.mkdir()
            (context / "Dockerfile").write_text(f"FROM {base}\n{WORK}\n")
            entries = root / "registries.yml"
            entry = {"server": registry.server, "username": "builder", "password": password}
            entries.write_text(yaml.safe_dump([entry]))
            env = {**os.environ, **clean_env(root), "DOCKER_HOST": daemon.host}
            docker_env = {**env, "DOCKER_CONFIG": str(root / "docker-login")}
            subprocess.run(
                ["docker", "login", "-u", "builder", "--password-stdin", registry.server],
                input=password, env=docker_env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            plain = ["docker", "build", "-q", "--pull", "--no-cache", "-t", "bench/plain", str(context)]
            ours = [sys.executable, "-m", "private_registries", "build", str(context), "--pull", "--no-cache",
                    "-t", "bench/ours", "--registries", str(entries)]  # fmt: skip
            timings: dict[str, list[float]] = {"plain": [], "ours": []}
            for _ in range(RUNS):
                for name, argv, run_env in (("plain", plain, docker_env), ("ours", ours, env)):
                    daemon.docker("rmi", "-f", base, check=False)
                    start = time.perf_counter()
                    subprocess.run(argv, env=run_env, capture_output=True, check=True)
                    timings[name].append(time.perf_counter() - start)
        finally:
            registry.stop()
            daemon.stop()
    plain_median = statistics.median(timings["plain"])
    ours_median = statistics.median(timings["ours"])
    overhead = (ours_median - plain_median) / plain_median * 100
    return {
        f"`docker build` after `docker login` (median of {RUNS})": f"{plain_median:.2f} s",
        f"`registries build`, pre-flight included (median of {RUNS})": (
            f"{ours_median:.2f} s ({overhead:+.1f}%)"
        ),
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
