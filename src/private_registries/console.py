"""The console: the one object that prints. Made once at the entry point, handed to the faces.

Everything goes through the masker first, and everything that is not a workflow command of its own
is made inert (`text.inert`): what a server, a file or a user wrote cannot issue a command. In a
workflow (`ci`) warnings and errors become annotations, groups fold, output we did not write runs
inside stop-commands, every secret is announced with `::add-mask::` as it is made, and the step
summary takes Markdown; on a terminal the same calls print plain lines.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from private_registries import gha
from private_registries.errors import Caveat, Location, RegistriesError
from private_registries.secret import MASKER
from private_registries.text import inert, plain


class Console:
    def __init__(
        self,
        *,
        ci: bool = False,
        summary_path: str | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.ci = ci
        self._summary_path = summary_path
        self._stdout = stdout
        self._stderr = stderr
        self._mid_line = False  # stdout holds a line not yet ended ("Adding registry... ")
        self._untrusted = 0  # inside untrusted(): a log we pass on as it is, colours and all
        self._summary_cut = False  # the step summary is full: nothing more goes in

    @classmethod
    def for_env(cls, env: Mapping[str, str], *, ci: bool | None = None) -> Console:
        """The console for this environment: a workflow's when GITHUB_ACTIONS says so (or `ci`)."""
        in_ci = env.get("GITHUB_ACTIONS") == "true" if ci is None else ci
        return cls(ci=in_ci, summary_path=env.get("GITHUB_STEP_SUMMARY") if in_ci else None)

    @property
    def out(self) -> TextIO:
        return self._stdout or sys.stdout  # looked up late: tests swap sys.stdout

    @property
    def err(self) -> TextIO:
        return self._stderr or sys.stderr

    # --- plain text -------------------------------------------------------------------------------

    def echo(self, text: str = "", *, end: str = "\n", err: bool = False) -> None:
        if self._untrusted and self.ci:  # between stop-commands: nothing in it is read as a command
            self._write(MASKER.redact(plain(text, keep_colours=True)) + end, err=err)
        else:
            self._write(_neutral(text) + end, err=err)

    def _write(self, written: str, *, err: bool = False) -> None:
        stream = self.err if err else self.out
        stream.write(written)
        stream.flush()
        if not err and written:
            self._mid_line = not written.endswith("\n")

    def data(self, text: str) -> None:
        """What the user asked to have printed, unmasked (a pull Secret piped to kubectl)."""
        self.out.write(text)
        self.out.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Columns padded as `convox registries` pads them (two spaces between); a cell is one line."""
        rows = [[_neutral(cell, one_line=True) for cell in row] for row in rows]
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        for line in [headers, *rows]:
            self._write(
                "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
            )

    def json(self, data: Any) -> None:
        """JSON as it is (its escapes keep control characters out), `##[` spelt `##\\u005b` (the same)."""
        self._write(MASKER.redact(json.dumps(data, indent=2)).replace("##[", "##\\u005b") + "\n")

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        """`Title... OK`, as `convox registries` prints it; `FAILED` (then the error) if it raises."""
        self.echo(f"{title}... ", end="")
        try:
            yield
        except BaseException:
            self.echo("FAILED")
            raise
        self.echo("OK")

    # --- warnings and failures --------------------------------------------------------------------

    def warn(self, warning: str | Caveat, *, err: bool = False) -> None:
        """A warning; with `err`, on stderr in a workflow too (the runner reads commands there as
        well), so that stdout holds only what the command prints."""
        if isinstance(warning, Caveat):
            self._annotate("warning", warning.message, warning.where, err=err)
        else:
            self._annotate("warning", warning, err=err)

    def warn_all(self, warnings: Iterable[str | Caveat]) -> None:
        for warning in dict.fromkeys(warnings):
            self.warn(warning)

    def error(self, message: str, where: Location | None = None, title: str | None = None) -> None:
        self._annotate("error", message, where, title)

    def notice(self, message: str) -> None:
        self._annotate("notice", message)

    def failure(self, failure: RegistriesError) -> None:
        """An error as the user sees it: what failed, then the fix, indented below."""
        message = failure.message
        if failure.hint:
            message += "\n  " + failure.hint.replace("\n", "\n  ")
        title = "private-registries" + (f": {failure.kind.label}" if failure.kind.label != "error" else "")
        self.error(message, failure.where, title if failure.where else None)

    def failures(self, failures: Iterable[RegistriesError]) -> None:
        for failure in dict.fromkeys(failures):  # one AWS error may stand for several registries
            self.failure(failure)

    def _annotate(
        self,
        level: str,
        message: str,
        where: Location | None = None,
        title: str | None = None,
        *,
        err: bool = False,
    ) -> None:
        # A message may quote a server, a file or a build: masked and made inert (see _neutral).
        message = _neutral(message)
        if not self.ci:
            self.echo(f"{level}: {message}", err=True)
            return
        properties: dict[str, str | int] = {}
        if where is not None:
            properties["file"] = _neutral(where.file, one_line=True)
            if where.line:
                properties["line"] = where.line
        if title:
            properties["title"] = _neutral(title, one_line=True)
        if err:
            self._write(gha.command(level, message, **properties) + "\n", err=True)
        else:
            self._command(gha.command(level, message, **properties))

    # --- workflow structure -----------------------------------------------------------------------

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable group of lines in a workflow log; a plain heading elsewhere."""
        title = _neutral(title, one_line=True)
        if not self.ci:
            self.echo(f"# {title}")
            yield
            return
        self._command(gha.command("group", title))
        try:
            yield
        finally:
            self._command(gha.command("endgroup"))

    @contextlib.contextmanager
    def untrusted(self) -> Iterator[None]:
        """Output we did not write (a build log): in a workflow, it cannot issue workflow commands."""
        if not self.ci:
            yield
            return
        stop, resume = gha.stop_commands()
        self._command(stop)
        self._untrusted += 1
        try:
            yield
        finally:
            self._untrusted -= 1
            self._command(resume)

    def announce_masks(self, *, on_stderr: bool = False) -> None:
        """In a workflow: `::add-mask::` every secret known now and made later. A command whose stdout
        is data (a Secret piped to kubectl) announces on stderr, which the runner reads too."""
        if not self.ci:
            return
        if on_stderr:

            def announce(value: str) -> None:
                self.err.write(gha.mask(value) + "\n")
                self.err.flush()

            MASKER.on_register(announce)
        else:
            MASKER.on_register(lambda value: self._command(gha.mask(value)))

    def summary(self, markdown: str) -> None:
        """Markdown for the run's summary page ($GITHUB_STEP_SUMMARY). The caller quotes outside text
        in code spans (action.summary); here it is masked as a whole once more, and cut to what
        GitHub takes (1 MiB a step: a bigger summary is not shown at all), saying so."""
        if not self._summary_path or self._summary_cut:
            return
        text = MASKER.redact(markdown.rstrip("\n")) + "\n"
        with open(self._summary_path, "a", encoding="utf-8") as handle:
            room = SUMMARY_LIMIT - handle.tell()
            data = text.encode()
            if len(data) > room:
                self._summary_cut = True  # what comes after would follow the line that says so
                if room < len(_SUMMARY_CUT):
                    return
                kept = data[: room - len(_SUMMARY_CUT)].decode("utf-8", errors="ignore")
                text = kept[: kept.rfind("\n") + 1] + _SUMMARY_CUT.decode()
            handle.write(text)

    def _command(self, line: str) -> None:
        """A workflow command on a line of its own: a command is only one at the start of a line."""
        if self._mid_line:
            self.out.write("\n")
            self._mid_line = False
        self.out.write(line + "\n")
        self.out.flush()


# What GitHub takes of a step's summary, and the line that says the rest was cut.
SUMMARY_LIMIT = 1024 * 1024
_SUMMARY_CUT = b"\n*(The rest is cut: a step summary holds at most 1 MiB; the log has it all.)*\n"


def _neutral(text: str, *, one_line: bool = False) -> str:
    """Masked, then inert, then masked again: a secret written with a control character in it is masked
    before the escape changes it, and one split by a terminal escape once the escape is gone."""
    return MASKER.redact(inert(MASKER.redact(text), one_line=one_line))
