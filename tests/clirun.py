"""Running the real command line, in-process or as a subprocess, with an explicit environment."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from private_registries.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run(capsys: pytest.CaptureFixture[str], env: dict[str, str], *argv: str) -> Result:
    capsys.readouterr()
    code = main(list(argv), env=env)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def run_process(env: dict[str, str], *argv: str, input: str | None = None, timeout: float = 120) -> Result:
    """As a user runs it: a new process (so imports, exit codes and stray tracebacks are real)."""
    result = subprocess.run(
        [sys.executable, "-m", "private_registries", *argv],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(result.returncode, result.stdout, result.stderr)
