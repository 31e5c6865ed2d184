"""`make demo`: the main job end to end on the embedded default (the local store).

Starts a throwaway private registry (htpasswd) and, if no Docker daemon answers, a daemon of its
own; puts an image there; then, as a user would: `registries add`, `registries list`,
`registries login`, and a `docker pull` of the private image with the config that login wrote.
Everything it makes lives in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import push


def say(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m", flush=True)


def shell(argv: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    shown = " ".join(shlex.quote(a) for a in argv)
    print(f"$ {shown}", flush=True)
    subprocess.run(argv, env=env, input=stdin, text=True, check=True)


def running_daemon() -> str | None:
    for host in filter(None, [os.environ.get("DOCKER_HOST"), "unix:///var/run/docker.sock"]):
        probe = subprocess.run(["docker", "-H", host, "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return host
    return None


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="registries-demo-") as scratch:
        root = Path(scratch)
        host = running_daemon()
        if host is None:
            say("No Docker daemon answers: starting one for the demo")
            daemon = Dockerd(Path("/tmp") / f"registries-demo-dockerd-{secrets.token_hex(3)}")
        else:
            daemon = Dockerd.existing(host, root)
        password = secrets.token_urlsafe(12)
        registry = Registry(root / "registry", users={"demo": password})
        try:
            say(f"A private registry at {registry.server} (user demo), holding demo/hello:1")
            push(daemon, f"{registry.server}/demo/hello:1", "demo", password, root)

            env = {
                **os.environ,
                "XDG_CONFIG_HOME": str(root / "config"),
                "DOCKER_CONFIG": str(root / "docker"),
                "DOCKER_HOST": daemon.host,
            }
            registries = [sys.executable, "-m", "private_registries"]
            say("Add the registry (the password comes from standard input, so it is not in ps or history)")
            shell([*registries, "add", registry.server, "demo", "-"], env, stdin=password + "\n")
            say("List what the store holds")
            shell(registries, env)
            say("Log in: every credential is checked against its registry, then merged into config.json")
            shell([*registries, "login"], env)
            say("Pull the private image with that config")
            image = f"{registry.server}/demo/hello:1"
            subprocess.run(["docker", "rmi", "-f", image], env=env, capture_output=True, check=False)
            shell(["docker", "pull", image], env)
            say("Done: the private image was pulled with the credentials `registries login` wrote.")
        finally:
            registry.stop()
            daemon.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
