"""SIGTERM and SIGINT while `exec` or `build` runs (a cancelled job, a `kill`): the signal reaches the
child, the child gets a bounded time, the temporary docker config (with `auth`) is gone, and the exit
status is the child's (128+n when the signal ended it). Real processes, a real build on Engine 26."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from private_registries.signals import GRACE
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, basic, entries_file
from tests.servers.tools import plugins_config, tool


def entries(tmp_path: Path, reg: PrivateRegistry) -> Path:
    return entries_file(tmp_path, [basic(reg)])


def environment(env: dict[str, str], tmp_path: Path, dockerd: Dockerd) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    config = plugins_config(tmp_path / "user-docker")
    return {**env, "TMPDIR": str(temp), "DOCKER_HOST": dockerd.host, "DOCKER_CONFIG": str(config),
            "REGISTRIES_DOCKER_CLI": str(tool("docker"))}  # fmt: skip


def start(env: dict[str, str], *argv: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "private_registries", *argv],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip


def test_sigterm_during_exec_reaches_the_command_and_leaves_no_config(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    environ = environment(env, tmp_path, dockerd)
    marker = tmp_path / "got-term"
    script = f"trap 'echo term > {marker}; exit 3' TERM; echo \"$DOCKER_CONFIG\"; sleep 30 & wait"
    process = start(environ, "exec", "--registries", str(entries(tmp_path, private_registry)), "--",
                    "sh", "-c", script)  # fmt: skip
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert (folder / "config.json").is_file()
    process.send_signal(signal.SIGTERM)  # to registries alone, as a job's cancellation sends it
    assert process.wait(timeout=30) == 3  # the command's own status
    assert marker.read_text().strip() == "term"  # it got the signal
    assert not folder.exists()
    assert os.listdir(environ["TMPDIR"]) == []


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_time(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    environ = environment(env, tmp_path, dockerd)
    script = 'trap "" TERM; echo "$DOCKER_CONFIG"; while :; do sleep 0.1; done'
    process = start(environ, "exec", "--registries", str(entries(tmp_path, private_registry)), "--",
                    "sh", "-c", script)  # fmt: skip
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=GRACE + 20) == 128 + signal.SIGKILL
    assert GRACE - 0.5 < time.monotonic() - started < GRACE + 10
    assert not folder.exists()


def test_sigterm_during_a_buildx_build_cancels_it_and_leaves_no_config(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    environ = environment(env, tmp_path, dockerd)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\nRUN echo building && sleep 60\n")
    process = start(environ, "build", str(context), "--network", "host", "--no-cache",
                    "--registries", str(entries(tmp_path, private_registry)))  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    seen = ""
    while "building" not in seen and time.monotonic() < deadline:  # the RUN step has started
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    assert "building" in seen, seen
    configs = [p for p in Path(environ["TMPDIR"]).iterdir() if p.name.startswith("registries-docker-")]
    assert configs and (configs[0] / "config.json").is_file()
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=GRACE + 30)
    assert process.returncode == 128 + signal.SIGTERM, seen + err
    assert time.monotonic() - started < GRACE + 10
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert os.listdir(environ["TMPDIR"]) == []


def test_a_main_stage_cancelled_during_the_build_is_undone_by_post(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """The job is cancelled (SIGTERM) while main builds: what post needs was saved when the logins
    were written, so post takes them out of the job's DOCKER_CONFIG (the stages on a host)."""
    import json

    from tests.servers.runner import read_file_command

    temp = tmp_path / "runner-temp"
    job_config = plugins_config(temp / "docker")  # the job's DOCKER_CONFIG, with buildx, under runner.temp
    files = {name: tmp_path / name for name in ("env", "output", "state", "summary")}
    for path in files.values():
        path.touch()
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\nRUN echo building && sleep 60\n")
    entry = {"server": private_registry.server, "username": private_registry.username,
             "password": private_registry.password}  # fmt: skip
    stage_env = {
        **environment(env, tmp_path, dockerd),
        "DOCKER_CONFIG": str(job_config),
        "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(temp), "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_ENV": str(files["env"]), "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STATE": str(files["state"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "INPUT_REGISTRIES": json.dumps([entry]), "INPUT_CONTEXT": str(context), "INPUT_NETWORK": "host",
        "INPUT_NO-CACHE": "true",
    }  # fmt: skip
    # started in the workspace, as the runner starts a step
    process = start(stage_env, "action", "main", str(temp), str(tmp_path), cwd=tmp_path)
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 120
    while "building" not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    assert "building" in seen, seen
    assert private_registry.server in json.loads((job_config / "config.json").read_text())["auths"]
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=GRACE + 30)
    assert process.returncode == 128 + signal.SIGTERM
    saved = read_file_command(files["state"])
    assert saved, "main saved no state for post"
    post_env = {**stage_env, **{f"STATE_{name}": value for name, value in saved.items()}}
    post = subprocess.run(
        [sys.executable, "-m", "private_registries", "action", "post", str(temp), str(tmp_path)],
        env=post_env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert post.returncode == 0, post.stdout + post.stderr
    assert private_registry.server not in json.loads((job_config / "config.json").read_text()).get(
        "auths", {}
    )
    assert os.listdir(stage_env["TMPDIR"]) == []  # the build's temporary config is gone too


def test_a_signal_while_the_child_starts_is_held_and_sent_to_it() -> None:
    """The race a cancelled job can hit: SIGTERM comes after the child exists but before we could
    have set a handler after starting it. Sent here from inside `start`, it must reach the child
    (which it ends), not unwind us."""
    from private_registries import signals

    def start() -> subprocess.Popen[bytes]:
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before Popen below
        return subprocess.Popen(["sleep", "30"])

    began = time.monotonic()
    with signals.forwarding(start) as (process, received), process:
        assert process.wait(timeout=10) == -signal.SIGTERM
    assert received == [signal.SIGTERM]
    assert time.monotonic() - began < GRACE  # sent at once, not left to the kill


def test_a_child_that_cannot_start_leaves_the_handlers_as_they_were() -> None:
    from private_registries import signals

    before = {signum: signal.getsignal(signum) for signum in signals.FORWARDED}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(["/nonexistent/command"])

    try:
        with signals.forwarding(start):
            raise AssertionError("the block ran without a child")
    except FileNotFoundError:
        pass
    assert {signum: signal.getsignal(signum) for signum in signals.FORWARDED} == before
