"""What a build's log tells of it, read line by line as it streams, in bounded memory: how many of
the Dockerfile's steps ran and how many BuildKit took from its cache, the step that failed, where
and why, and the log's last lines (each cut). The step summary shows it.

BuildKit's plain progress (`--progress=plain`, buildx and `docker build` alike) numbers each vertex:
`#5 [2/3] RUN make` opens vertex 5, `#5 CACHED` or `#5 DONE 0.3s` ends it, `#5 ERROR: why` fails it;
after a failure `Dockerfile:3` names the line, and `ERROR: failed to solve: why` ends the log. The
classic builder says `Step 2/3 : RUN make`, then ` ---> Using cache` for a step it did not run.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

TAIL_LINES = 30  # the log's last lines the summary quotes
LINE_CHARS = 500  # each of them cut to this
_NAMES = 4096  # vertices whose names are kept: a build has a few dozen; past this, none is named
_VERTEX = re.compile(r"^#(\d+) (.*)$")
# A Dockerfile step, as BuildKit names its vertex: `[2/3] RUN`, `[stage-1 2/3] COPY`, `[linux/arm64 1/2] FROM`
_STEP = re.compile(r"^\[(?:[^\]]*? )?\d+/\d+\] (\S+)")
_WHERE = re.compile(r"^([^\s:]+):(\d+)$")
_SOLVE = re.compile(r"^(?:ERROR: )?failed to solve: (.*)$")
_CLASSIC_STEP = re.compile(r"^Step \d+/\d+ : (\S+)")
_CLASSIC_CACHED = re.compile(r"^\s*---> Using cache$")


@dataclass(frozen=True)
class Outline:
    steps: int = 0  # the Dockerfile's steps that ran or came from the cache (FROM not counted)
    cached: int = 0  # of them, those taken from the build cache
    failed_step: str = ""  # as the builder names it: `[3/3] RUN make`
    failed_at: str = ""  # the Dockerfile's line, `Dockerfile:3`, when the builder names it
    reason: str = ""  # the builder's own words for the failure
    tail: tuple[str, ...] = ()  # the log's last lines, each cut


def cut(line: str, limit: int = LINE_CHARS) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


class BuildKitLog:
    """BuildKit's plain progress, read line by line (lines without terminal escapes)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._steps: set[str] = set()
        self._cached: set[str] = set()
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._failed = self._where = self._reason = ""

    def feed(self, line: str) -> None:
        line = cut(line.rstrip())
        self._tail.append(line)
        vertex = _VERTEX.match(line)
        if vertex:
            number, rest = vertex[1], vertex[2]
            if number not in self._names:
                if len(self._names) < _NAMES:
                    self._names[number] = rest
                    step = _STEP.match(rest)
                    if step and step[1].upper() != "FROM":
                        self._steps.add(number)
            elif rest == "CACHED" and number in self._steps:
                self._cached.add(number)
            elif rest.startswith("ERROR:") and not self._failed:
                self._failed = self._names[number]
                self._reason = rest.removeprefix("ERROR:").strip()
            return
        solve = _SOLVE.match(line)
        if solve and not self._reason:
            self._reason = solve[1].strip()
        where = _WHERE.match(line)
        if where and self._failed and not self._where:
            self._where = line

    def outline(self) -> Outline:
        return Outline(
            steps=len(self._steps),
            cached=len(self._cached),
            failed_step=self._failed,
            failed_at=self._where,
            reason=self._reason,
            tail=tuple(self._tail),
        )


class ClassicLog:
    """The classic builder's log, line by line: `Step N/M : INSTRUCTION`, ` ---> Using cache`."""

    def __init__(self) -> None:
        self._steps = self._cached = 0
        self._current = ""
        self._counted = False  # the current step counts, and has not been seen cached yet
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)

    def feed(self, line: str) -> None:
        line = cut(line.rstrip())
        self._tail.append(line)
        step = _CLASSIC_STEP.match(line)
        if step:
            self._current = line
            self._counted = step[1].upper() != "FROM"
            self._steps += self._counted
        elif self._counted and _CLASSIC_CACHED.match(line):
            self._cached += 1
            self._counted = False  # one step, one hit

    @property
    def current(self) -> str:
        """The step the builder is at (its `Step N/M : ...` line)."""
        return self._current

    def outline(self, *, failed: bool = False, reason: str = "") -> Outline:
        return Outline(
            steps=self._steps,
            cached=self._cached,
            failed_step=self._current if failed else "",
            reason=cut(reason) if failed else "",
            tail=tuple(self._tail),
        )
