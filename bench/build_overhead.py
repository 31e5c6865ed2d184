"""`registries build` against a plain `docker build` after a `docker login`: the same Dockerfile
(a private base image, some seconds of RUN work), both with --pull --no-cache so every run pulls
the base image with credentials and rebuilds. Median of several runs, alternating. With BuildKit
(Debian's docker CLI, DOCKER_BUILDKIT=1: what `registries build` drives there), and with the
classic builder (the machine's own CLI, which has no buildx; `registries build --engine classic`)."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import clean_env
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import push
from tests.servers.images import DEBIAN_DOCKER_CLI

RUNS = 5
SMALL_RUNS = 15
WORK = 'RUN i=0; while [ "$i" -lt 4000000 ]; do i=$((i+1)); done; echo "$i" > /work'


@dataclass(frozen=True)
class Bench:
    daemon: Dockerd
    base: str
    context: Path
    entries: Path
    env: dict[str, str]
    docker_env: dict[str, str]  # the same, logged in with `docker login`


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
            bench = Bench(daemon, base, context, entries, env, docker_env)
            timings = {
                "BuildKit": compare(bench, DEBIAN_DOCKER_CLI, "buildkit", {"DOCKER_BUILDKIT": "1"}),
                "the classic builder": compare(bench, "docker", "classic", {}),
            }
            # The same with almost no work: what is left of the difference is the fixed overhead.
            (context / "Dockerfile").write_text(f"FROM {base}\nRUN echo small > /small\n")
            small = compare(bench, DEBIAN_DOCKER_CLI, "buildkit", {"DOCKER_BUILDKIT": "1"}, runs=SMALL_RUNS)
        finally:
            registry.stop()
            daemon.stop()
    results = {}
    for engine, (plain, ours) in timings.items():
        plain_median, ours_median = statistics.median(plain), statistics.median(ours)
        plain_name = (
            f"`docker build --pull --no-cache` with {engine}, after `docker login` (median of {RUNS})"
        )
        ours_name = (
            f"`registries build --pull --no-cache` with {engine}, pre-flight included (median of {RUNS})"
        )
        results[plain_name] = f"{plain_median:.2f} s"
        results[ours_name] = f"{ours_median:.2f} s ({ours_median / plain_median:.3f}x; goal 1.05x)"
    plain_small, ours_small = (statistics.median(times) for times in small)
    name = f"a build of almost nothing with BuildKit (median of {SMALL_RUNS}): `docker build`, ours"
    results[name] = (
        f"{plain_small:.2f} s, {ours_small:.2f} s: a fixed overhead of {ours_small - plain_small:.2f} s"
    )
    return results


def compare(
    bench: Bench, cli: str, engine: str, extra: dict[str, str], runs: int = RUNS
) -> tuple[list[float], list[float]]:
    """Alternating runs of the plain CLI (logged in) and of ours (no login), each from a cold base."""
    common = ["--pull", "--no-cache", "--network", "host"]
    plain = [cli, "build", "-q", *common, "-t", "bench/plain", str(bench.context)]
    ours = [sys.executable, "-m", "private_registries", "build", str(bench.context), *common,
            "-t", "bench/ours", "--registries", str(bench.entries), "--engine", engine]  # fmt: skip
    pair: tuple[tuple[list[float], list[str], dict[str, str]], ...] = (
        ([], plain, {**bench.docker_env, **extra}),
        ([], ours, {**bench.env, "REGISTRIES_DOCKER_CLI": cli}),
    )
    for _ in range(runs):
        for times, argv, env in pair:
            bench.daemon.docker("rmi", "-f", bench.base, "bench/plain", "bench/ours", check=False)
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
    return pair[0][0], pair[1][0]


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
