"""`registries login` to 40 registries of mixed kinds (Basic, Bearer, ECR, GHCR), every round trip
250 ms, against one registry; and, in the same run, the way the common actions do it: one
`docker login` after another (with an ECR token exchange before each ECR login)."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import clean_env, registries, timed
from tests.servers.aws import AwsFront
from tests.servers.dockerd import Dockerd
from tests.servers.faulty import Faults, FaultyRegistry
from tests.servers.moto import MotoServer

LATENCY = 0.25
PER_KIND = 10
TOKEN = "ghs_benchJobToken"
ACCOUNT = "123456789012"


def make(kind: str, index: int) -> tuple[FaultyRegistry, dict[str, object]]:
    faults = Faults(delay=LATENCY)
    if kind == "basic":
        server = FaultyRegistry(username=f"u{index}", password=f"p{index}", faults=faults)
        return server, {"server": server.address, "username": server.username, "password": server.password}
    if kind == "bearer":
        server = FaultyRegistry(username=f"u{index}", password=f"p{index}", bearer=True, faults=faults)
        return server, {"server": server.address, "username": server.username, "password": server.password}
    if kind == "ghcr":
        server = FaultyRegistry(username="octocat", password=TOKEN, bearer=True, faults=faults)
        return server, {"server": server.address, "type": "ghcr"}
    server = FaultyRegistry(username="AWS", password=f"{ACCOUNT}-auth-token", faults=faults)
    return server, {
        "server": server.address,
        "type": "ecr",
        "aws-account": ACCOUNT,
        "aws-region": "us-east-1",
    }


def docker_logins(
    entries: list[dict[str, object]], servers: list[FaultyRegistry], docker_env: dict[str, str]
) -> None:
    """What a workflow of docker/login-action steps (and amazon-ecr-login) does: one at a time."""
    import boto3

    for entry, server in zip(entries, servers, strict=True):
        if entry.get("type") == "ecr":
            client = boto3.client(
                "ecr",
                region_name="us-east-1",
                endpoint_url=docker_env["AWS_ENDPOINT_URL_ECR"],
                aws_access_key_id=docker_env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=docker_env["AWS_SECRET_ACCESS_KEY"],
            )
            data = client.get_authorization_token(registryIds=[ACCOUNT])["authorizationData"][0]
            username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        else:
            username, password = server.username, server.password
        subprocess.run(
            ["docker", "login", "-u", username, "--password-stdin", server.address],
            input=password,
            env=docker_env,
            capture_output=True,
            text=True,
            check=True,
        )


def main() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        moto = MotoServer(root / "moto")
        front = AwsFront(moto, delay=LATENCY)
        daemon = Dockerd(Path("/tmp") / f"bench-exchange-{secrets.token_hex(3)}")
        made = [make(kind, i) for kind in ("basic", "bearer", "ghcr", "ecr") for i in range(PER_KIND)]
        servers = [server for server, _ in made]
        entries = [entry for _, entry in made]
        try:
            env = {**clean_env(root), **front.env(), "GITHUB_TOKEN": TOKEN, "GITHUB_ACTOR": "octocat"}
            files = {}
            for name, chosen in (("one", entries[:1]), ("all", entries)):
                files[name] = root / f"{name}.yml"
                files[name].write_text(yaml.safe_dump(chosen))
            one = timed(lambda: registries("login", "--registries", str(files["one"]), env=env), runs=3)
            many = timed(lambda: registries("login", "--registries", str(files["all"]), env=env), runs=3)
            docker_env = {**os.environ, **env, "DOCKER_HOST": daemon.host, "DOCKER_CONFIG": str(root / "dl")}
            start = time.perf_counter()
            docker_logins(entries, servers, docker_env)
            sequential = time.perf_counter() - start
        finally:
            for server in servers:
                server.stop()
            daemon.stop()
            front.stop()
            moto.stop()
    count = len(entries)
    latency = f"{LATENCY * 1000:.0f} ms a round trip"
    return {
        f"`login`, 1 registry at {latency}": f"{one:.2f} s",
        f"`login`, {count} mixed registries (Basic, Bearer, GHCR, ECR) at {latency}": (
            f"{many:.2f} s ({many / one:.2f}× of one)"
        ),
        f"the same {count}, one `docker login` after another (ECR tokens fetched first)": (
            f"{sequential:.1f} s ({sequential / many:.0f}× slower)"
        ),
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value}")
