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
from typing import Any

from actions_toolkit.command import escape_data, escape_property

from private_registries.errors import InputError
from private_registries.secret import Secret
from private_registries.text import ENV_NAME, cut, escape_controls

# What each file command takes as a name. An environment variable's (STATE_<name> is one too): POSIX's.
# A step output's: an identifier as workflows spell them (`steps.ID.outputs.docker-config`).
OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,98}")  # fewer than 100 characters
_NAMES = {"GITHUB_ENV": ENV_NAME, "GITHUB_STATE": ENV_NAME, "GITHUB_OUTPUT": OUTPUT_NAME}
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_review", "pull_request_review_comment"})


def command(name: str, message: str = "", **properties: str | int) -> str:
    """`::name k=v,...::message` with every part escaped, so no value can end it or start another, and
    no control character reaches the log raw (a NUL, an ESC: written as `\\x00`, which the runner
    has no escape for)."""
    props = ",".join(
        f"{key}={escape_controls(escape_property(str(value)))}" for key, value in properties.items()
    )
    return f"::{name}{' ' + props if props else ''}::{escape_controls(escape_data(message))}"


def mask(value: str) -> str:
    """The runner masks each line of an escaped multi-line value too (runner >= 2.286). A value with
    another control character (a NUL) is announced as the console would print it (`\\x00`); the
    masker announces the parts between such characters too (secret._forms), which other programs
    may print raw."""
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
    """A pull request whose head is another repository's: GitHub gives it no secrets, no OIDC token.
    A head repository that is gone (`null`: the fork was deleted) is another repository too."""
    if env.get("GITHUB_EVENT_NAME") not in PULL_REQUEST_EVENTS:
        return False
    pull = _pull_request(env)
    if pull is None:
        return False
    try:
        head = pull["head"]["repo"]
        return head is None or bool(head["full_name"] != pull["base"]["repo"]["full_name"])
    except (KeyError, TypeError):
        return False


# Why GitHub gives this run no Actions secrets (see secrets_withheld).
FORK = "this is a pull request from a fork: GitHub gives it no secrets"
DEPENDABOT = "this run is Dependabot's: GitHub gives it Dependabot secrets only, no Actions secrets"
DEPENDABOT_ACTOR = "dependabot[bot]"
# The events of Dependabot's whose runs get no Actions secrets (GitHub's "Restrictions when
# Dependabot triggers events"); pull_request_target only when Dependabot opened the pull request.
DEPENDABOT_EVENTS = PULL_REQUEST_EVENTS | {"push", "create", "deployment", "deployment_status"}


def secrets_withheld(env: Mapping[str, str]) -> str | None:
    """Why GitHub withholds the repository's secrets from this run (FORK, DEPENDABOT), or None when it
    gives them, or this is no workflow run. The one place that decides it: a `secrets` input with no
    registry in it and a `password-env` that is not set are both read by it."""
    if is_fork_pull_request(env):
        return FORK
    if env.get("GITHUB_ACTOR") != DEPENDABOT_ACTOR:
        return None
    event = env.get("GITHUB_EVENT_NAME")
    if event in DEPENDABOT_EVENTS:
        return DEPENDABOT
    if event == "pull_request_target":
        pull = _pull_request(env)
        try:
            opened_by_dependabot = pull is not None and pull["user"]["login"] == DEPENDABOT_ACTOR
        except (KeyError, TypeError):
            opened_by_dependabot = False
        return DEPENDABOT if opened_by_dependabot else None
    return None


# What the runner gives a job with `permissions: id-token: write`.
ID_TOKEN_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
ID_TOKEN_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"


def oidc_withheld(env: Mapping[str, str]) -> str | None:
    """Why GitHub gives this run no OIDC token (a fork's pull request, Dependabot), or None: either it
    has one, or it lacks one for a reason the user can fix (`permissions: id-token: write`)."""
    if env.get(ID_TOKEN_REQUEST_URL) and env.get(ID_TOKEN_REQUEST_TOKEN):
        return None
    return secrets_withheld(env)


def _pull_request(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The event's `pull_request` object (GITHUB_EVENT_PATH), or None when there is none to read."""
    try:
        event = json.loads(Path(env.get("GITHUB_EVENT_PATH", "")).read_text())
        pull = event["pull_request"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return pull if isinstance(pull, dict) else None
