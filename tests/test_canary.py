"""Canary secrets through every command: none may show, nor its base64 forms, in any output but an
`::add-mask::` line (and the pull secret itself, which is what `pull-secret` is asked to print)."""

import base64
from pathlib import Path

import pytest
import yaml

from tests.clirun import Result, run_process
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry

WRONG = "canary-wrong-0xC0FFEE"


def forms(username: str, password: str) -> list[str]:
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"{username}:{password}".encode()).decode(),
    ]


def leaks(result: Result, secrets: list[str]) -> list[str]:
    return [
        line
        for line in result.text.splitlines()
        if any(secret in line for secret in secrets) and not line.startswith("::add-mask::")
    ]


@pytest.mark.parametrize("in_actions", [False, True], ids=["terminal", "github-actions"])
def test_no_command_prints_a_secret(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path, in_actions: bool
) -> None:
    reg = private_registry  # its password is random: a canary no test writes down
    secrets = forms(reg.username, reg.password) + forms(reg.username, WRONG)
    environment = {**env, "DOCKER_HOST": dockerd.host, "NIM_KEY": reg.password}
    if in_actions:
        github_env = tmp_path / "github_env"
        github_env.touch()
        environment |= {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env)}
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {reg.reference}\nRUN echo hello\n")
    (tmp_path / "deploy.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                        "spec": {"containers": [{"name": "c", "image": reg.reference}]}})
    )  # fmt: skip
    (tmp_path / "convox.yml").write_text(
        yaml.safe_dump({"services": {"web": {"image": reg.reference, "imagePullSecrets": [
            {"registry": reg.server, "username": reg.username, "passwordEnv": "NIM_KEY"}]}}})
    )  # fmt: skip
    wrong_file = tmp_path / "wrong.yml"
    wrong_file.write_text(
        yaml.safe_dump([{"server": reg.server, "username": reg.username, "password": WRONG}])
    )

    runs = [
        run_process(environment, "add", reg.server, reg.username, "-", input=reg.password + "\n"),
        run_process(environment, "add", "other.example.org", "bob", WRONG),
        run_process(environment, "list"),
        run_process(environment, "list", "--json"),
        run_process(environment, "login", "--docker-config", str(tmp_path / "docker")),
        run_process(
            environment, "login", "--registries", str(wrong_file), "--docker-config", str(tmp_path / "d2")
        ),
        run_process(environment, "check", str(context)),
        run_process(environment, "build", str(context), "-t", "bench/canary:1"),
        run_process(environment, "build", str(context), "--build-arg", f"X={reg.password}"),
        run_process(environment, "pull-secret", "-o", str(tmp_path / "secret.yaml")),
        run_process(environment, "inject", str(tmp_path / "deploy.yaml")),
        run_process(environment, "convox", str(tmp_path / "convox.yml")),
        run_process(environment, "remove", "other.example.org"),
    ]
    # each did its job, or refused where it should (other.example.org cannot be reached)
    expected = [0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    for index, (result, code) in enumerate(zip(runs, expected, strict=True)):
        assert result.code == code, (index, result.text)
        assert not leaks(result, secrets), (index, result.text)
        assert "Traceback" not in result.text
    printed = run_process(environment, "pull-secret")
    assert printed.code == 0
    assert not leaks(Result(printed.code, "", printed.err), secrets)  # its stdout is the Secret itself
    if in_actions:
        assert (tmp_path / "github_env").read_text().count("NIM_KEY<<") == 1
