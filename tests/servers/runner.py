"""The GitHub runner, as far as a container action sees it: the action's image built from this
repository, and each stage run with exactly the `docker run` the runner uses (its mounts, INPUT_*
env, args, file-command files), then the file commands read back as the runner reads them.

Two deviations, both forced by the bench: the base image is a local Debian (no registry is
reachable), and the container uses the host network (the bench's dockerd has no bridge, and the
registries it talks to are on loopback).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.dockerd import Dockerd
from tests.servers.images import docker_cli_image
from tests.servers.procs import BenchError, require

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "bench/python:bookworm"
ACTION_IMAGE = "bench/private-registries-action:test"
CACHE = Path(os.environ.get("BENCH_CACHE", "/var/tmp/private-registries-bench"))
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
RUNNER_UID = 1001  # the runner user owns the workspace; root runs the container


def python_base(dockerd: Dockerd) -> str:
    """A Debian bookworm with python3 and venv, from debootstrap, imported as BASE_IMAGE.

    It trusts this machine's CAs (containers reach the package index through a TLS-intercepting
    proxy) and tells pip to use them. The root filesystem is cached between runs on one machine.
    """
    if dockerd.docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    tarball = CACHE / "bookworm-python3.tar"
    if not tarball.exists():
        require("debootstrap", "debootstrap")
        CACHE.mkdir(parents=True, exist_ok=True)
        rootfs = CACHE / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        mirror = os.environ.get("BENCH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
        result = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(rootfs),
                mirror,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BenchError(f"debootstrap failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        if HOST_CA.exists():
            shutil.copy(HOST_CA, rootfs / "etc/ssl/certs/ca-certificates.crt")
        (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
    result = subprocess.run(
        [dockerd.client_binary, "import", str(tarball), BASE_IMAGE],
        env=dockerd.env(dockerd.root / "empty-config"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"docker import of the base image failed: {result.stderr}")
    return BASE_IMAGE


def build_action_image(dockerd: Dockerd) -> str:
    """`docker build` of this repository's Dockerfile, as the runner builds a `uses: ./` action."""
    base = python_base(dockerd)
    cli = docker_cli_image(dockerd)
    result = dockerd.docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        f"DOCKER_CLI_IMAGE={cli}",
        "-t",
        ACTION_IMAGE,
        str(REPO),
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(
            f"building the action's image failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return ACTION_IMAGE


@dataclass
class StepResult:
    code: int
    out: str
    err: str
    env: dict[str, str] = field(default_factory=dict)  # what the step wrote to GITHUB_ENV
    outputs: dict[str, str] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class RunnerJob:
    """One job's folders on the "host", and the runner's way of running the action in them."""

    root: Path
    dockerd: Dockerd
    image: str = ACTION_IMAGE
    state: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the job's env: what earlier steps set (host paths)

    def __post_init__(self) -> None:
        self.temp = self.root / "_temp"
        self.workspace = self.root / "workspace"
        for folder in (
            self.temp / "_github_home",
            self.temp / "_github_workflow",
            self.temp / "_runner_file_commands",
            self.workspace,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        for folder in (self.temp, self.workspace):  # the runner user's, as on a runner
            os.chown(folder, RUNNER_UID, RUNNER_UID)

    def container_path(self, value: str) -> str:
        """An env value as the runner hands it to a container action: a host path under a mounted
        folder becomes the container's path, the first mapping that matches winning
        (ContainerInfo.TranslateToContainerPath); anything else is left as it is."""
        for host, inside in self.mappings():
            if value == host:
                return inside
            if value.startswith(host + "/"):
                return inside + value[len(host) :]
        return value

    def mappings(self) -> list[tuple[str, str]]:
        """The runner's mounts for a container action, in its order (runner >= 2.331)."""
        return [
            (str(self.temp), "/github/runner_temp"),
            (str(self.temp / "_github_home"), "/github/home"),
            (str(self.temp / "_github_workflow"), "/github/workflow"),
            (str(self.temp / "_runner_file_commands"), "/github/file_commands"),
            (str(self.workspace), "/github/workspace"),
        ]

    def run(self, stage: str, inputs: dict[str, str], env: dict[str, str] | None = None) -> StepResult:
        """One stage (main or post) with the runner's `docker run`."""
        commands = self.temp / "_runner_file_commands"
        suffix = uuid.uuid4().hex
        files = {
            name: commands / f"{name}_{suffix}"
            for name in ("set_env", "set_output", "save_state", "step_summary", "add_path")
        }
        for path in files.values():
            path.touch()
        variables = {
            "HOME": "/github/home",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_EVENT_NAME": "push",
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_ENV": f"/github/file_commands/{files['set_env'].name}",
            "GITHUB_OUTPUT": f"/github/file_commands/{files['set_output'].name}",
            "GITHUB_STATE": f"/github/file_commands/{files['save_state'].name}",
            "GITHUB_STEP_SUMMARY": f"/github/file_commands/{files['step_summary'].name}",
            "GITHUB_PATH": f"/github/file_commands/{files['add_path'].name}",
            **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
            **{f"STATE_{name}": value for name, value in self.state.items()},
            **{name: self.container_path(value) for name, value in {**self.env, **(env or {})}.items()},
        }
        argv = [
            "run",
            "--rm",
            "--name",
            f"action-{suffix[:12]}",
            "--workdir",
            "/github/workspace",
            "--network",
            "host",
        ]
        for name, value in variables.items():
            argv += ["-e", f"{name}={value}"]
        for source, target in [(str(self.dockerd.socket), "/var/run/docker.sock"), *self.mappings()]:
            argv += ["-v", f"{source}:{target}"]
        if stage == "post":
            argv += ["--entrypoint", "/post.py"]
        # args: ['${{ inputs.runner-temp }}', '${{ inputs.workspace }}'] (runs.args may name only
        # inputs), their defaults ${{ runner.temp }} and ${{ github.workspace }} evaluated on the host
        argv += [self.image, str(self.temp), str(self.workspace)]
        result = self.dockerd.docker(*argv, check=False)
        step = StepResult(
            result.returncode,
            result.stdout,
            result.stderr,
            env=read_file_command(files["set_env"]),
            outputs=read_file_command(files["set_output"]),
            state=read_file_command(files["save_state"]),
            summary=files["step_summary"].read_text(),
        )
        self.state.update(step.state)
        self.env.update(step.env)
        return step


def read_file_command(path: Path) -> dict[str, str]:
    """`NAME=VALUE` and `NAME<<DELIMITER` ... `DELIMITER` entries, as the runner parses them."""
    values: dict[str, str] = {}
    lines = path.read_text().split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        heredoc = re.match(r"^([^=<]+)<<(.+)$", line)
        if heredoc:
            name, delimiter = heredoc.groups()
            body = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise AssertionError(f"{path.name}: {name} has no closing delimiter")
            index += 1
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values
