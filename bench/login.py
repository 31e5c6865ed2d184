"""`registries login` with 40 registries, every request taking 250 ms, against one such registry.

Concurrency, not a queue: 40 must take under 2x the time of one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from bench.common import clean_env, registries, timed
from tests.servers.faulty import Faults, FaultyRegistry

LATENCY = 0.25
COUNT = 40


def measure(count: int, home: Path) -> float:
    servers = [
        FaultyRegistry(username=f"u{i}", password=f"p{i}", faults=Faults(delay=LATENCY)) for i in range(count)
    ]
    try:
        entries = [{"server": s.address, "username": s.username, "password": s.password} for s in servers]
        path = home / f"registries-{count}.yml"
        path.write_text(yaml.safe_dump(entries))
        env = clean_env(home)
        return timed(lambda: registries("login", "--registries", str(path), env=env), runs=3)
    finally:
        for server in servers:
            server.stop()


def main() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        one = measure(1, home)
        many = measure(COUNT, home)
    latency = f"{LATENCY * 1000:.0f} ms a request"
    return {
        f"`login`, 1 registry at {latency}": f"{one:.2f} s",
        f"`login`, {COUNT} registries at {latency}": f"{many:.2f} s ({many / one:.2f}× of one)",
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
