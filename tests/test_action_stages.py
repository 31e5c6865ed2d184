"""The action's stages in-process, for what the container tests cannot reach cheaply: input parsing,
a post stage that must warn, never fail, a step summary that a hostile message cannot bend, and main
in a run that GitHub gives no secrets (a fork's pull request, Dependabot's)."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from private_registries.action import main as main_stage
from private_registries.action import post, summary
from private_registries.action.inputs import ActionInputs
from private_registries.action.runner import Mount, Runner
from private_registries.action.state import PULL_SECRET_FILE, UNDO_FILE, ActionState
from private_registries.console import Console
from private_registries.errors import InputError
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, pull_fresh
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


def own_folder(tmp_path: Path, written: dict[str, object], replaced: dict[str, object]) -> Path:
    """Main's own folder, holding the record of what it wrote and what it replaced."""
    folder = tmp_path / "private-registries-1234"
    folder.mkdir()
    (folder / UNDO_FILE).write_text(json.dumps({"written": written, "replaced": replaced}))
    return folder


OURS = {"auth": "b3Vyczpwdw=="}
THEIRS = {"auth": "dGhlaXJzOnB3"}


def test_post_removes_the_folder_main_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = own_folder(tmp_path, {"r.example.org": OURS}, {})
    (folder / "config.json").write_text(json.dumps({"auths": {"r.example.org": OURS}}))
    (folder / PULL_SECRET_FILE).write_text("kind: Secret\n")
    state = ActionState(folder=str(folder), docker_config=str(folder), docker_config_host="/host/_temp/x")
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert not folder.exists()
    out = capsys.readouterr().out
    assert "Removed 1 credentials from /host/_temp/x/config.json" in out and "Removed /host/_temp/x" in out


def test_post_leaves_what_later_steps_wrote_into_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder main exported: a later login and buildx's builders are theirs, not main's."""
    folder = own_folder(tmp_path, {"r.example.org": OURS}, {})
    config = {"auths": {"r.example.org": OURS, "later.example.org": THEIRS}}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "buildx").mkdir()
    state = ActionState(folder=str(folder), docker_config=str(folder))
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert json.loads((folder / "config.json").read_text()) == {"auths": {"later.example.org": THEIRS}}
    assert sorted(p.name for p in folder.iterdir()) == ["buildx", "config.json"]
    assert "Left what later steps put in" in capsys.readouterr().out


def test_post_restores_the_jobs_docker_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Merged into the job's DOCKER_CONFIG: added entries go, replaced ones come back, an entry a later
    step rewrote stays, and every other key and file is left as it was."""
    job = tmp_path / "job-docker"
    (job / "buildx" / "instances").mkdir(parents=True)
    (job / "buildx" / "instances" / "builder").write_text("{}")
    old = {"auth": "b2xkOm9sZA=="}
    written = {"added.example.org": OURS, "replaced.example.org": OURS, "rewritten.example.org": OURS}
    folder = own_folder(tmp_path, written, {"replaced.example.org": old})
    before = {"auths": {"replaced.example.org": old, "kept.example.org": THEIRS}, "psFormat": "x"}
    after_main = {
        "auths": {**before["auths"], **written, "rewritten.example.org": THEIRS},
        "psFormat": "x",
    }
    (job / "config.json").write_text(json.dumps(after_main))
    state = ActionState(
        folder=str(folder),
        docker_config=str(job),
        merged=True,
        added=("added.example.org", "rewritten.example.org"),
        replaced=("replaced.example.org",),
    )
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert json.loads((job / "config.json").read_text()) == {
        "auths": {**before["auths"], "rewritten.example.org": THEIRS},
        "psFormat": "x",
    }
    assert (job / "buildx" / "instances" / "builder").read_text() == "{}"
    assert not folder.exists()
    out = capsys.readouterr().out
    assert "Removed 1 credentials from" in out and "put back 1 it had replaced" in out
    assert "rewritten.example.org: rewritten in" in out


def test_post_warns_when_the_record_of_a_merge_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job-docker"
    job.mkdir()
    state = ActionState(
        folder=str(tmp_path / "gone"), docker_config=str(job), merged=True, added=("a.example.org",)
    )
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert "keeps a.example.org" in capsys.readouterr().out


