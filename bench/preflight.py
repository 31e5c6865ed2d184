"""`registries check` of 20 base images (half behind Basic auth, half behind Bearer tokens), every
round trip 250 ms, against a Dockerfile with one such image."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from bench.common import clean_env, registries, timed
from tests.servers.faulty import Faults, FaultyRegistry

LATENCY = 0.25
COUNT = 20


def main() -> dict[str, str]:
    servers = [
        FaultyRegistry(username=f"u{i}", password=f"p{i}", bearer=i % 2 == 1, faults=Faults(delay=LATENCY))
        for i in range(COUNT)
    ]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            entries = [{"server": s.address, "username": s.username, "password": s.password} for s in servers]
            (root / "registries.yml").write_text(yaml.safe_dump(entries))
            env = clean_env(root)
            figures = {}
            for count in (1, COUNT):
                context = root / f"ctx{count}"
                context.mkdir()
                # one image: a Bearer one, the slower kind
                chosen = servers[1 : 1 + count] if count == 1 else servers
                lines = [f"FROM {s.address}/team/app{i}:1 AS s{i}" for i, s in enumerate(chosen)]
                (context / "Dockerfile").write_text("\n".join(lines) + "\n")
                argv = ["check", str(context), "--registries", str(root / "registries.yml")]
                figures[count] = timed(lambda argv=argv: registries(*argv, env=env), runs=3)  # type: ignore[misc]
    finally:
        for server in servers:
            server.stop()
    one, many = figures[1], figures[COUNT]
    latency = f"{LATENCY * 1000:.0f} ms a round trip"
    return {
        f"`check`, 1 base image at {latency}": f"{one:.2f} s",
        f"`check`, {COUNT} base images on {COUNT} registries at {latency}": (
            f"{many:.2f} s ({many / one:.2f}× of one)"
        ),
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
