"""GitHub Actions workflow commands: formatted here, printed by the console.

The stdout commands (`::warning::`, `::add-mask::`, groups, stop-commands) are returned as lines;
the file commands ($GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_STATE) are appended to the files the job's
environment names. Escaping and the heredoc form come from actions-toolkit; refusing a value that
would break out of its command is ours.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from actions_toolkit.command import escape_data, escape_property

from private_registries.errors import InputError
from private_registries.secret import Secret
from private_registries.text import ENV_NAME, cut

# What each file command takes as a name. An environment variable's (STATE_<name> is one too): POSIX's.
# A step output's: an identifier as workflows spell them (`steps.ID.outputs.docker-config`).
OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,98}")  # fewer than 100 characters
_NAMES = {"GITHUB_ENV": ENV_NAME, "GITHUB_STATE": ENV_NAME, "GITHUB_OUTPUT": OUTPUT_NAME}
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_review", "pull_request_review_comment"})


def command(name: str, message: str = "", **properties: str | int) -> str:
    """`::name k=v,...::message` with every part escaped, so no value can end it or start another."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def mask(value: str) -> str:
    # The runner masks each line of an escaped multi-line value too (runner >= 2.286).
    return command("add-mask", value)


def stop_commands() -> tuple[str, str]:
    """The line that stops the runner reading commands, and the line that resumes it (a random token)."""
    import secrets  # loaded when a build log needs it, not at every start

    token = secrets.token_hex(16)
    return command("stop-commands", token), f"::{token}::"


def export_env(env: Mapping[str, str], values: Mapping[str, Secret | str]) -> None:
    """Variables for the steps after this one ($GITHUB_ENV)."""
    _append(env, "GITHUB_ENV", values)


def set_outputs(env: Mapping[str, str], values: Mapping[str, Secret | str]) -> None:
    """The step's outputs ($GITHUB_OUTPUT)."""
    _append(env, "GITHUB_OUTPUT", values)


def save_state(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """What the post stage reads back as STATE_<name> ($GITHUB_STATE)."""
    _append(env, "GITHUB_STATE", values)


def _append(env: Mapping[str, str], variable: str, values: Mapping[str, Secret | str]) -> None:
    """Append NAME<<DELIMITER ... entries to the file `variable` names (path from `env`, not
    os.environ), each with a random delimiter that the value may not contain (actions-toolkit
    refuses it). Every name is checked first: one that is not a name (`A=B`, a line break) would
    set other variables for every later step; then nothing is written. Secret values were announced
    for masking when they were made."""
    from actions_toolkit.file_command import prepare_key_value_message

    if not values:
        return
    for name in values:
        if not _NAMES[variable].fullmatch(name):
            raise InputError(
                f"{cut(name)} is not a valid name for {variable}; nothing was written to it",
                hint=f"a name matches {_NAMES[variable].pattern}",
            )
    path = env.get(variable)
    if not path:
        raise InputError(f"{variable} is not set: cannot hand values to the workflow")
    lines = []
    for name, value in values.items():
        plain = value.reveal() if isinstance(value, Secret) else value
        try:
            lines.append(prepare_key_value_message(name, plain))
        except Exception:  # actions-toolkit raises plain Exception when a value holds its delimiter
            raise InputError(f"the value of {name} cannot be written to {variable}") from None
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write("".join(line + os.linesep for line in lines))


def is_fork_pull_request(env: Mapping[str, str]) -> bool:
    """A pull request whose head is another repository's: GitHub gives it no secrets, no OIDC token."""
    if env.get("GITHUB_EVENT_NAME") not in PULL_REQUEST_EVENTS:
        return False
    try:
        event = json.loads(Path(env.get("GITHUB_EVENT_PATH", "")).read_text())
        pull = event["pull_request"]
        return bool(pull["head"]["repo"]["full_name"] != pull["base"]["repo"]["full_name"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return False
