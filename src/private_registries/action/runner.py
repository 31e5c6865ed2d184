"""The runner's facts, as a container action sees them: where runner.temp is mounted, how a path
inside becomes the host's path, and who must own what later steps read.

The action runs in a container; the steps after it run on the host. Env values written to
$GITHUB_ENV are used literally there, so a folder under the runner-temp mount is handed on as the
host's runner.temp path (which reaches the container only through an input, in `args`). The files
must belong to the runner user (the owner of the workspace), not to the container's root. Run on
a host itself (a self-hosted runner's shell step, a local try), there are no mounts: RUNNER_TEMP is
used as it is.
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
class Runner:
    """Where this stage writes what later steps use (`temp`), and the same folder as the host sees it."""

    temp: Path
    temp_on_host: str  # "": unknown (the runner-temp input is empty), nothing can be handed on
    owner: tuple[int, int] | None = None  # the runner user's uid and gid; None: files stay the caller's

    @classmethod
    def detect(cls, runner_temp_host: str, env: Mapping[str, str]) -> Runner:
        owner = _owner(WORKSPACE)
        if Path(RUNNER_TEMP_MOUNT).is_dir():
            return cls(Path(RUNNER_TEMP_MOUNT), runner_temp_host, owner)
        if Path(HOME_MOUNT).is_dir():
            host = f"{runner_temp_host}/{HOME_ON_HOST}" if runner_temp_host else ""
            return cls(Path(HOME_MOUNT), host, owner)
        temp = env.get("RUNNER_TEMP", "")
        if temp and Path(temp).is_dir():
            return cls(Path(temp), temp, None)  # on the host: its paths are the host's
        raise InputError(
            "no runner temp folder: neither the container action's mounts nor RUNNER_TEMP are there",
            hint="run the action in a GitHub workflow, or set RUNNER_TEMP to a folder for its files",
        )

    def new_folder(self) -> Path:
        """A fresh folder name for this stage's files (created by whoever writes there first)."""
        return self.temp / f"private-registries-{secrets.token_hex(4)}"

    def host_path(self, path: Path) -> str:
        """The host's path of a file under `temp`; "" when the host's runner.temp is unknown."""
        if not self.temp_on_host:
            return ""
        inside = PurePosixPath(os.path.normpath(str(path)))
        try:
            relative = inside.relative_to(self.temp)
        except ValueError:
            raise InputError(
                f"{path} is not under {self.temp}, so the steps after this one cannot see it"
            ) from None
        return str(PurePosixPath(self.temp_on_host) / relative)

    def give(self, paths: Iterable[Path]) -> None:
        """chown files (and folders) to the runner user, who runs later steps; modes stay private."""
        if self.owner is None:
            return
        for path in paths:
            os.chown(path, *self.owner)


def _owner(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None  # not in a container action: the files are already the caller's
    return found.st_uid, found.st_gid
