"""Start-up: `registries --version` and `registries list` (local store) must stay light.

Reports their median wall time, the modules they import that take longest (python -X importtime),
and checks that neither loads boto3, docker or PyGithub.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import clean_env, registries, timed

HEAVY = ("boto3", "botocore", "docker", "github")


def import_profile(argv: list[str], env: dict[str, str], top: int = 5) -> tuple[float, list[str], list[str]]:
    """Total import time (ms), the slowest top-level imports, and which heavy SDKs were loaded."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "private_registries", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[2]), len(match[3]), match[4]))
    total = sum(cumulative for cumulative, depth, _ in rows if depth == 1) / 1000
    slowest = [
        f"{name} {cumulative / 1000:.1f} ms"
        for cumulative, depth, name in sorted(rows, reverse=True)
        if depth == 1
    ]
    loaded = [name for _, _, name in rows if name.split(".")[0] in HEAVY]
    return total, slowest[:top], sorted({name.split(".")[0] for name in loaded})


def main() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        env = clean_env(Path(scratch))
        for i in range(20):
            registries("add", f"r{i}.example.org", "user", "pass", env=env)
        figures = {}
        for argv in (["--version"], ["list"]):
            name = "registries " + " ".join(argv)
            wall = timed(lambda argv=argv: registries(*argv, env=env), runs=9)  # type: ignore[misc]
            total, slowest, heavy = import_profile(argv, env)
            figures[f"`{name}` wall time"] = f"{wall * 1000:.0f} ms"
            loaded = ", ".join(heavy) or "none"
            slow = ", ".join(slowest)
            figures[f"`{name}` imports"] = f"{total:.0f} ms; slowest: {slow}; heavy SDKs: {loaded}"
            if heavy:
                raise SystemExit(f"{name} imported {heavy}")
    return figures


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
