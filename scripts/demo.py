"""`make demo`: the main job end to end, as the action makes it, on the bench's own servers.

Starts a throwaway private registry (htpasswd) holding a base image and, if no Docker daemon answers,
a daemon of its own; then, as a user would: `registries add` and `list`; `registries images` and
`check` on a Dockerfile whose base image lives in that registry; `registries build --push`;
`registries pull-secret`, and `registries inject` of that secret into a Deployment; finally
`registries login` and a `docker pull` of the built image with the config it wrote. Everything it
makes lives in a temporary folder that is removed at the end. It takes well under a minute.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import push

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello  # the app, from the private registry
spec:
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
        - name: hello
          image: IMAGE
"""


def say(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m", flush=True)


def shell(argv: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    shown = " ".join(shlex.quote(a) for a in argv)
    print(f"$ {shown}", flush=True)
    subprocess.run(argv, env=env, input=stdin, text=True, check=True)


def show(path: Path, root: Path) -> None:
    print(f"$ cat {path.relative_to(root)}", flush=True)
    print(path.read_text(), end="", flush=True)


def running_daemon() -> str | None:
    for host in filter(None, [os.environ.get("DOCKER_HOST"), "unix:///var/run/docker.sock"]):
        probe = subprocess.run(["docker", "-H", host, "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return host
    return None


def journey(root: Path, daemon: Dockerd, registry: Registry, password: str) -> None:
    """What the action does in a job, one command at a time."""
    server = registry.server
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(root / "config"),
        "DOCKER_CONFIG": str(root / "docker"),
        "DOCKER_HOST": daemon.host,
    }
    registries = [sys.executable, "-m", "private_registries"]
    say("Add the registry (the password comes from standard input, so it is not in ps or history)")
    shell([*registries, "add", server, "demo", "-"], env, stdin=password + "\n")
    shell(registries, env)

    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(
        f"ARG BASE={server}/demo/base:1\nFROM $BASE\nRUN echo built by the demo > /built\n"
    )
    say("A Dockerfile whose base image lives there: can every base image be pulled with what we hold?")
    show(root / "app" / "Dockerfile", root)
    shell([*registries, "check", "app"], env)

    image = f"{server}/demo/app:1"
    say("Build it (the base image is pulled with the stored credential) and push it")
    shell([*registries, "build", "app", "-t", image, "--push"], env)

    say("The Kubernetes pull secret, and imagePullSecrets in the manifest whose image is ours")
    (root / "k8s").mkdir()
    (root / "k8s" / "deployment.yaml").write_text(DEPLOYMENT.replace("IMAGE", image))
    shell([*registries, "pull-secret", "--namespace", "demo", "-o", "k8s/pull-secret.yaml"], env)
    shell([*registries, "inject", "k8s/deployment.yaml"], env)
    show(root / "k8s" / "deployment.yaml", root)

    say("Log in (every credential checked, merged into config.json), and pull what was built")
    shell([*registries, "login"], env)
    subprocess.run(["docker", "rmi", "-f", image], env=env, capture_output=True, check=False)
    shell(["docker", "pull", image], env)
    shell(["docker", "run", "--rm", image, "cat", "/built"], env)


def main() -> int:
    started = time.monotonic()
    here = Path.cwd()
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
            say(f"A private registry at {registry.server} (user demo), holding the base image demo/base:1")
            push(daemon, f"{registry.server}/demo/base:1", "demo", password, root)
            daemon.docker("rmi", f"{registry.server}/demo/base:1")
            os.chdir(root)  # the commands name the job's files as a workflow does: relative
            journey(root, daemon, registry, password)
        except subprocess.CalledProcessError as failed:
            print(f"\nthe demo stopped: {shlex.join(map(str, failed.cmd))} exited {failed.returncode}")
            return 1
        finally:
            os.chdir(here)
            registry.stop()
            daemon.stop()
    say(f"Done in {time.monotonic() - started:.0f} s: checked, built and pushed from a private base image,")
    print("and the pull secret made and injected into the Deployment.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
