"""Where the main stage's logins go for the steps after it, and the record post needs to take them out.

Into the job's DOCKER_CONFIG when this stage can reach it (left set, so the logins and buildx
builders of earlier steps stay visible); else into a config.json in a folder of the action's own
under runner.temp, exported as DOCKER_CONFIG. Either way main's own folder holds the record of what
it wrote and what it replaced (UNDO_FILE, 0600): no secret travels through the state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from private_registries import dockerconfig
from private_registries.action.runner import Runner
from private_registries.action.state import UNDO_FILE, ActionState
from private_registries.credential import Credential
from private_registries.dockerconfig import MergeReport
from private_registries.errors import Caveat
from private_registries.fsutil import atomic_write, ensure_private_dir


@dataclass(frozen=True)
class Destination:
    folder: Path  # main's own folder under runner.temp: the undo record, the pull secret
    config_dir: Path  # where config.json is merged: the job's DOCKER_CONFIG, or `folder`
    merged: bool  # into the job's DOCKER_CONFIG (left set), not a folder of our own (exported)
    made: tuple[Path, ...]  # what did not exist before main wrote it (handed to the runner user)
    job_config: str = ""  # the job's DOCKER_CONFIG as its env names it


def destination(runner: Runner, env: Mapping[str, str], *, export: bool) -> tuple[Destination, list[Caveat]]:
    """The job's DOCKER_CONFIG when reachable (and `export-docker-config` is on), else a new folder."""
    folder = runner.new_folder()
    value = env.get("DOCKER_CONFIG", "") if export else ""
    reached = runner.reach(value) if value else None
    warnings = []
    if value and reached is None:
        warnings.append(
            Caveat(
                f"DOCKER_CONFIG ({value}) is not under runner.temp, the home folder or the workspace, so "
                "this container action cannot reach it: the steps after it get a new DOCKER_CONFIG, "
                "without the logins and buildx builders of the old one; set DOCKER_CONFIG under "
                "runner.temp, or put this step first"
            )
        )
    config_dir = reached or folder
    config = config_dir / dockerconfig.CONFIG_FILE
    made = tuple(p for p in (config_dir, config, config.with_name("config.json.lock")) if not p.exists())
    return Destination(folder, config_dir, reached is not None, made, value), warnings


def record(
    where: Destination,
    runner: Runner,
    credentials: Sequence[Credential],
    merged: MergeReport,
    *,
    logout: bool,
) -> ActionState:
    """Write the undo record, give the files to the runner user, and make the state post loads."""
    written = {credential.config_key: dockerconfig.auth_entry(credential) for credential in credentials}
    undo = where.folder / UNDO_FILE
    ensure_private_dir(where.folder)
    atomic_write(undo, json.dumps({"written": written, "replaced": merged.previous}).encode())
    runner.give(dict.fromkeys([*(p for p in where.made if p.exists()), where.folder, undo]))
    host = runner.host_path(where.config_dir)
    if not host and where.merged and Path(where.job_config) != where.config_dir:
        host = where.job_config  # it arrived as the host's path
    return ActionState(
        logout=logout,
        folder=str(where.folder),
        docker_config=str(where.config_dir),
        docker_config_host=host,
        merged=where.merged,
        added=tuple(key for key in written if key not in merged.previous),
        replaced=tuple(merged.previous),
    )
