"""`make demo` shows the main job on the bench's own servers, in well under a minute."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.servers.dockerd import Dockerd

REPO = Path(__file__).resolve().parents[1]


def test_the_demo_checks_builds_pushes_and_injects(dockerd: Dockerd) -> None:
    env = {**os.environ, "DOCKER_HOST": dockerd.host}  # the bench's daemon: the demo starts none
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout + result.stderr  # the commands say some of it on stderr
    for expected in (
        "Adding registry... OK",
        "/demo/base:1",  # the pre-flight's table names the private base image
        "Pushed ",
        "Secret registry-credentials: 1 registries",
        "Deployment/hello: added registry-credentials",
        "imagePullSecrets:\n        - name: registry-credentials",
        "Login Succeeded: 1 of 1 registries",
        "built by the demo",
    ):
        assert expected in out, f"{expected!r} not in the demo's output:\n{out[-3000:]}"
    assert "No Docker daemon answers" not in out
    assert elapsed < 60
