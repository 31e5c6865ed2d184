"""Running the real command line, in-process or as a subprocess, with an explicit environment."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

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


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def login(env: dict[str, str], tmp_path: Path, entries: list[dict[str, object]], *extra: str) -> Result:
    """`registries login` of these entries (a --registries file), into tmp_path/docker."""
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(entries))
    return run_process(
        env, "login", "--registries", str(path), "--docker-config", str(tmp_path / "docker"), *extra
    )


def auths(tmp_path: Path) -> dict[str, dict[str, str]]:
    """What that login wrote to config.json."""
    return json.loads((tmp_path / "docker" / "config.json").read_text())["auths"]  # type: ignore[no-any-return]
