"""The post stage: take out the credentials the main stage left (when `logout` is true).

It runs in a fresh container at the end of the job (or on the host, as main did); what to undo
arrives as the state main saved, and the entries themselves in main's own folder (UNDO_FILE).
In the config.json main merged into, each entry main wrote goes, or gets back the entry it replaced;
an entry rewritten since by a later step, every other key, and anything else in the folder (a later
login, buildx's builders) are left as they are. Then main's own folder goes. A failure here is a
warning: it never fails the job.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from private_registries import dockerconfig
from private_registries.action.state import PULL_SECRET_FILE, UNDO_FILE, ActionState
from private_registries.console import Console
from private_registries.errors import InputError, RegistriesError


def run(env: Mapping[str, str], console: Console) -> int:
    try:
        state = ActionState.load(env)
        if state is not None and state.logout and state.folder:
            undo(state, console)
    except FileNotFoundError:
        pass  # already gone (runner.temp is wiped at the job's end anyway)
    except (OSError, RegistriesError) as exc:
        console.warn(f"could not remove the registry credentials at the end of the job: {exc}")
    return 0


def undo(state: ActionState, console: Console) -> None:
    folder, config_dir = Path(state.folder), Path(state.docker_config)
    where = f"{state.docker_config_host or state.docker_config}/{dockerconfig.CONFIG_FILE}"
    try:
        written, replaced = _record(folder / UNDO_FILE)
    except FileNotFoundError:
        if not state.merged:
            raise  # main's own folder is gone already, and the credentials with it
        raise InputError(
            f"the record of what the main stage wrote is gone, so {where} keeps "
            f"{', '.join(state.added + state.replaced)}"
        ) from None
    done = dockerconfig.restore(config_dir, written, replaced)
    if done.removed or done.restored:
        restored = f", put back {len(done.restored)} it had replaced" if done.restored else ""
        console.echo(f"Removed {len(done.removed)} credentials from {where}{restored}")
    for key in done.changed:
        console.echo(f"{key}: rewritten in {where} by a later step, left to it")
    if state.merged or folder != config_dir:
        shutil.rmtree(folder)
        return
    # The folder is main's own, exported as DOCKER_CONFIG: later steps may have written there too.
    for name in (UNDO_FILE, PULL_SECRET_FILE, f"{dockerconfig.CONFIG_FILE}.lock"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    config = folder / dockerconfig.CONFIG_FILE
    if config.exists() and dockerconfig.read(config) in ({}, {"auths": {}}):
        config.unlink()
    left = sorted(path.name for path in folder.iterdir())
    if left:
        console.echo(f"Left what later steps put in {state.docker_config_host or folder}: {', '.join(left)}")
    else:
        folder.rmdir()
        console.echo(f"Removed {state.docker_config_host or folder}")


def _record(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """What main wrote and what it replaced, as it recorded them."""
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not the record main wrote ({exc})") from None
    written, replaced = (data.get(k) if isinstance(data, dict) else None for k in ("written", "replaced"))
    if not isinstance(written, dict) or not isinstance(replaced, dict):
        raise InputError(f"{path}: not the record main wrote")
    return written, replaced
