"""Text we did not write (a build's log, a server's message), made inert before anyone prints it."""

from __future__ import annotations

import re

# ESC [ ... final (CSI: colours, cursor moves), ESC ] ... BEL or ESC \ (OSC: titles, links),
# or ESC and one byte: what a build's output may hold that is not text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str, *, keep_colours: bool = False) -> str:
    """Without terminal escapes: an error message gets none, a log keeps only colours (the workflow
    log shows them), never titles, links or cursor moves."""
    if keep_colours:
        return _ESCAPE.sub(lambda m: m[0] if _COLOUR.fullmatch(m[0]) else "", text)
    return _ESCAPE.sub("", text)
