"""The post stage: take out the credentials the main stage left (when `logout` is true).

It runs in a fresh container at the end of the job; what to undo arrives as STATE_* variables.
A failure here is a warning: it never fails the job.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from private_registries import dockerconfig, output
from private_registries.errors import RegistriesError


def run(env: Mapping[str, str], args: Sequence[str] = ()) -> int:
    output.configure({"GITHUB_ACTIONS": "true"})
    if env.get("STATE_logout") != "true":
        return 0
    try:
        cleanup(env)
    except (OSError, RegistriesError, ValueError) as exc:
        output.warn(f"could not remove the registry credentials at the end of the job: {exc}")
    return 0


def cleanup(env: Mapping[str, str]) -> None:
    folder = env.get("STATE_docker_config")
    if folder:
        directory = Path(folder)
        if env.get("STATE_created_docker_config") == "true":
            shutil.rmtree(directory, ignore_errors=True)
            output.echo(f"Removed {env.get('STATE_docker_config_host') or directory}")
        else:
            keys = json.loads(env.get("STATE_keys") or "[]")
            removed = dockerconfig.remove(directory, keys)
            where = env.get("STATE_docker_config_host") or directory
            output.echo(f"Logged out of {len(removed)} registries in {where}")
    secret = env.get("STATE_pull_secret_file")
    if secret:
        Path(secret).unlink(missing_ok=True)
