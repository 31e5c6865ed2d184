"""GitHub Actions workflow commands: masks, annotations, groups, file commands, step summary, OIDC.

The file commands and escaping come from actions-toolkit; what it lacks (the step summary, an OIDC
request with a timeout and retries, refusing a value that would break out of its command) is here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from actions_toolkit.command import escape_data, escape_property


def issue(command: str, message: str, **properties: str) -> None:
    """Print `::command k=v::message` with every part escaped, so no value can start a command."""
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


def append_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n")
