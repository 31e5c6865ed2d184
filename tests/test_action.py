"""The action as the runner runs it: its image built from this repository, `docker run` with the
runner's mounts and file commands, a later host step that uses what it left, then the post stage."""

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.servers.aws import ECR_PUBLIC_PASSWORD, AwsFront
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import ECR_ACCOUNT, GITHUB_TOKEN, PrivateRegistry, pull_fresh
from tests.servers.oidc import OidcIssuer
from tests.servers.runner import RUNNER_UID, RunnerJob, StepResult

ROLE = "arn:aws:iam::123456789012:role/ecr-pull"


@pytest.fixture
def job(runner_job: RunnerJob) -> RunnerJob:
    return runner_job


def secret_entry(reg: PrivateRegistry) -> str:
    """A REGISTRY_* secret's value, as `registries add --repo` writes it."""
    return json.dumps({"server": reg.server, "username": reg.username, "password": reg.password})


def secret_entry_of(reg: PrivateRegistry) -> dict[str, str]:
    return {"server": reg.server, "username": reg.username, "password": reg.password}


def secrets_input(*registries: PrivateRegistry, **others: str) -> str:
    """`${{ toJSON(secrets) }}`: every secret of the repository, ours among them."""
    from private_registries.sources import secret_name

    values = {secret_name(reg.server): secret_entry(reg) for reg in registries}
    return json.dumps({"github_token": "ghs_unrelated", **others, **values})


def unmasked(step: StepResult, *values: str) -> list[str]:
    """Lines of the step's log that show a value outside an ::add-mask:: command."""
    return [
        line
        for line in step.text.splitlines()
        if any(value in line for value in values) and not line.startswith("::add-mask::")
    ]


