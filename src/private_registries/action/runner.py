"""The runner's facts, as a container action sees them: where runner.temp is mounted, how a path
inside becomes the host's path (and back), and who must own what later steps read.

The action runs in a container; the steps after it run on the host. Env values written to
$GITHUB_ENV are used literally there, so a folder under the runner-temp mount is handed on as the
host's runner.temp path (which reaches the container only through an input, in `args`). The files
must belong to the runner user (the owner of the workspace), not to the container's root. Run on
a host itself (a self-hosted runner's shell step, a local try), there are no mounts: the runner-temp
argument (else RUNNER_TEMP) is used as it is, and every path is the host's.

The runner rewrites an env value that starts with a mounted host folder to the container's path
(actions/runner, ContainerInfo.TranslateToContainerPath), so a job's DOCKER_CONFIG usually arrives
as a container path; one that arrives as a host path is mapped here through the same mounts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from private_registries.errors import InputError

RUNNER_TEMP_MOUNT = "/github/runner_temp"  # runner.temp (runner >= 2.331)
HOME_MOUNT = "/github/home"  # <runner.temp>/_github_home on the host, on every runner
HOME_ON_HOST = "_github_home"
WORKSPACE = "/github/workspace"


@dataclass(frozen=True)
class Mount:
    """A folder of the host mounted into the action's container; `host` is "" when unknown."""

    host: str
    container: Path


@dataclass(frozen=True)
class Runner:
    """Where this stage writes what later steps use (`temp`), and the same folder as the host sees it."""

    temp: Path
    temp_on_host: str  # "": unknown (the runner-temp input is empty), nothing can be handed on
    owner: tuple[int, int] | None = None  # the runner user's uid and gid; None: files stay the caller's
    mounts: tuple[Mount, ...] = ()  # the runner's other mounts this stage sees (home, workspace)
    on_host: bool = False  # no container: every path is the host's

    @classmethod
    def detect(cls, runner_temp_host: str, env: Mapping[str, str], workspace_host: str = "") -> Runner:
        """The runner as this stage finds it: the container's mounts, else the runner-temp argument
        (or RUNNER_TEMP) on the host."""
        temp_mount, home_mount, workspace = Path(RUNNER_TEMP_MOUNT), Path(HOME_MOUNT), Path(WORKSPACE)
        home_host = f"{runner_temp_host}/{HOME_ON_HOST}" if runner_temp_host else ""
        pairs = ((runner_temp_host, temp_mount), (home_host, home_mount), (workspace_host, workspace))
        mounts = tuple(Mount(host, path) for host, path in pairs if path.is_dir())
        owner = _owner(workspace)
        if temp_mount.is_dir():
            return cls(temp_mount, runner_temp_host, owner, mounts)
        if home_mount.is_dir():
            return cls(home_mount, home_host, owner, mounts)
        # on the host, its paths are the host's; the runner-temp argument (runner.temp, evaluated by
        # the runner) wins over RUNNER_TEMP, which another runner may set to a folder of its own
        # (act hands a docker action RUNNER_TEMP=/tmp, not runner.temp)
        for temp in (runner_temp_host, env.get("RUNNER_TEMP", "")):
            if temp and Path(temp).is_dir():
                return cls(Path(temp), temp, None, on_host=True)
        raise InputError(
            "no runner temp folder: no container action's mounts, and neither the runner-temp argument"
            " nor RUNNER_TEMP names a folder",
            hint="run the action in a GitHub workflow, or set RUNNER_TEMP to a folder for its files",
        )

    def new_folder(self) -> Path:
        """A fresh folder name for this stage's files (created by whoever writes there first)."""
        return self.temp / f"private-registries-{secrets.token_hex(4)}"

    def host_path(self, path: Path) -> str:
        """The host's path of a file under `temp` (or another mount); "" when that host path is unknown."""
        inside = PurePosixPath(os.path.normpath(str(path)))
        for mount in self._by_container():
            relative = _relative(inside, PurePosixPath(mount.container))
            if relative is not None:
                return str(PurePosixPath(mount.host) / relative) if mount.host else ""
        if self.on_host:
            return str(inside)
        raise InputError(f"{path} is not under {self.temp}, so the steps after this one cannot see it")

    def reach(self, folder: str) -> Path | None:
        """The path this stage can use for a folder that the job's env names (a container path, as the
        runner rewrites it, or a host path under a mount); None when no mount holds it."""
        if not folder:
            return None
        if self.on_host:
            return Path(os.path.abspath(folder))
        path = PurePosixPath(os.path.normpath(folder))
        if not path.is_absolute():
            return None
        for mount in self._by_container():
            if _relative(path, PurePosixPath(mount.container)) is not None:
                return Path(path)
        for mount in sorted(self._all(), key=lambda m: len(m.host), reverse=True):
            if not mount.host:
                continue
            relative = _relative(path, PurePosixPath(os.path.normpath(mount.host)))
            if relative is not None:
                return Path(mount.container) / relative
        return None

    def give(self, paths: Iterable[Path]) -> None:
        """chown files (and folders) to the runner user, who runs later steps; modes stay private."""
        if self.owner is None:
            return
        for path in paths:
            os.chown(path, *self.owner)

    def _all(self) -> list[Mount]:
        temp = Mount(self.temp_on_host, self.temp)
        return [temp, *(m for m in self.mounts if m.container != self.temp)]

    def _by_container(self) -> list[Mount]:
        return sorted(self._all(), key=lambda m: len(str(m.container)), reverse=True)


def _relative(path: PurePosixPath, parent: PurePosixPath) -> PurePosixPath | None:
    try:
        return path.relative_to(parent)
    except ValueError:
        return None


def _owner(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None  # not in a container action: the files are already the caller's
    return found.st_uid, found.st_gid
