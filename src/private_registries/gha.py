"""GitHub Actions workflow commands: masks, annotations, groups, file commands, step summary, OIDC.

The file commands and escaping come from actions-toolkit; what it lacks (the step summary, an OIDC
request with a timeout and retries, refusing a value that would break out of its command) is here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from urllib.parse import quote

from actions_toolkit.command import escape_data, escape_property

from private_registries.errors import InputError, RegistriesError
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure, Transport


def issue(command: str, message: str, **properties: str) -> None:
    """Print `::command k=v::message` with every part escaped, so no value can start a command."""
    from private_registries import output

    output.start_line()  # a command is only one at the start of a line
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    sys.stdout.write(f"::{command}{' ' + props if props else ''}::{escape_data(message)}\n")
    sys.stdout.flush()


def add_mask(value: str) -> None:
    # The runner masks each line of an escaped multi-line value too (runner >= 2.286).
    issue("add-mask", value)


def annotate(level: str, message: str, *, title: str | None = None) -> None:
    if title:
        issue(level, message, title=title)
    else:
        issue(level, message)


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    issue("group", title)
    try:
        yield
    finally:
        issue("endgroup", "")


@contextlib.contextmanager
def stop_commands() -> Iterator[None]:
    """Lines printed inside are not workflow commands, whatever they hold (a build's own output)."""
    import secrets

    token = secrets.token_hex(16)
    issue("stop-commands", token)
    try:
        yield
    finally:
        sys.stdout.write(f"::{token}::\n")
        sys.stdout.flush()


def append_summary(markdown: str, env: Mapping[str, str]) -> None:
    """Markdown for the run's summary page ($GITHUB_STEP_SUMMARY, at most 1 MiB a step)."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n")


def oidc_token(audience: str, env: Mapping[str, str], transport: Transport) -> Secret:
    """The job's OIDC token (a JWT) for `audience`, with the transport's timeout and retries.

    actions-toolkit's own call has neither, and a runner's token service does blip.
    """
    url, bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise InputError(
            "no OIDC token: this job may not request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set)",
            hint="give the job the permission:\n  permissions:\n    id-token: write\n    contents: read",
        )
    separator = "&" if "?" in url else "?"
    try:
        response = transport.request(
            "GET",
            f"{url}{separator}audience={quote(audience, safe='')}",
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
        )
    except NetworkFailure as failure:
        raise RegistriesError(f"the job's OIDC token service: {failure.reason}") from None
    if response.status_code != 200:
        raise RegistriesError(
            f"the job's OIDC token service answered {response.status_code}",
            hint="check that the job has `permissions: id-token: write`",
        )
    try:
        value = response.json().get("value")
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str) or not value:
        raise RegistriesError("the job's OIDC token service answered without a token")
    return Secret(value)


def announce_secrets(stream: str = "stdout") -> None:
    """Announce every secret, known now or made later, with `::add-mask::` on sys.stdout or sys.stderr.

    A command whose standard output is data (a Secret's YAML piped to kubectl) announces on standard
    error, which the runner reads for workflow commands too. Call it once per process and stream.
    """
    from private_registries.secret import MASKER

    def on_stderr(value: str) -> None:
        sys.stderr.write(f"::add-mask::{escape_data(value)}\n")
        sys.stderr.flush()

    MASKER.on_register(add_mask if stream == "stdout" else on_stderr)


def export_env(env: Mapping[str, str], values: Mapping[str, Secret | str]) -> None:
    """Variables for the steps after this one ($GITHUB_ENV)."""
    _append(env, "GITHUB_ENV", values)


def set_outputs(env: Mapping[str, str], values: Mapping[str, Secret | str]) -> None:
    """The step's outputs ($GITHUB_OUTPUT)."""
    _append(env, "GITHUB_OUTPUT", values)


def save_state(env: Mapping[str, str], values: Mapping[str, Secret | str]) -> None:
    """What the post stage reads back as STATE_<name> ($GITHUB_STATE)."""
    _append(env, "GITHUB_STATE", values)


def _append(env: Mapping[str, str], variable: str, values: Mapping[str, Secret | str]) -> None:
    """Append NAME<<DELIMITER ... entries to the file `variable` names (path from `env`, not
    os.environ), each with a random delimiter that the value may not contain (actions-toolkit
    refuses it). Secret values are masked before they are written."""
    from actions_toolkit.file_command import prepare_key_value_message

    if not values:
        return
    path = env.get(variable)
    if not path:
        raise InputError(f"{variable} is not set: cannot hand values to the workflow")
    lines = []
    for name, value in values.items():
        plain = value.reveal() if isinstance(value, Secret) else value
        if isinstance(value, Secret):
            add_mask(plain)
        try:
            lines.append(prepare_key_value_message(name, plain))
        except Exception:  # actions-toolkit raises plain Exception when a value holds its delimiter
            raise InputError(f"the value of {name} cannot be written to {variable}") from None
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write("".join(line + os.linesep for line in lines))
