"""What later steps of the job are handed: DOCKER_CONFIG (a HOST path), and the action's outputs.

The action runs in a container; the steps after it run on the host. Env values written to
$GITHUB_ENV are used literally there, so a folder under the container's runner-temp mount must be
given back as the host's runner.temp path (which reaches the container only through an input). The
files must belong to the runner user, not to the container's root. Writing $GITHUB_ENV and
$GITHUB_OUTPUT is the action's job; these functions say what to write.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from private_registries.credential import Credential
from private_registries.deploy import kubernetes
from private_registries.errors import InputError
from private_registries.secret import Secret

RUNNER_TEMP_MOUNT = "/github/runner_temp"  # where the runner mounts runner.temp in a container action
WORKSPACE = "/github/workspace"


def host_path(container_path: str | Path, runner_temp_host: str, mount: str = RUNNER_TEMP_MOUNT) -> str:
    """The host's path of a file the container wrote under the runner-temp mount."""
    inside = PurePosixPath(os.path.normpath(str(container_path)))
    try:
        relative = inside.relative_to(mount)
    except ValueError:
        raise InputError(
            f"{container_path} is not under {mount}, so the steps after this one cannot see it",
            hint=f"write it under {mount} (the runner's runner.temp)",
        ) from None
    if not runner_temp_host:
        raise InputError(
            "the host path of runner.temp is unknown",
            hint="give the action its runner-temp input (default: ${{ runner.temp }})",
        )
    return str(PurePosixPath(runner_temp_host) / relative)


def env_exports(docker_config_host: str) -> dict[str, str]:
    """$GITHUB_ENV entries: later `docker` and `kubectl` steps find the credentials through DOCKER_CONFIG."""
    return {"DOCKER_CONFIG": docker_config_host}


def outputs(
    credentials: Sequence[Credential], docker_config_host: str, pull_secret_file_host: str | None = None
) -> dict[str, str | Secret]:
    """The action's outputs `docker-config`, `dockerconfigjson` (base64; a Secret, to be masked first) and
    `pull-secret-file`."""
    values: dict[str, str | Secret] = {
        "docker-config": docker_config_host,
        "dockerconfigjson": kubernetes.encoded(credentials),
    }
    if pull_secret_file_host:
        values["pull-secret-file"] = pull_secret_file_host
    return values


def give_to_runner(paths: Iterable[Path], workspace: str = WORKSPACE) -> None:
    """chown files (and folders) to the owner of the workspace: the runner user, who runs later steps.

    Their modes stay private (0600/0700): readable by that user alone.
    """
    try:
        owner = os.stat(workspace)
    except OSError:
        return  # not in a container action: the files are already the caller's
    for path in paths:
        os.chown(path, owner.st_uid, owner.st_gid)
