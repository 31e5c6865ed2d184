"""The action's stages in-process, for what the container tests cannot reach cheaply: input parsing,
a post stage that must warn, never fail, and a step summary that a hostile message cannot bend."""

from pathlib import Path

import pytest

from private_registries.action import post, summary
from private_registries.action.inputs import ActionInputs
from private_registries.action.state import ActionState
from private_registries.console import Console
from private_registries.errors import InputError
from tests.servers.runner import read_file_command


def test_inputs_as_the_runner_sets_them() -> None:
    env = {
        "INPUT_TAGS": "a.example.org/x:1\nb.example.org/x:1, c.example.org/x:1\n",
        "INPUT_BUILD-ARGS": "VERSION=1.2.3\nFLAGS=a=b,c\n\n",
        "INPUT_PUSH": "TRUE",
        "INPUT_CHECK": "",
        "INPUT_GITHUB-TOKEN": "ghs_inputtoken",
        "INPUT_PULL-SECRET-NAME": "",
    }
    inputs = ActionInputs.from_env(env, ["/home/runner/work/_temp"])
    assert list(inputs.tags) == ["a.example.org/x:1", "b.example.org/x:1", "c.example.org/x:1"]
    assert dict(inputs.build_args) == {"VERSION": "1.2.3", "FLAGS": "a=b,c"}
    assert (inputs.push, inputs.check, inputs.logout) == (True, True, True)
    assert inputs.pull_secret_name == "registry-credentials"
    assert inputs.runner_temp == "/home/runner/work/_temp"
    assert inputs.github_token is not None and inputs.github_token.reveal() == "ghs_inputtoken"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INPUT_LOGOUT": "yes"}, "input logout: 'yes' is not a boolean"),
        ({"INPUT_LABELS": "team"}, "input labels, line 1: expected NAME=VALUE"),
    ],
)
def test_bad_inputs(env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ActionInputs.from_env(env)


def state_env(tmp_path: Path, state: ActionState) -> dict[str, str]:
    """The post stage's environment: what main saved, read back as the runner reads $GITHUB_STATE."""
    saved = tmp_path / "state"
    saved.touch()
    state.save({"GITHUB_STATE": str(saved)})
    return {f"STATE_{name}": value for name, value in read_file_command(saved).items()}


def test_post_removes_the_folder_main_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "private-registries-1234"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    state = ActionState(logout=True, docker_config=str(folder), docker_config_host="/host/_temp/x")
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert not folder.exists()
    assert "Removed /host/_temp/x" in capsys.readouterr().out


def test_post_does_nothing_without_logout(tmp_path: Path) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    assert post.run(state_env(tmp_path, ActionState(logout=False, docker_config=str(folder))), Console()) == 0
    assert folder.exists()
    assert post.run({}, Console()) == 0  # main left no state: it wrote nothing


@pytest.mark.parametrize(
    "state",
    [
        '{"logout": "yes", "docker_config": "/x", "docker_config_host": ""}',
        '{"logout": true}',
        "not json",
    ],
)
def test_post_warns_and_never_fails_on_a_state_it_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str
) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    assert post.run({"STATE_private_registries": state}, Console(ci=True)) == 0
    assert "::warning::could not remove the registry credentials" in capsys.readouterr().out
    assert folder.exists()


def test_post_warns_when_it_cannot_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert post.run(state_env(tmp_path, ActionState(docker_config=str(not_a_folder))), Console(ci=True)) == 0
    assert "::warning::could not remove the registry credentials" in capsys.readouterr().out


def test_a_failure_in_the_summary_is_masked_and_plain() -> None:
    """A failure may quote a server: an escape cannot split a secret past the masker, nor a pipe
    or a tag break the table."""
    from private_registries.secret import MASKER, Secret

    Secret("canary-sum-5521")
    try:
        text = summary.render(
            [], failures=["r.example.org: said canary-\x1b[0msum-5521 | <b>x</b>\x1b]0;t\x07"]
        )
    finally:
        MASKER.clear()
    assert "sum-5521" not in text and "\x1b" not in text
    assert "- r.example.org: said *** \\| &lt;b&gt;x&lt;/b&gt;" in text
