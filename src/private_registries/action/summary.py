"""The step summary: Markdown tables of what the action did (never a secret)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from private_registries.credential import Credential
from private_registries.secret import MASKER
from private_registries.text import plain


def cell(text: str) -> str:
    """Text made safe for a table cell: no escapes, pipes, line breaks or markup."""
    text = MASKER.redact(plain(text)).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


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
        parts.append("\n**Failed:**\n\n" + "".join(f"- {cell(failure)}\n" for failure in failures))
    if base_images:
        parts.append(
            "\n#### Base images\n\n"
            + table(["Image", "Digest"], [[ref, d] for ref, d in base_images.items()])
        )
    if image_id:
        rows = [[tag, digest] for tag, digest in (pushed or {}).items()]
        parts.append(f"\n#### Build\n\nImage `{cell(image_id)}`\n")
        if rows:
            parts.append("\n" + table(["Pushed", "Digest"], rows))
    if notes:
        parts.append("\n" + "".join(f"> {cell(note)}\n" for note in notes))
    return "".join(parts)
