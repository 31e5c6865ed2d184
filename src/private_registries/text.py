"""Text we did not write (a build's log, a server's message, a file's value), made inert before anyone
prints it.

`plain` drops terminal escapes. `inert` makes any text neutral for a workflow log, where the runner
acts on a line that starts with `::` (after leading whitespace) and on `##[` anywhere in a line: no
control characters (shown as escapes), no line that starts a workflow command, no `##[`. `cut`
shows a value that may be huge (or an alias tree) in a bounded space and time.
"""

from __future__ import annotations

import re
import reprlib

# ESC [ ... final (CSI: colours, cursor moves), ESC ] ... BEL or ESC \ (OSC: titles, links),
# or ESC and one byte: what a build's output may hold that is not text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# C0 and C1 controls (line breaks other than \n and \r\n among them), DEL, the Unicode line and
# paragraph separators, and the bidirectional overrides that make text read otherwise than it is.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]|\r(?!\n)")
_CONTROL_OR_BREAK = re.compile(f"[{_CONTROLS}\t\n\r]")
# What the runner reads as a command: `::` first on a line (after any whitespace, as .NET's TrimStart
# sees it), and the legacy `##[` anywhere.
_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)
_LEGACY = "##["
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# An environment variable's name, as POSIX spells it (use fullmatch).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def plain(text: str, *, keep_colours: bool = False) -> str:
    """Without terminal escapes: an error message gets none, a log keeps only colours (the workflow
    log shows them), never titles, links or cursor moves."""
    if keep_colours:
        return _ESCAPE.sub(lambda m: m[0] if _COLOUR.fullmatch(m[0]) else "", text)
    return _ESCAPE.sub("", text)


def inert(text: str, *, one_line: bool = False) -> str:
    """`text` as it may be printed to a workflow log: terminal escapes dropped, every other control
    character written as an escape (`\\x07`), `::` at the start of a line written `: :`, `##[` written
    `## [`. With `one_line` (a table cell, a title) line breaks and tabs are escaped too. The same text
    comes out of it unchanged a second time."""
    text = plain(text)
    text = (_CONTROL_OR_BREAK if one_line else _CONTROL).sub(_escape, text)
    if ":" in text:
        text = _COMMAND.sub(r"\1: ", text)
    while _LEGACY in text:  # a loop: `###[` becomes `## #[`, which holds no `##[` either
        text = text.replace(_LEGACY, "## [")
    return text


def escape_controls(text: str) -> str:
    """`text` with every control character but tab and line breaks (a NUL, an ESC, a bidirectional
    override) written as an escape (`\\x00`), nothing dropped: what a workflow command carries that
    we may not make inert (an `::add-mask::` value)."""
    return _CONTROL.sub(_escape, text)


def control_character(text: str) -> str | None:
    """The first control character (tab and line breaks included) in `text`, written as an escape; None
    if there is none. A name, a server or a username has none."""
    found = _CONTROL_OR_BREAK.search(text)
    return _escape(found) if found else None


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    if char in _SHORT:
        return _SHORT[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def cut(value: object, limit: int = 80) -> str:
    """repr(value) in at most `limit` characters, never walking more of it than that takes: a user's
    value may be a megabyte, or a YAML alias tree that would print as gigabytes."""
    shown = _REPR.repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def clip(text: str, limit: int = 200) -> str:
    """`text` itself (not its repr, as `cut` gives) in at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
