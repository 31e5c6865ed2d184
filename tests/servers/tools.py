"""Where the suite's real Docker stack and kubectl are: Debian 13's packages (scripts/tools.sh).

On Debian 12 they are unpacked into the project's `.tools/` folder; on Debian 13 they are the system's
own packages. Either way a missing one fails the run (make test installs them), never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.servers.procs import BenchError

REPO = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("BENCH_TOOLS", REPO / ".tools"))

# name -> path under the package's root (the same under .tools/ and under /)
_PATHS = {
    "dockerd": "usr/sbin/dockerd",
    "docker": "usr/bin/docker",  # the docker CLI 26.1
    "docker-buildx": "usr/libexec/docker/cli-plugins/docker-buildx",  # the buildx plugin 0.13.1
    "docker-compose": "usr/libexec/docker/cli-plugins/docker-compose",  # in docker:*-cli images
    "containerd": "usr/bin/containerd",
    "kubectl": "usr/bin/kubectl",
}

# Debian 12's docker.io CLI (20.10): BuildKit built in, no buildx. Absent on a Debian 13 machine.
DEBIAN12_DOCKER_CLI = Path("/usr/bin/docker")


def tool(name: str) -> Path:
    """The path of one of the stack's programs; a BenchError naming the fix when it is missing."""
    relative = _PATHS[name]
    for root in (TOOLS, Path("/")):
        path = root / relative
        if path.is_file() and os.access(path, os.X_OK) and _is_modern(root):
            return path
    raise BenchError(f"{name} (Debian 13's package) is missing: `bash scripts/tools.sh` installs it")


def _is_modern(root: Path) -> bool:
    """The system's own programs count only on Debian 13, where they are the packages meant."""
    if root != Path("/"):
        return True
    return (TOOLS / ".source").is_file() and (TOOLS / ".source").read_text().strip() == "system"


def tool_path_env() -> str:
    """A PATH whose first folders hold the stack (dockerd finds containerd and its shims on PATH)."""
    folders = [str(tool("containerd").parent), str(tool("dockerd").parent)]
    return os.pathsep.join([*dict.fromkeys(folders), os.environ.get("PATH", "")])


def plugins_config(folder: Path) -> Path:
    """A DOCKER_CONFIG folder whose cli-plugins/ holds the buildx plugin, as a user who installed
    buildx into ~/.docker/cli-plugins has it (the CLI finds it there on any machine)."""
    plugins = folder / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-buildx"
    if not link.exists():
        link.symlink_to(tool("docker-buildx"))
    return folder


def debian12_cli() -> Path | None:
    """Debian 12's CLI 20.10 where the machine has it (the engine-choice test runs with each CLI)."""
    path = DEBIAN12_DOCKER_CLI
    if path.is_file() and shutil.which(str(path)) and path.resolve() != tool("docker").resolve():
        return path
    return None
