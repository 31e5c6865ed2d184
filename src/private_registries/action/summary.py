"""The step summary: Markdown tables of what the action did (never a secret).

Every value in it that comes from elsewhere (a server's error, a username, an image reference, a
notice that quotes a file) is written in a code span, where Markdown renders nothing: no link, no
image fetched from a server, no HTML, no mention, no emphasis. It is masked and inert first (no
terminal escape, control characters written as escapes, no line a runner would read as a command).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from private_registries.credential import Credential
from private_registries.secret import MASKER
from private_registries.text import inert

_TICKS = re.compile(r"`+")


def code(text: str, *, in_table: bool = False) -> str:
    """`text` as a code span on one line, whatever it holds: a fence longer than any run of backticks
    in it, padded when it starts or ends with one (or with a space, which a span would drop); in a
    table, its pipes escaped (GFM reads `\\|` as a pipe of the cell, even in a code span)."""
    text = MASKER.redact(inert(MASKER.redact(text), one_line=True))
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in _TICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text: str) -> str:
    """A table cell: a code span whose pipes cannot end the cell."""
    return code(text, in_table=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(
    credentials: Sequence[Credential],
    *,
    failures: Sequence[str] = (),
    base_images: Mapping[str, str] | None = None,
    image_id: str = "",
    pushed: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> str:
    parts = ["### Private registries\n"]
    if credentials:
        parts.append(
            table(
                ["Registry", "Type", "User", "Expires"],
                [[c.server, str(c.registry.type), c.username, c.expires_text()] for c in credentials],
            )
        )
    else:
        parts.append("No registry credentials were available.\n")
    if failures:
        parts.append("\n**Failed:**\n\n" + "".join(f"- {code(failure)}\n" for failure in failures))
    if base_images:
        parts.append(
            "\n#### Base images\n\n"
            + table(["Image", "Digest"], [[ref, d] for ref, d in base_images.items()])
        )
    if image_id:
        rows = [[tag, digest] for tag, digest in (pushed or {}).items()]
        parts.append(f"\n#### Build\n\nImage {code(image_id)}\n")
        if rows:
            parts.append("\n" + table(["Pushed", "Digest"], rows))
    if notes:
        parts.append("\n" + "".join(f"> {code(note)}\n" for note in notes))
    return "".join(parts)
