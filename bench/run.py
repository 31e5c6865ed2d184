"""`make bench`: every benchmark, printed as the Markdown rows the README's Performance table holds."""

from __future__ import annotations

import importlib
import platform
import sys

from bench import common  # noqa: F401 - puts the repository on sys.path

BENCHMARKS = [
    "bench.startup",
    "bench.login",
    "bench.exchange",
    "bench.preflight",
    "bench.build_overhead",
    "bench.action_image",
    "bench.inject",
]


def main() -> int:
    names = sys.argv[1:] or BENCHMARKS
    print(f"<!-- {platform.python_implementation()} {platform.python_version()}, {platform.machine()} -->")
    print("| measure | result |\n|---|---|")
    for name in names:
        for measure, value in importlib.import_module(name).main().items():
            print(f"| {measure} | {value} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
