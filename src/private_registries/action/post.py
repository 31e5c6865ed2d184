"""The post stage: take out the credentials the main stage left (when `logout` is true).

It runs in a fresh container at the end of the job; what to undo arrives as the state main saved.
A failure here is a warning: it never fails the job.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping

from private_registries.action.state import ActionState
from private_registries.console import Console
from private_registries.errors import RegistriesError


def run(env: Mapping[str, str], console: Console) -> int:
    try:
        state = ActionState.load(env)
        if state is not None and state.logout and state.docker_config:
            shutil.rmtree(state.docker_config)
            console.echo(f"Removed {state.docker_config_host or state.docker_config}")
    except FileNotFoundError:
        pass  # already gone (runner.temp is wiped at the job's end anyway)
    except (OSError, RegistriesError) as exc:
        console.warn(f"could not remove the registry credentials at the end of the job: {exc}")
    return 0