def test_post_does_nothing_without_logout(tmp_path: Path) -> None:
    folder = own_folder(tmp_path, {}, {})
    state = ActionState(logout=False, folder=str(folder), docker_config=str(folder))
    assert post.run(state_env(tmp_path, state), Console()) == 0
    assert folder.exists()
    assert post.run({}, Console()) == 0  # main left no state: it wrote nothing


@pytest.mark.parametrize(
    "state",
    [
        '{"logout": "yes", "folder": "/x", "docker_config": "/x", "docker_config_host": "", "merged": false,'
        ' "added": [], "replaced": []}',
        '{"logout": true, "folder": "/x", "docker_config": "/x", "docker_config_host": "", "merged": false,'
        ' "added": [1], "replaced": []}',
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
    state = ActionState(folder=str(not_a_folder), docker_config=str(not_a_folder))
    assert post.run(state_env(tmp_path, state), Console(ci=True)) == 0
    assert "::warning::could not remove the registry credentials" in capsys.readouterr().out


def test_the_state_round_trips() -> None:
    state = ActionState(folder="/f", docker_config="/d", merged=True, added=("a",), replaced=("b", "c"))
    saved = json.dumps(asdict(state))
    assert ActionState.load({"STATE_private_registries": saved}) == state


HOME_ON_HOST = "/home/runner/work/_temp/_github_home"
CONTAINER = Runner(
    Path("/github/runner_temp"),
    "/home/runner/work/_temp",
    (1001, 127),
    (
        Mount("/home/runner/work/_temp/_github_home", Path("/github/home")),
        Mount("/home/runner/work/app/app", Path("/github/workspace")),
    ),
)


@pytest.mark.parametrize(
    ("value", "inside", "host"),
    [
        # as the runner rewrites the env value (the first mapping that matches: runner.temp)
        ("/github/runner_temp/docker", "/github/runner_temp/docker", "/home/runner/work/_temp/docker"),
        (
            "/github/runner_temp/_github_home/.docker",
            "/github/runner_temp/_github_home/.docker",
            "/home/runner/work/_temp/_github_home/.docker",
        ),
        ("/github/home/.docker", "/github/home/.docker", "/home/runner/work/_temp/_github_home/.docker"),
        ("/github/workspace/.docker", "/github/workspace/.docker", "/home/runner/work/app/app/.docker"),
        # a host path under a mount, as an older runner or another tool may leave it
        ("/home/runner/work/_temp/docker/", "/github/runner_temp/docker", "/home/runner/work/_temp/docker"),
        (
            "/home/runner/work/_temp/_github_home/d",
            "/github/home/d",
            "/home/runner/work/_temp/_github_home/d",
        ),
        ("/home/runner/work/app/app/d", "/github/workspace/d", "/home/runner/work/app/app/d"),
        # out of reach: no mount holds them
        ("/home/runner/.docker", None, None),
        ("/home/runner/work/_temp-other/d", None, None),
        ("relative/docker", None, None),
    ],
)
def test_the_jobs_docker_config_through_the_runners_mounts(
    value: str, inside: str | None, host: str | None
) -> None:
    reached = CONTAINER.reach(value)
    assert (str(reached) if reached else None) == inside
    if reached is not None:
        assert CONTAINER.host_path(reached) == host


def test_on_a_host_every_path_is_the_hosts(tmp_path: Path) -> None:
    runner = Runner.detect("", {"RUNNER_TEMP": str(tmp_path)})
    assert runner.on_host and runner.temp == tmp_path and runner.owner is None
    assert runner.reach("/srv/ci/docker") == Path("/srv/ci/docker")
    assert runner.host_path(Path("/srv/ci/docker")) == "/srv/ci/docker"
    assert runner.host_path(runner.new_folder()).startswith(f"{tmp_path}/private-registries-")


def test_on_a_host_the_runner_temp_argument_wins_over_runner_temp(tmp_path: Path) -> None:
    """act hands a docker action RUNNER_TEMP=/tmp (its own value), not runner.temp: the argument,
    which the runner evaluates from the runner-temp input, names the folder later steps can see."""
    argued, environment = tmp_path / "runner-temp", tmp_path / "tmp"
    argued.mkdir()
    environment.mkdir()
    workspace = "/home/runner/work/app/app"
    inputs = ActionInputs.from_env({"INPUT_RUNNER-TEMP": "/ignored"}, [str(argued), workspace])
    assert (inputs.runner_temp, inputs.workspace) == (str(argued), workspace)
    runner = Runner.detect(inputs.runner_temp, {"RUNNER_TEMP": str(environment)}, inputs.workspace)
    assert runner.on_host and runner.temp == argued and runner.temp_on_host == str(argued)
    assert runner.host_path(runner.new_folder()).startswith(f"{argued}/private-registries-")
    # an argument that names no folder here (a host path the container cannot see) falls back
    fallback = Runner.detect(str(tmp_path / "absent"), {"RUNNER_TEMP": str(environment)})
    assert fallback.temp == environment
    with pytest.raises(InputError, match="runner-temp argument"):
        Runner.detect(str(tmp_path / "absent"), {"RUNNER_TEMP": str(tmp_path / "gone")})


def test_a_failure_in_the_summary_is_masked_and_plain() -> None:
    """A failure may quote a server: an escape cannot split a secret past the masker, and what it
    says is in a code span, where a tag or a link renders as the text it is."""
    from private_registries.secret import MASKER, Secret

    Secret("canary-sum-5521")
    try:
        text = summary.render(
            [], failures=["r.example.org: said canary-\x1b[0msum-5521 | <b>x</b>\x1b]0;t\x07"]
        )
    finally:
        MASKER.clear()
    assert "sum-5521" not in text and "\x1b" not in text
    assert "- `r.example.org: said *** | <b>x</b>`" in text


# --- the main stage in a run that GitHub gives no secrets -----------------------------------------

FORK_PULL = {
    "pull_request": {
        "head": {"repo": {"full_name": "stranger/app", "fork": True}},
        "base": {"repo": {"full_name": "octo/app"}},
    }
}
OWN_PULL = {
    "pull_request": {
        "head": {"repo": {"full_name": "octo/app", "fork": False}},
        "base": {"repo": {"full_name": "octo/app"}},
    }
}
HARBOR = {"server": "harbor.example.org", "username": "robot$ci", "password-env": "HARBOR_TOKEN"}
UNSET = "password-env names HARBOR_TOKEN, which is not set"


@dataclass
class MainRun:
    code: int
    exported: dict[str, str]  # GITHUB_ENV
    outputs: dict[str, str]  # GITHUB_OUTPUT
    summary: str


def run_main(
    tmp_path: Path, env: dict[str, str], inputs: dict[str, str], event_name: str, event: object, **more: str
) -> MainRun:
    """main as the runner starts it on a host (RUNNER_TEMP, no mounts): INPUT_* env, the event file,
    the file-command files read back as the runner reads them. The log is the test's stdout."""
    (tmp_path / "runner-temp").mkdir()
    files = {name: tmp_path / name.lower() for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE")}
    files["GITHUB_STEP_SUMMARY"] = tmp_path / "summary.md"
    for path in files.values():
        path.touch()
    (tmp_path / "event.json").write_text(json.dumps(event))
    env = {
        **env,
        **{name: str(path) for name, path in files.items()},
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_ACTOR": "octocat",
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
        **more,
    }
    code = main_stage.run(env, Console.for_env(env))
    return MainRun(
        code,
        read_file_command(files["GITHUB_ENV"]),
        read_file_command(files["GITHUB_OUTPUT"]),
        files["GITHUB_STEP_SUMMARY"].read_text(),
    )


@pytest.mark.parametrize(
    ("event_name", "event", "more"),
    [
        ("pull_request", FORK_PULL, {}),
        ("pull_request", FORK_PULL, {"HARBOR_TOKEN": ""}),  # `${{ secrets.HARBOR_TOKEN }}` in a fork
        ("push", {"ref": "refs/heads/dependabot/docker/app"}, {"GITHUB_ACTOR": "dependabot[bot]"}),
    ],
    ids=["fork-unset", "fork-empty", "dependabot-push"],
)
def test_a_password_env_that_github_withholds_skips_its_registry_and_the_check_goes_on(
    tmp_path: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    event_name: str,
    event: object,
    more: dict[str, str],
) -> None:
    """The README's pull-request check, from a fork: harbor's entry is left out with a notice, the
    other registry is logged in to and its base image checked, and the step passes."""
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\n")
    other = {"server": private_registry.server, "username": "alice", "password-env": "OTHER_TOKEN"}
    inputs = {"registries": json.dumps([HARBOR, other]), "context": str(context), "build": "false"}
    main = run_main(
        tmp_path, {**env, "OTHER_TOKEN": private_registry.password}, inputs, event_name, event, **more
    )
    out = capsys.readouterr().out
    assert main.code == 0, out
    assert f"::notice::input registries: entry 1 (harbor.example.org): {UNSET} (" in out
    assert "so harbor.example.org is skipped" in out and "::error" not in out
    assert UNSET in main.summary
    config = Path(main.exported["DOCKER_CONFIG"])
    assert list(json.loads((config / "config.json").read_text())["auths"]) == [private_registry.server]
    assert [entry["server"] for entry in json.loads(main.outputs["registries"])] == [private_registry.server]
    assert json.loads(main.outputs["base-images"])[private_registry.reference].startswith("sha256:")
    assert "harbor.example.org" not in (config / "config.json").read_text()
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
    shown = [line for line in out.splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in shown if private_registry.password in line]


@pytest.mark.parametrize(
    ("event_name", "event", "more"),
    [
        ("pull_request", OWN_PULL, {}),
        ("pull_request", OWN_PULL, {"HARBOR_TOKEN": ""}),
        ("push", {"ref": "refs/heads/main"}, {}),
    ],
    ids=["own-pull-request-unset", "own-pull-request-empty", "push"],
)
def test_a_password_env_that_is_not_set_where_secrets_are_given_fails_the_step(
    tmp_path: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    event_name: str,
    event: object,
    more: dict[str, str],
) -> None:
    inputs = {"registries": json.dumps([HARBOR]), "build": "false"}
    main = run_main(tmp_path, env, inputs, event_name, event, **more)
    out = capsys.readouterr().out
    assert main.code == 1
    assert f"::error::input registries: entry 1 (harbor.example.org): {UNSET}%0A" in out
    assert "::notice" not in out and "skipped" not in out
    assert "DOCKER_CONFIG" not in main.exported


def test_links_in_the_workspace(
    tmp_path: Path,
    env: dict[str, str],
    private_registry: PrivateRegistry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Committed links: `k8s/loop -> .` is not descended into by `**` (it looped for minutes); a
    manifest linked to a file outside the workspace is neither read nor patched; a Dockerfile linked
    to /dev/zero is refused at once (it read until MemoryError)."""
    import os
    import time

    workspace = tmp_path / "workspace"
    (workspace / "k8s" / "apps").mkdir(parents=True)
    monkeypatch.chdir(workspace)
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        f"      containers: [{{name: web, image: {private_registry.reference}}}]\n"
    )
    (workspace / "k8s" / "apps" / "web.yaml").write_text(deployment)
    os.symlink(".", workspace / "k8s" / "loop")
    entry = {"server": private_registry.server, "username": "alice", "password": private_registry.password}
    inputs = {"registries": json.dumps([entry]), "manifests": "k8s/**/*.yaml"}
    started = time.monotonic()
    for run in ("one", "two", "three"):
        (tmp_path / run).mkdir()
    env = {**env, "GITHUB_WORKSPACE": str(workspace)}  # the stage on a host: the runner's workspace
    first = run_main(tmp_path / "one", env, inputs, "push", {})
    assert first.code == 0, capsys.readouterr().out
    assert time.monotonic() - started < 30
    assert "imagePullSecrets" in (workspace / "k8s" / "apps" / "web.yaml").read_text()

    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(deployment)
    os.symlink(outside, workspace / "k8s" / "theirs.yaml")
    capsys.readouterr()
    second = run_main(tmp_path / "two", env, inputs, "push", {})
    out = capsys.readouterr().out
    assert second.code == 1
    assert "input manifests: k8s/theirs.yaml leads out of the workspace" in out
    assert outside.read_text() == deployment  # not patched
    os.unlink(workspace / "k8s" / "theirs.yaml")

    (workspace / "app").mkdir()
    os.symlink("/dev/zero", workspace / "app" / "Dockerfile")
    started = time.monotonic()
    third = run_main(tmp_path / "three", env, {**inputs, "context": "app", "build": "false"}, "push", {})
    out = capsys.readouterr().out
    assert third.code == 1
    assert time.monotonic() - started < 10
    assert "leads out of the workspace" in out and "app/Dockerfile" in out
    assert "internal error" not in out
