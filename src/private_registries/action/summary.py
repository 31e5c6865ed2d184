"""The step summary: Markdown tables of what the action did (never a secret).

Every value in it that comes from elsewhere (a server's error, a username, an image reference, a
notice that quotes a file) is written in a code span, where Markdown renders nothing: no link, no
image fetched from a server, no HTML, no mention, no emphasis; a build log's lines in a fenced block
whose fence is longer than any run of backticks in them. It is masked and inert first (no terminal
escape, control characters written as escapes, no line a runner would read as a command).

The build's part (what was built, or the failing step and the log's tail) is left out when
DOCKER_BUILD_SUMMARY is false, as docker/build-push-action leaves out its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from private_registries.credential import Credential
from private_registries.secret import MASKER
from private_registries.services.build import BuildResult
from private_registries.services.merge import MergeResult
from private_registries.text import clip, cut, inert

_TICKS = re.compile(r"`+")
_LISTED = 50  # items of one list (tags, caches) shown; the rest counted
_ROWS = 200  # rows of one table (base images, pushed names)
# The fields of a cache backend (gha, s3, azblob) that carry a credential: shown as ***.
_CACHE_SECRET = re.compile(
    r"(?i)\b(token|secret|secret_access_key|session_token|access_key_id|password|account_key)=([^,]*)"
)
SUMMARY_VARIABLE = "DOCKER_BUILD_SUMMARY"
# What build-push-action reads there: @docker/actions-toolkit's Util.parseBool, Go's strconv.ParseBool.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


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
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows[:_ROWS]]
    if len(rows) > _ROWS:
        lines.append(f"| *and {len(rows) - _ROWS} more* |" + " |" * (len(headers) - 1))
    return "\n".join(lines) + "\n"


def fenced(lines: Sequence[str]) -> str:
    """Lines quoted as they are, in a fenced code block: masked and inert each, the fence longer than
    any run of backticks in them (no line can close it), so nothing in it renders."""
    shown = [MASKER.redact(inert(MASKER.redact(line))) for line in lines]
    longest = max((len(run) for line in shown for run in _TICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}text", *shown, fence]) + "\n"


def build_summary_wanted(env: Mapping[str, str]) -> tuple[bool, str]:
    """Whether the build's part goes into the summary (DOCKER_BUILD_SUMMARY, as build-push-action reads
    it: unset or empty is on), and a warning for a value it would not take (the part stays)."""
    value = env.get(SUMMARY_VARIABLE, "")
    if not value or value in _TRUE:
        return True, ""
    if value in _FALSE:
        return False, ""
    return True, (
        f"{SUMMARY_VARIABLE}={cut(value, 40)} is not a boolean (docker/build-push-action takes 1, t, true, "
        "TRUE, True and 0, f, false, FALSE, False): the build summary stays on"
    )


def build(result: BuildResult, *, heading: str = "####") -> str:
    """What was built: its tags, digest, platforms, engine, cache and duration, the names pushed and
    the base images with their digests; or the failing step and the log's last lines. Empty when the
    build did not run (the pre-flight failed first)."""
    if not result.ran:
        return ""
    spec, outline = result.spec, result.outline
    evaluated = spec is not None and spec.evaluates
    if result.error is not None:
        state = "failed"
    elif evaluated and spec is not None:
        state = f"evaluated (call {spec.call})"
    else:
        state = "built"
    rows = [("Result", state)]
    if result.image_id:
        rows.append(("Image", code(result.image_id, in_table=True)))
    rows.append(("Tags", _listed(result.tags)))
    if result.digest:
        rows.append(("Digest", code(result.digest, in_table=True)))
    rows.append(("Platforms", _listed(result.platforms) if result.platforms else "the builder's default"))
    if result.engine:
        rows.append(("Engine", code(result.engine, in_table=True)))
    if spec is not None:
        rows.append(("Cache from", _listed([_cache(value) for value in spec.cache_from])))
        rows.append(("Cache to", _listed([_cache(value) for value in spec.cache_to])))
    if outline.steps:
        rows.append(("Cache hits", f"{outline.cached} of {outline.steps} steps"))
    rows.append(("Duration", _duration(result.seconds or 0.0)))
    parts = [f"\n{heading} Build\n\n| | |\n|---|---|\n"]
    parts += [f"| {name} | {value} |\n" for name, value in rows]
    if result.pushed:
        parts.append("\n" + table(["Pushed", "Digest"], [[name, d] for name, d in result.pushed.items()]))
    if result.base_images:
        parts.append(
            f"\n{heading} Base images\n\n"
            + table(["Image", "Digest"], [[ref, d] for ref, d in result.base_images.items()])
        )
    if result.error is not None:
        parts.append(_failed(result))
    return "".join(parts)


def merge(result: MergeResult, *, heading: str = "####") -> str:
    """The index a merge made: its digest, the tags it went to, the images in it, its annotations."""
    rows = [
        ("Digest", code(result.digest, in_table=True)),
        ("Tags", _listed(result.tags)),
        ("Images", _listed(result.sources)),
        ("Annotations", _listed([clip(annotation) for annotation in result.annotations])),
        ("Duration", _duration(result.seconds)),
    ]
    return f"\n{heading} Merge\n\n| | |\n|---|---|\n" + "".join(
        f"| {name} | {value} |\n" for name, value in rows
    )


def _failed(result: BuildResult) -> str:
    outline = result.outline
    step = f"step {code(outline.failed_step)}" if outline.failed_step else "the build"
    where = f" ({code(outline.failed_at)})" if outline.failed_at else ""
    reason = outline.reason or (result.error.message.split("\n", 1)[0] if result.error else "")
    text = f"\n**Failed:** {step}{where}" + (f": {code(reason)}" if reason else "") + "\n"
    if outline.tail:
        text += f"\nThe log's last {len(outline.tail)} lines:\n\n" + fenced(outline.tail)
    return text


def _listed(values: Sequence[str]) -> str:
    if not values:
        return "none"
    shown = ", ".join(code(value, in_table=True) for value in values[:_LISTED])
    return shown + (f" and {len(values) - _LISTED} more" if len(values) > _LISTED else "")


def _cache(value: str) -> str:
    return _CACHE_SECRET.sub(lambda match: f"{match[1]}=***", value)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def render(
    credentials: Sequence[Credential],
    *,
    failures: Sequence[str] = (),
    base_images: Mapping[str, str] | None = None,
    image_id: str = "",
    pushed: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    built: BuildResult | None = None,
    merged: MergeResult | None = None,
) -> str:
    """The registries table, the failures, then the build (`built`: its own part, see `build`; else
    the image ID and pushed names alone) or the merge, the base images of the pre-flight, and the
    notes."""
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
    if built is not None:
        parts.append(build(built))
    if merged is not None:
        parts.append(merge(merged))
    if image_id:
        rows = [[tag, digest] for tag, digest in (pushed or {}).items()]
        parts.append(f"\n#### Build\n\nImage {code(image_id)}\n")
        if rows:
            parts.append("\n" + table(["Pushed", "Digest"], rows))
    if notes:
        parts.append("\n" + "".join(f"> {code(note)}\n" for note in notes))
    return "".join(parts)