def as_runner_user(
    dockerd: Dockerd, config: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A step on the host: the runner user (not root) with this DOCKER_CONFIG, running docker."""
    os.chmod(dockerd.socket, 0o666)  # noqa: S103 - the bench daemon, so the runner user can reach it
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/nonexistent",
        "DOCKER_HOST": dockerd.host,
        "DOCKER_CONFIG": config,
    }
    argv = [
        "setpriv",
        f"--reuid={RUNNER_UID}",
        f"--regid={RUNNER_UID}",
        "--clear-groups",
        dockerd.client_binary,
        *args,
    ]
    return subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, check=False, timeout=300
    )


def test_main_later_step_and_post(
    job: RunnerJob,
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    ghcr_registry: PrivateRegistry,
) -> None:
    main = job.run(
        "main",
        {
            "secrets": secrets_input(private_registry, token_registry),
            "registries": json.dumps([{"server": ghcr_registry.server, "type": "ghcr"}]),
            "github-token": GITHUB_TOKEN,
        },
    )
    assert main.code == 0, main.text
    config = main.env["DOCKER_CONFIG"]
    assert config.startswith(str(job.temp) + "/")  # the HOST path, usable by later host steps
    assert main.outputs["docker-config"] == config
    path = Path(config) / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (path.stat().st_uid, Path(config).stat().st_uid) == (RUNNER_UID, RUNNER_UID)
    assert set(json.loads(path.read_text())["auths"]) == {
        private_registry.server,
        token_registry.server,
        ghcr_registry.server,
    }

    listed = json.loads(main.outputs["registries"])
    assert {(r["server"], r["type"]) for r in listed} == {
        (private_registry.server, "basic"),
        (token_registry.server, "basic"),
        (ghcr_registry.server, "ghcr"),
    }
    assert [r["expires-at"] for r in listed if r["type"] == "ghcr"] == ["end of the job"]
    dockerconfigjson = main.outputs["dockerconfigjson"]
    assert (
        json.loads(base64.b64decode(dockerconfigjson))["auths"][private_registry.server]["password"]
        == private_registry.password
    )
    pull_secret = Path(main.outputs["pull-secret-file"])
    assert pull_secret.exists() and stat.S_IMODE(pull_secret.stat().st_mode) == 0o600

    secrets = [private_registry.password, token_registry.password, GITHUB_TOKEN, dockerconfigjson]
    secrets += [
        base64.b64encode(f"{r.username}:{r.password}".encode()).decode()
        for r in (private_registry, token_registry)
    ]
    assert not unmasked(main, *secrets)
    masked = {
        line.removeprefix("::add-mask::") for line in main.out.splitlines() if line.startswith("::add-mask::")
    }
    assert {private_registry.password, token_registry.password, GITHUB_TOKEN, dockerconfigjson} <= masked
    assert "| Registry | Type | User | Expires |" in main.summary
    assert private_registry.password not in main.summary

    for reg in (private_registry, token_registry, ghcr_registry):
        dockerd.docker("rmi", "-f", reg.reference, check=False)
        pulled = as_runner_user(dockerd, config, "pull", reg.reference)
        assert pulled.returncode == 0, pulled.stderr

    post = job.run("post", {"logout": "true"})
    assert post.code == 0, post.text
    assert not Path(config).exists()
    assert not pull_secret.exists()


def owner_and_mode(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_uid, stat.S_IMODE(found.st_mode)


def files_of(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: its bytes, owner and mode (what a later step relies on)."""
    return {
        str(path.relative_to(folder)): (
            path.read_bytes(),
            path.stat().st_uid,
            stat.S_IMODE(path.stat().st_mode),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def as_setup_buildx(folder: Path) -> None:
    """What docker/setup-buildx-action leaves: its builder instance under $DOCKER_CONFIG/buildx."""
    instances = folder / "buildx" / "instances"
    instances.mkdir(parents=True)
    (instances / "builder-4242").write_text('{"Name":"builder-4242","Driver":"docker-container"}')
    (folder / "buildx" / "current").write_text('{"Key":"unix:///var/run/docker.sock","Name":"builder-4242"}')
    for path in (folder / "buildx", instances, instances / "builder-4242", folder / "buildx" / "current"):
        os.chown(path, RUNNER_UID, RUNNER_UID)


def as_login_action(dockerd: Dockerd, folder: Path, reg: PrivateRegistry) -> None:
    """What docker/login-action does: `docker login --password-stdin` into $DOCKER_CONFIG."""
    logged = as_runner_user(
        dockerd, str(folder), "login", "-u", reg.username, "--password-stdin", reg.server, stdin=reg.password
    )
    assert logged.returncode == 0, logged.stderr


@pytest.mark.parametrize("where", ["runner-temp", "workspace"])
def test_after_login_and_setup_buildx_it_merges_into_their_docker_config(
    job: RunnerJob,
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    where: str,
) -> None:
    """An earlier step set DOCKER_CONFIG (a host path) and logged in there; setup-buildx-action made
    its builder there. The action merges into that folder, leaves DOCKER_CONFIG alone, and post
    takes out only what it added, putting back the entry it replaced."""
    folder = (job.temp if where == "runner-temp" else job.workspace) / "docker-config"
    folder.mkdir(mode=0o700)
    os.chown(folder, RUNNER_UID, RUNNER_UID)
    job.env["DOCKER_CONFIG"] = str(folder)  # as `echo DOCKER_CONFIG=... >> $GITHUB_ENV` leaves it
    as_login_action(dockerd, folder, token_registry)
    config = json.loads((folder / "config.json").read_text())
    stale = {"auth": base64.b64encode(f"{private_registry.username}:expired".encode()).decode()}
    config["auths"][private_registry.server] = stale  # an old login the action replaces
    config["psFormat"] = "table {{.ID}}"
    (folder / "config.json").write_text(json.dumps(config))
    as_setup_buildx(folder)
    before, buildx = json.loads((folder / "config.json").read_text()), files_of(folder / "buildx")

    main = job.run("main", {"registries": json.dumps([secret_entry_of(private_registry)])})
    assert main.code == 0, main.text
    assert "DOCKER_CONFIG" not in main.env  # left as it is
    assert main.outputs["docker-config"] == str(folder)  # the host's path
    merged = json.loads((folder / "config.json").read_text())
    assert merged["psFormat"] == before["psFormat"]
    assert merged["auths"][token_registry.server] == before["auths"][token_registry.server]
    assert merged["auths"][private_registry.server] != stale
    assert (folder / "config.json").stat().st_uid == RUNNER_UID
    assert files_of(folder / "buildx") == buildx
    pull_secret = Path(main.outputs["pull-secret-file"])
    assert pull_secret.parent.parent == job.temp and not pull_secret.is_relative_to(folder)

    for reg in (private_registry, token_registry):  # a later step sees both logins
        dockerd.docker("rmi", "-f", reg.reference, check=False)
        pulled = as_runner_user(dockerd, str(folder), "pull", reg.reference)
        assert pulled.returncode == 0, pulled.stderr

    post = job.run("post", {})
    assert post.code == 0, post.text
    assert json.loads((folder / "config.json").read_text()) == before
    assert files_of(folder / "buildx") == buildx
    assert not pull_secret.parent.exists()
    assert "put back 1 it had replaced" in post.out


def test_first_then_login_and_setup_buildx_write_into_its_folder(
    job: RunnerJob, dockerd: Dockerd, private_registry: PrivateRegistry, token_registry: PrivateRegistry
) -> None:
    """No DOCKER_CONFIG yet: the action exports a folder of its own; setup-buildx-action and
    login-action after it write there; post takes out only the action's entries and files."""
    main = job.run("main", {"registries": json.dumps([secret_entry_of(private_registry)])})
    assert main.code == 0, main.text
    folder = Path(main.env["DOCKER_CONFIG"])
    assert job.env["DOCKER_CONFIG"] == str(folder)
    as_setup_buildx(folder)
    as_login_action(dockerd, folder, token_registry)
    buildx = files_of(folder / "buildx")
    for reg in (private_registry, token_registry):
        dockerd.docker("rmi", "-f", reg.reference, check=False)
        pulled = as_runner_user(dockerd, str(folder), "pull", reg.reference)
        assert pulled.returncode == 0, pulled.stderr

    post = job.run("post", {})
    assert post.code == 0, post.text
    left = json.loads((folder / "config.json").read_text())["auths"]
    assert set(left) == {token_registry.server}  # login-action's, for its own post step
    assert files_of(folder / "buildx") == buildx
    assert sorted(p.name for p in folder.iterdir()) == ["buildx", "config.json"]


def test_build_and_push_in_the_action(
    job: RunnerJob, dockerd: Dockerd, private_registry: PrivateRegistry, token_registry: PrivateRegistry
) -> None:
    (job.workspace / "app").mkdir()
    (job.workspace / "app" / "Dockerfile").write_text(
        f"ARG BASE={private_registry.reference}\nFROM $BASE\nRUN echo from-the-action > /made\n"
    )
    target = f"{token_registry.server}/ci/app:1"
    dockerd.docker("rmi", "-f", private_registry.reference, check=False)
    (job.workspace / "app" / "Dockerfile").write_text(
        f"ARG BASE={private_registry.reference}\nFROM $BASE\n"
        "RUN --mount=type=cache,target=/cache echo from-the-action > /made\n"
    )
    main = job.run(
        "main",
        {
            "secrets": secrets_input(private_registry, token_registry),
            "context": "app",
            "tags": target,
            "push": "true",
            "network": "host",  # the bench's daemon has no bridge
        },
    )
    assert main.code == 0, main.text
    assert "[internal] load build definition" in main.out  # BuildKit ran it: the image's docker CLI
    assert main.outputs["image-id"].startswith("sha256:")
    assert main.outputs["imageid"] == main.outputs["image-id"]
    assert json.loads(main.outputs["metadata"])["containerimage.digest"] == main.outputs["digest"]
    assert main.outputs["digest"].startswith("sha256:")
    base_images = json.loads(main.outputs["base-images"])
    assert list(base_images) == [private_registry.reference]
    assert base_images[private_registry.reference].startswith("sha256:")
    assert "#### Base images" in main.summary and main.outputs["digest"] in main.summary
    config = main.env["DOCKER_CONFIG"]
    assert pull_fresh(dockerd, target, Path(config)).returncode == 0
    assert not unmasked(main, private_registry.password, token_registry.password)


def test_ecr_with_the_jobs_oidc_role_in_the_trimmed_image(
    job: RunnerJob,
    dockerd: Dockerd,
    aws: AwsFront,
    oidc: OidcIssuer,
    ecr_registry: PrivateRegistry,
    registry_factory,
) -> None:
    """ECR, ECR Public and STS clients work in the image (botocore's data is trimmed to them)."""
    aws.trust[ROLE] = "repo:octo/app:*"
    public = registry_factory(users={"AWS": ECR_PUBLIC_PASSWORD})
    entries = [
        {"server": ecr_registry.server, "type": "ecr", "aws-account": ECR_ACCOUNT, "aws-region": "us-east-1"},
        {"server": public.server, "type": "ecr-public"},
    ]
    env = {
        k: v
        for k, v in aws.env().items()
        if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET")
    }
    main = job.run(
        "main",
        {"registries": json.dumps(entries), "aws-role-to-assume": ROLE},
        env={**env, **oidc.env(), "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert main.code == 0, main.text
    assert aws.count("sts:AssumeRoleWithWebIdentity") == 1
    assert aws.count("ecr:GetAuthorizationToken") == 1
    assert aws.count("ecr-public:GetAuthorizationToken") == 1
    assert pull_fresh(dockerd, ecr_registry.reference, Path(main.env["DOCKER_CONFIG"])).returncode == 0
    assert not unmasked(main, ecr_registry.password, ECR_PUBLIC_PASSWORD)


def test_a_fork_pull_request_carries_on_without_secrets(job: RunnerJob) -> None:
    event = job.temp / "_github_workflow" / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "head": {"repo": {"full_name": "stranger/app"}},
                    "base": {"repo": {"full_name": "octo/app"}},
                }
            }
        )
    )
    main = job.run(
        "main",
        {"secrets": json.dumps({"github_token": "ghs_x"})},
        env={"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/github/workflow/event.json"},
    )
    assert main.code == 0, main.text
    assert "::notice::This is a pull request from a fork" in main.out
    assert "pull request from a fork" in main.summary


def test_bad_input_fails_the_step_with_a_clear_error(job: RunnerJob) -> None:
    main = job.run("main", {"push": "yes please", "registries": "[]"})
    assert main.code == 1
    assert "::error::input push: 'yes please' is not a boolean" in main.out
    assert "Traceback" not in main.text


def test_values_cannot_inject_workflow_commands(job: RunnerJob, private_registry: PrivateRegistry) -> None:
    hostile = "pw%0A::set-output name=x::y\n::warning::injected"
    entries = [{"server": private_registry.server, "username": "alice", "password": hostile}]
    main = job.run("main", {"registries": json.dumps(entries)})
    assert main.code == 1  # the password is wrong, and that is all that happens
    commands = [line for line in main.out.splitlines() if line.startswith("::")]
    assert all(
        line.split("::")[1].split(" ")[0] in {"add-mask", "error", "warning", "notice", "group", "endgroup"}
        for line in commands
    )
    assert not [line for line in commands if line.startswith("::warning::injected")]
    # what the hostile value holds appears only inside the messages of our own commands
    assert not [
        line
        for line in main.text.splitlines()
        if line.lstrip().startswith(("::set-output", "::warning::injected"))
    ]


@pytest.mark.parametrize("problem", ["not-found", "rejected"])
def test_a_failed_pre_flight_fails_the_step(
    job: RunnerJob, private_registry: PrivateRegistry, problem: str
) -> None:
    """A base image that cannot be pulled stops the build and turns the step red."""
    (job.workspace / "app").mkdir()
    missing = f"{private_registry.server}/private/never-pushed:1"
    base = missing if problem == "not-found" else private_registry.reference
    (job.workspace / "app" / "Dockerfile").write_text(f"FROM {base}\nRUN echo unreachable\n")
    password = private_registry.password if problem == "not-found" else "wrong-password-3141"
    entry = {"server": private_registry.server, "username": private_registry.username, "password": password}
    main = job.run("main", {"registries": json.dumps([entry]), "context": "app"})
    assert main.code == 1, main.text
    assert "::error" in main.out
    assert "image-id" not in main.outputs  # the build did not run
    assert "Traceback" not in main.text


def test_a_pull_request_check_annotates_the_dockerfile_line(
    job: RunnerJob, private_registry: PrivateRegistry
) -> None:
    """`build: false`: the pre-flight alone, no build; each failure points at its Dockerfile line."""
    (job.workspace / "app").mkdir()
    (job.workspace / "app" / "Dockerfile").write_text(
        f"FROM {private_registry.reference} AS base\n"
        f"FROM {private_registry.server}/private/app:never-pushed\nCOPY --from=base /etc /etc\n"
    )
    entry = {"server": private_registry.server, "username": "alice", "password": private_registry.password}
    main = job.run("main", {"registries": json.dumps([entry]), "context": "app", "build": "false"})
    assert main.code == 1, main.text
    annotation = next(line for line in main.out.splitlines() if line.startswith("::error file="))
    assert annotation.startswith("::error file=app/Dockerfile,line=2,title=private-registries%3A not found::")
    assert "image-id" not in main.outputs
    checked = json.loads(main.outputs["base-images"])
    assert checked[private_registry.reference].startswith("sha256:")
    assert checked[f"{private_registry.server}/private/app:never-pushed"] == ""


def test_build_inputs_without_a_context_are_said_to_be_ignored(job: RunnerJob) -> None:
    main = job.run("main", {"registries": "[]", "tags": "r.example.org/app:1", "push": "true"})
    assert main.code == 0, main.text
    assert "::warning::input tags, push: no build without the context input, so ignored" in main.out
    bad = job.run("main", {"registries": "[]", "context": "app", "file": "app/Nope"})
    assert bad.code == 1
    assert "give its path with input file" in bad.out


def test_the_image_holds_only_what_it_runs(dockerd: Dockerd, action_image: str) -> None:
    """Of the CLI image's plugins only buildx is copied (compose is dead weight), buildx answers, and
    the Python it runs is compiled (it cannot save compiled files at run time)."""
    listing = dockerd.docker(
        "run", "--rm", "--entrypoint", "sh", action_image, "-c",
        "ls /usr/local/libexec/docker/cli-plugins; docker buildx version;"
        " ls /opt/venv/lib/python3*/site-packages/private_registries/__pycache__ | grep -c pyc",
    ).stdout.split("\n")  # fmt: skip
    assert listing[0] == "docker-buildx" and "docker-compose" not in listing
    assert listing[1].startswith("github.com/docker/buildx 0.13.1")
    assert int(listing[2]) > 10
