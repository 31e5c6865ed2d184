"""`registries build` against the same build by the docker CLI after a `docker login`, on the bench's
Docker Engine 26.1.

- BuildKit: the docker CLI 26.1 with the real buildx plugin 0.13.1 (`docker buildx build`, what
  `registries build` drives there), and the classic builder (the machine's own CLI, which has no
  buildx; `registries build --engine classic`): the same Dockerfile (a private base image, some
  seconds of RUN work), both with --pull --no-cache so every run pulls the base image with
  credentials and rebuilds. Median of several runs, alternating.
- The fixed overhead: the same cached build of almost nothing (a private base, one RUN step),
  `docker buildx build` then `registries build`, each as a user runs it; what is left of the
  difference is what `registries build` adds (its start, the engine's choice, the pre-flight, the
  temporary config).
"""

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
from tests.servers.fixtures import docker_config_for, push
from tests.servers.tools import plugins_config, tool

RUNS = 5
SMALL_RUNS = 15
WORK = 'RUN i=0; while [ "$i" -lt 4000000 ]; do i=$((i+1)); done; echo "$i" > /work'


@dataclass(frozen=True)
class Bench:
    daemon: Dockerd
    base: str
    context: Path
    entries: Path
    env: dict[str, str]  # ours: a DOCKER_CONFIG with the buildx plugin and no credential
    login: dict[
        str, Path
    ]  # the plain CLI's DOCKER_CONFIG, logged in: "buildkit" (with the plugin), "classic"


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
            env["DOCKER_CONFIG"] = str(plugins_config(root / "docker-plugins"))
            login = {
                "buildkit": plugins_config(docker_config_for(root / "login-buildx", {})),
                "classic": docker_config_for(
                    root / "login-classic", {}
                ),  # no plugin: `docker build` is classic
            }
            for folder in login.values():
                subprocess.run(
                    [str(tool("docker")), "login", "-u", "builder", "--password-stdin", registry.server],
                    input=password, env={**env, "DOCKER_CONFIG": str(folder)}, capture_output=True, text=True,
                    check=True,
                )  # fmt: skip
            bench = Bench(daemon, base, context, entries, env, login)
            buildx = [str(tool("docker")), "buildx", "build", "--progress=plain"]
            timings = {
                ("`docker buildx build`", "buildx (the docker CLI 26.1's plugin, 0.13.1)"): compare(
                    bench, buildx, "buildkit"
                ),
                ("`docker build`", "the classic builder"): compare(bench, ["docker", "build"], "classic"),
            }
            # The same with almost no work, cached: what is left of the difference is the fixed overhead.
            (context / "Dockerfile").write_text(f"FROM {base}\nRUN echo small > /small\n")
            small = compare(bench, buildx, "buildkit", runs=SMALL_RUNS, cold=False)
        finally:
            registry.stop()
            daemon.stop()
    results = {}
    for (command, engine), (plain, ours) in timings.items():
        plain_median, ours_median = statistics.median(plain), statistics.median(ours)
        plain_name = f"{command} `--pull --no-cache` with {engine}, after `docker login` (median of {RUNS})"
        ours_name = (
            f"`registries build --pull --no-cache` with {engine}, pre-flight included (median of {RUNS})"
        )
        results[plain_name] = f"{plain_median:.2f} s"
        results[ours_name] = f"{ours_median:.2f} s ({ours_median / plain_median:.3f}x; goal 1.05x)"
    plain_small, ours_small = (statistics.median(times) for times in small)
    name = (
        f"a cached build of almost nothing (median of {SMALL_RUNS}): `docker buildx build`, then "
        "`registries build`"
    )
    results[name] = (
        f"{plain_small:.2f} s, then {ours_small:.2f} s: a fixed overhead of {ours_small - plain_small:.2f} s"
    )
    return results


def compare(
    bench: Bench, plain_cli: list[str], engine: str, runs: int = RUNS, *, cold: bool = True
) -> tuple[list[float], list[float]]:
    """Alternating runs of the plain CLI (logged in) and of ours (no login); `cold`: each from a cold
    base, with --pull --no-cache; else both cached, after one run each that is not counted."""
    common = ["--pull", "--no-cache", "--network", "host"] if cold else ["--network", "host"]
    plain = [*plain_cli, *common, "-t", "bench/plain", str(bench.context)]
    ours = [sys.executable, "-m", "private_registries", "build", str(bench.context), *common,
            "-t", "bench/ours", "--registries", str(bench.entries), "--engine", engine]  # fmt: skip
    pair: tuple[tuple[list[float], list[str], dict[str, str]], ...] = (
        ([], plain, {**bench.env, "DOCKER_CONFIG": str(bench.login[engine])}),
        ([], ours, {**bench.env, "REGISTRIES_DOCKER_CLI": plain_cli[0]}),
    )
    if not cold:
        for _, argv, env in pair:
            subprocess.run(argv, env=env, capture_output=True, check=True)
    for _ in range(runs):
        for times, argv, env in pair:
            if cold:
                bench.daemon.docker("rmi", "-f", bench.base, "bench/plain", "bench/ours", check=False)
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
    return pair[0][0], pair[1][0]


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
