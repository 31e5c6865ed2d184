"""Everything the command prints goes through here, so that it is masked first.

In a GitHub workflow (GITHUB_ACTIONS=true) warnings and errors become annotations.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from private_registries.errors import RegistriesError
from private_registries.secret import MASKER

_annotations = False

# ESC [ ... final (CSI: colours, cursor moves), ESC ] ... BEL or ESC \ (OSC: titles, links),
# or ESC and one byte: what a build's output may hold that is not text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def configure(env: Mapping[str, str]) -> None:
    """Annotations (`::warning::`) instead of plain `warning:` lines when running in a workflow."""
    global _annotations
    _annotations = env.get("GITHUB_ACTIONS") == "true"


def in_github_actions() -> bool:
    return _annotations


_mid_line = False  # stdout holds a line not yet ended ("Adding registry... ")


def echo(text: str = "", *, end: str = "\n", file: TextIO | None = None) -> None:
    global _mid_line
    stream = file or sys.stdout
    written = MASKER.redact(text) + end
    stream.write(written)
    stream.flush()
    if stream is sys.stdout and written:
        _mid_line = not written.endswith("\n")


def plain(text: str, *, keep_colours: bool = False) -> str:
    """Output we did not write, without terminal escapes: an error message gets none, a log keeps
    only colours (the workflow log shows them), never titles, links or cursor moves."""
    if keep_colours:
        return _ESCAPE.sub(lambda m: m[0] if _COLOUR.fullmatch(m[0]) else "", text)
    return _ESCAPE.sub("", text)


def start_line() -> None:
    """End a line left open, so that what follows (a workflow command) starts a line of its own."""
    global _mid_line
    if _mid_line:
        sys.stdout.write("\n")
        _mid_line = False


def warn(message: str) -> None:
    _annotate("warning", message)


def error(message: str) -> None:
    _annotate("error", message)


def notice(message: str) -> None:
    _annotate("notice", message)


def report(failure: RegistriesError) -> None:
    """An error as the user sees it: what failed, then the fix, indented below."""
    message = failure.message
    if failure.hint:
        message += "\n  " + failure.hint.replace("\n", "\n  ")
    error(message)


def _annotate(level: str, message: str) -> None:
    # A message may quote a server or a build; escapes go first, so none can split a secret.
    message = MASKER.redact(plain(message))
    if in_github_actions():
        from private_registries import gha

        gha.annotate(level, message)
    else:
        echo(f"{level}: {message}", file=sys.stderr)


@contextlib.contextmanager
def group(title: str) -> Iterator[None]:
    """A foldable group of lines in a workflow log; a plain heading elsewhere."""
    if in_github_actions():
        from private_registries import gha

        with gha.group(MASKER.redact(title)):
            yield
    else:
        echo(f"# {title}")
        yield


@contextlib.contextmanager
def untrusted() -> Iterator[None]:
    """Output we did not write (a build log): in a workflow, it cannot issue workflow commands."""
    if in_github_actions():
        from private_registries import gha

        with gha.stop_commands():
            yield
    else:
        yield


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded as `convox registries` pads them (two spaces between)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in [headers, *rows]:
        echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def print_json(data: Any) -> None:
    echo(json.dumps(data, indent=2))
