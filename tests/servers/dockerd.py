"""A Docker Engine of the bench's own: Docker Engine 26.1 (Debian 13's docker.io, BuildKit 0.13 built
in) with its own data-root, exec-root and socket, driven by the docker CLI 26.1 with the buildx plugin.

It runs without a bridge (so two of them never fight over docker0); containers and builds use the
host network, which also lets them reach the bench's loopback servers. With `containerd_store`, its
images live in containerd's image store (daemon.json `{"features": {"containerd-snapshotter": true}}`):
multi-platform images, and cache exports from the docker driver.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.servers.procs import BenchError, Process, wait_until
from tests.servers.tools import plugins_config, tool, tool_path_env


class Dockerd:
    def __init__(
        self, root: Path, insecure_registries: tuple[str, ...] = (), *, containerd_store: bool = False
    ) -> None:
        if os.geteuid() != 0:
            raise BenchError("the bench's dockerd must run as root")
        binary = str(tool("dockerd"))
        self.client_binary = str(tool("docker"))
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        plugins_config(root / "empty-config")  # the bench's own docker commands have buildx
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        argv = [
            binary,
            "--data-root", str(root / "data"),
            "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "docker.pid"),
            "-H", self.host,
            "--bridge", "none",
            "--iptables=false",
            "--ip6tables=false",
        ]  # fmt: skip
        if containerd_store:  # its snapshotter (overlayfs) stands for the storage driver
            config = root / "daemon.json"
            config.write_text(json.dumps({"features": {"containerd-snapshotter": True}}))
            argv += ["--config-file", str(config)]
        else:
            argv += ["--storage-driver", os.environ.get("BENCH_STORAGE_DRIVER", "overlay2")]
        for cidr in insecure_registries:
            argv += ["--insecure-registry", cidr]
        # Debian 12's runc serves Engine 26 (trixie's needs a newer libc); containerd is trixie's.
        env = {**os.environ, "PATH": tool_path_env()}
        self.process: Process | None = Process(argv, root / "dockerd.log", env=env)
        wait_until(self._ready, "dockerd", timeout=60, log=root / "dockerd.log")

    @classmethod
    def existing(cls, host: str, root: Path) -> Dockerd:
        """A daemon that already runs at `host` (not ours to stop)."""
        daemon = cls.__new__(cls)
        daemon.client_binary = str(tool("docker"))
        daemon.root, daemon.host, daemon.process = root, host, None
        return daemon

    def _ready(self) -> bool:
        if self.process is None or not self.process.alive():
            raise BenchError(f"dockerd exited:\n{(self.root / 'dockerd.log').read_text()[-3000:]}")
        return self.docker("version", check=False).returncode == 0

    def env(self, docker_config: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        if docker_config is not None:
            env["DOCKER_CONFIG"] = str(docker_config)
        return env

    def docker(
        self, *args: str, config: Path | None = None, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon, with `config` as its DOCKER_CONFIG."""
        env = self.env(config if config is not None else self.root / "empty-config")
        result = subprocess.run(
            [self.client_binary, *args],
            env=env,
            capture_output=True,
            text=not input,
            input=input,
            timeout=300,
        )
        if input is not None:
            result = subprocess.CompletedProcess(
                result.args,
                result.returncode,
                result.stdout.decode(errors="replace"),
                result.stderr.decode(errors="replace"),
            )
        if check and result.returncode != 0:
            raise BenchError(f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def stop(self) -> None:
        """Stop the daemon, then remove its folders (unmounting what it left mounted there)."""
        if self.process is None:
            return  # a daemon that was already running: not ours
        self.process.stop(timeout=30)
        for mount in sorted(_mounts_under(self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [point for point in points if point.startswith(prefix)]
