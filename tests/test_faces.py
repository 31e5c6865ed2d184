"""One scenario through both faces: `registries login`, `build` and `pull-secret`, and the action's main
stage, given the same registries, must write the same credentials and files and say the same
warnings. The action runs in-process here, on the host (no container mounts: it uses RUNNER_TEMP)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.clirun import Result, run
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import GITHUB_TOKEN, PrivateRegistry, pull_fresh
from tests.servers.runner import read_file_command
from tests.servers.tokenserver import TokenServer

REFRESH = "refresh-canary-2718"


def warnings_of(result: Result) -> set[str]:
    """The warnings a run printed, as a terminal shows them or as workflow annotations."""
    found = {
        line.removeprefix("warning: ") for line in result.err.splitlines() if line.startswith("warning: ")
    }
    for line in result.out.splitlines():
        if line.startswith("::warning::"):
            found.add(re.sub("%0A", "\n", line.removeprefix("::warning::")).replace("%25", "%"))
    return found


@pytest.fixture
def identity_registry(registry_factory: Callable[..., Registry]) -> Registry:
    """A registry whose account is an identity (refresh) token: good for login, not for the kubelet."""
    tokens = TokenServer(
        service="acr-like", users={"pusher": "pw-pusher"}, refresh_tokens={REFRESH: "pusher"}
    )
    return registry_factory(token_server=tokens)


def test_the_cli_and_the_action_agree(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    ghcr_registry: PrivateRegistry,
    identity_registry: Registry,
    tmp_path: Path,
) -> None:
    entries = [
        {"server": private_registry.server, "username": "alice", "password": private_registry.password},
        {"server": token_registry.server, "username": "bob", "password": token_registry.password},
        {"server": ghcr_registry.server, "type": "ghcr"},
        {"server": identity_registry.server, "username": "<token>", "password": REFRESH},
    ]
    registries = tmp_path / "registries.yml"
    registries.write_text(yaml.safe_dump(entries))
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\nRUN echo both-faces > /made\n")
    tag = f"{token_registry.server}/faces/app:1"
    common = {**env, "DOCKER_HOST": dockerd.host, "GITHUB_ACTOR": "octocat"}

    # the CLI, as a user runs it
    cli_env = {**common, "GITHUB_TOKEN": GITHUB_TOKEN}
    cli_config, cli_secret = tmp_path / "cli-docker", tmp_path / "cli-secret.yaml"
    source = ["--registries", str(registries)]
    logged = run(capsys, cli_env, "login", *source, "--docker-config", str(cli_config))
    built = run(capsys, cli_env, "build", str(context), *source, "-t", tag, "--push")
    secret = run(capsys, cli_env, "pull-secret", *source, "-o", str(cli_secret))
    assert (logged.code, built.code, secret.code) == (0, 0, 0), logged.text + built.text + secret.text

    # the action's main stage, with the same registries as its input
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    files = {name: tmp_path / name for name in ("env", "output", "state", "summary")}
    for path in files.values():
        path.touch()
    action_env = {
        **common,
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(temp),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STATE": str(files["state"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "INPUT_REGISTRIES": json.dumps(entries),
        "INPUT_GITHUB-TOKEN": GITHUB_TOKEN,
        "INPUT_CONTEXT": str(context),
        "INPUT_TAGS": tag,
        "INPUT_PUSH": "true",
    }
    action = run(capsys, action_env, "action", "main", str(temp))
    assert action.code == 0, action.text
    outputs = read_file_command(files["output"])

    # the same credentials, in the same files
    action_config = Path(read_file_command(files["env"])["DOCKER_CONFIG"])
    assert action_config.parent == temp
    assert json.loads((action_config / "config.json").read_text()) == json.loads(
        (cli_config / "config.json").read_text()
    )
    assert (action_config / "pull-secret.yaml").read_text() == cli_secret.read_text()
    assert Path(outputs["pull-secret-file"]) == action_config / "pull-secret.yaml"
    in_secret = yaml.safe_load(cli_secret.read_text())["data"][".dockerconfigjson"]
    assert outputs["dockerconfigjson"] == in_secret  # the identity token is left out of both

    # the same build: the same image, pushed with the same digest
    assert f"Built {outputs['image-id']} ({tag})" in built.out
    assert f"Pushed {tag}@{outputs['digest']}" in built.out
    assert pull_fresh(dockerd, tag, action_config).returncode == 0

    # the same warnings: the identity token left out of the Secret, the job token's end
    said = warnings_of(logged) | warnings_of(built) | warnings_of(secret)
    assert said == warnings_of(action)
    assert any(w.startswith(f"{identity_registry.server}: left out") for w in said)
    assert any(
        w.startswith(f"{ghcr_registry.server}: the pull secret holds the job's GitHub token") for w in said
    )


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_stages_on_a_host_touch_only_runner_temp_and_the_jobs_docker_config(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """`registries action main` then `post` in a self-hosted runner's shell step: no container mounts.
    Main merges into the job's DOCKER_CONFIG (any host path is reachable) and keeps its own files under
    RUNNER_TEMP; post leaves both as they were before main."""
    temp, job_config, home = tmp_path / "runner-temp", tmp_path / "job-docker", Path(env["HOME"])
    temp.mkdir()
    (job_config / "buildx" / "instances").mkdir(parents=True)
    (job_config / "buildx" / "instances" / "builder").write_text("{}")
    theirs = {"auths": {"other.example.org": {"auth": "dTpw"}}, "psFormat": "table"}
    (job_config / "config.json").write_text(json.dumps(theirs))
    files = {name: tmp_path / name for name in ("env", "output", "state", "summary")}
    for path in files.values():
        path.touch()
    entry = {"server": private_registry.server, "username": "alice", "password": private_registry.password}
    action_env = {
        **env,
        "DOCKER_HOST": dockerd.host,
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(temp),
        "DOCKER_CONFIG": str(job_config),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STATE": str(files["state"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "INPUT_REGISTRIES": json.dumps([entry]),
    }
    outside = {p for p in tmp_path.iterdir()} - {temp, job_config, *files.values()}
    home_before, buildx = tree(home), tree(job_config / "buildx")

    main = run(capsys, action_env, "action", "main", str(temp))
    assert main.code == 0, main.text
    assert "DOCKER_CONFIG" not in read_file_command(files["env"])
    assert read_file_command(files["output"])["docker-config"] == str(job_config)
    merged = json.loads((job_config / "config.json").read_text())
    assert set(merged["auths"]) == {"other.example.org", private_registry.server}
    assert pull_fresh(dockerd, private_registry.reference, job_config).returncode == 0
    (own,) = temp.iterdir()  # main's own folder: the record for post, the pull secret
    assert sorted(p.name for p in own.iterdir()) == ["pull-secret.yaml", "undo.json"]

    state = {f"STATE_{k}": v for k, v in read_file_command(files["state"]).items()}
    post = run(capsys, {**action_env, **state}, "action", "post")
    assert post.code == 0, post.text
    assert json.loads((job_config / "config.json").read_text()) == theirs
    assert tree(job_config / "buildx") == buildx
    assert list(temp.iterdir()) == []
    assert tree(home) == home_before
    assert {p for p in tmp_path.iterdir()} - {temp, job_config, *files.values()} == outside
