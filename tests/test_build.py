"""`registries check` and `registries build` against the bench: a daemon that holds no login,
private registries of every kind, and a real build, push and pull."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from private_registries.builders.classic import _follow
from private_registries.errors import BuildError
from tests.clirun import Result, run_process
from tests.servers.aws import AwsFront
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import ECR_ACCOUNT, PrivateRegistry, basic, entries_file, push
from tests.servers.tokenserver import TokenServer


def ecr(reg: PrivateRegistry) -> dict[str, object]:
    return {"server": reg.server, "type": "ecr", "aws-account": ECR_ACCOUNT, "aws-region": "us-east-1"}


def build_env(env: dict[str, str], dockerd: Dockerd, aws: AwsFront | None = None) -> dict[str, str]:
    """DOCKER_HOST only: no DOCKER_CONFIG, and HOME has no .docker (the daemon holds no login)."""
    extra = {**aws.env(), "AWS_EC2_METADATA_DISABLED": "true"} if aws else {}
    return {**env, **extra, "DOCKER_HOST": dockerd.host}


def registries(env: dict[str, str], *argv: str) -> Result:
    return run_process(env, *argv, timeout=300)


def forget(dockerd: Dockerd, *references: str) -> None:
    for reference in references:
        dockerd.docker("rmi", "-f", reference, check=False)


def manifest_digest(reg: Registry, repository: str, tag: str, auth: tuple[str, str]) -> str:
    response = requests.head(
        f"{reg.url}/v2/{repository}/manifests/{tag}",
        auth=auth,
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


@pytest.fixture
def three_registries_dockerfile(
    tmp_path: Path,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    ecr_registry: PrivateRegistry,
) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"""ARG TOKEN_IMAGE={token_registry.reference}
FROM {private_registry.reference} AS one
RUN echo built-in-one > /one
FROM ${{TOKEN_IMAGE}} AS two
COPY --from={ecr_registry.reference} /etc/bench-image /from-ecr
COPY --from=one /one /one
RUN cat /one /from-ecr > /result
"""
    )
    return context


def test_multi_stage_build_from_three_private_registries_with_no_login(
    env: dict[str, str],
    dockerd: Dockerd,
    aws: AwsFront,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    ecr_registry: PrivateRegistry,
    three_registries_dockerfile: Path,
    tmp_path: Path,
) -> None:
    forget(dockerd, private_registry.reference, token_registry.reference, ecr_registry.reference)
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry), ecr(ecr_registry)])
    environment = build_env(env, dockerd, aws)
    result = registries(
        environment,
        "build",
        str(three_registries_dockerfile),
        "-t",
        "bench/three:1",
        "--registries",
        str(path),
    )
    assert result.code == 0, result.err + result.out
    assert "IMAGE" in result.out and "RESULT" in result.out
    for reference in (private_registry.reference, token_registry.reference, ecr_registry.reference):
        assert any(line.startswith(reference) and " ok " in line for line in result.out.splitlines()), (
            reference
        )
    assert "Built sha256:" in result.out
    assert aws.count("ecr:GetAuthorizationToken") == 1  # the pre-flight's token serves the build too
    run = dockerd.docker("run", "--rm", "bench/three:1", "cat", "/result")
    assert run.stdout.split() == ["built-in-one", ecr_registry.reference]
    assert not (Path(env["HOME"]) / ".docker").exists()  # nothing written to the user's docker config
    for secret in (private_registry.password, token_registry.password, ecr_registry.password):
        assert secret not in result.text


def test_push_lands_and_the_digest_matches_the_registry(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\nRUN echo pushed > /pushed\n")
    forget(dockerd, private_registry.reference)
    target = f"{token_registry.server}/released/app:7"
    also = f"{token_registry.server}/released/app:latest"
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry)])
    result = registries(
        build_env(env, dockerd),
        "build",
        str(context),
        "-t",
        target,
        "-t",
        also,
        "--push",
        "--registries",
        str(path),
    )
    assert result.code == 0, result.err + result.out
    pushed = dict(
        line.removeprefix("Pushed ").split("@", 1)
        for line in result.out.splitlines()
        if line.startswith("Pushed ")
    )
    assert set(pushed) == {target, also}
    auth = (token_registry.username, token_registry.password)
    # a token registry: fetch a token the way any client would, then ask for the manifest
    token = requests.get(
        token_registry.registry.token_server.realm,  # type: ignore[union-attr]
        params={"service": "bench-registry", "scope": "repository:released/app:pull"},
        auth=auth,
        timeout=10,
    ).json()["token"]
    response = requests.head(
        f"{token_registry.registry.url}/v2/released/app/manifests/7",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
        timeout=10,
    )
    assert response.headers["Docker-Content-Digest"] == pushed[target] == pushed[also]
    assert token_registry.password not in result.text


def test_preflight_names_each_failure(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    unheld = registry_factory(users={"zed": "pw-zed"})
    push(dockerd, f"{unheld.server}/hidden/app:1", "zed", "pw-zed", tmp_path)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"""FROM {private_registry.server}/private/app:no-such-tag AS a
FROM {token_registry.reference} AS b
FROM {unheld.server}/hidden/app:1 AS c
COPY --from={private_registry.server}/no/such/repo:1 /x /x
"""
    )
    wrong = "canary-wrong-7781"
    path = entries_file(tmp_path, [basic(private_registry), {**basic(token_registry), "password": wrong}])
    result = registries(
        build_env(env, dockerd), "check", str(context), "--all-stages", "--registries", str(path)
    )
    assert result.code == 1
    rows = {line.split()[0]: line.split()[2:] for line in result.out.splitlines()[1:]}
    assert rows[f"{private_registry.server}/private/app:no-such-tag"][:2] == ["not", "found"]
    assert rows[token_registry.reference] == ["rejected"]
    assert rows[f"{unheld.server}/hidden/app:1"][:2] == ["no", "credential"]
    assert rows[f"{private_registry.server}/no/such/repo:1"][:2] == ["not", "found"]
    err = result.err
    missing_tag = f"{private_registry.server}/private/app:no-such-tag"
    assert (
        f"{missing_tag} (FROM, line 1): {private_registry.server}: private/app:no-such-tag not found" in err
    )
    assert f"{token_registry.server}: credential rejected by the token endpoint (401 Unauthorized)" in err
    assert f"{unheld.server}: no credential held for this registry" in err
    assert f"registries add {unheld.server} USERNAME PASSWORD" in err
    assert f"{private_registry.server}: repository no/such/repo not found" in err
    assert wrong not in result.text
    built = registries(build_env(env, dockerd), "build", str(context), "--registries", str(path))
    assert built.code == 1  # the build does not start when the pre-flight fails
    assert "Built" not in built.out
    # the last stage (the default target) needs only its own image and the one it copies from
    target = registries(build_env(env, dockerd), "check", str(context), "--registries", str(path))
    assert [line.split()[0] for line in target.out.splitlines()[1:]] == [
        f"{unheld.server}/hidden/app:1",
        f"{private_registry.server}/no/such/repo:1",
    ]


def test_check_shows_digests_for_good_images(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    result = registries(build_env(env, dockerd), "check", str(context), "--registries", str(path))
    assert result.code == 0, result.err
    digest = manifest_digest(
        private_registry.registry, "private/app", "1", ("alice", private_registry.password)
    )
    assert result.out.splitlines()[1].split() == [
        private_registry.reference,
        private_registry.server,
        "ok",
        digest,
    ]


def test_no_access_to_a_repository(
    env: dict[str, str], dockerd: Dockerd, registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    tokens = TokenServer(
        service="acl", users={"owner": "pw-owner", "guest": "pw-guest"}, acl={"secret/app": {"owner"}}
    )
    registry = registry_factory(token_server=tokens)
    push(dockerd, f"{registry.server}/secret/app:1", "owner", "pw-owner", tmp_path)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {registry.server}/secret/app:1\n")
    path = entries_file(tmp_path, [{"server": registry.server, "username": "guest", "password": "pw-guest"}])
    result = registries(build_env(env, dockerd), "check", str(context), "--registries", str(path))
    assert result.code == 1
    assert f"{registry.server}: no access to the repository secret/app (401)" in result.err


def test_a_registry_that_refuses_the_push(
    env: dict[str, str],
    dockerd: Dockerd,
    registry_factory: Callable[..., Registry],
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    tokens = TokenServer(service="ro", users={"reader": "pw-reader"}, acl={"locked/app": set()})
    registry = registry_factory(token_server=tokens)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\n")
    path = entries_file(
        tmp_path,
        [basic(private_registry), {"server": registry.server, "username": "reader", "password": "pw-reader"}],
    )
    result = registries(
        build_env(env, dockerd),
        "build",
        str(context),
        "-t",
        f"{registry.server}/locked/app:1",
        "--push",
        "--registries",
        str(path),
    )
    assert result.code == 1
    assert f"the registry refused the push of {registry.server}/locked/app:1" in result.err
    assert "Traceback" not in result.text


def test_a_failing_step_is_shown_with_its_output(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {private_registry.reference}\nRUN echo fine\n"
        "RUN echo about-to-fail && cat /no/such/file\nRUN echo never\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    result = registries(build_env(env, dockerd), "build", str(context), "--registries", str(path))
    assert result.code == 1
    assert "the build failed at Step 3/4 : RUN echo about-to-fail && cat /no/such/file" in result.err
    assert "| about-to-fail" in result.err
    assert "/no/such/file" in result.err.split("\n", 1)[1]  # the step's stderr, red in the stream
    assert "\x1b" not in result.err
    assert "Traceback" not in result.text


def test_a_failure_message_holds_no_terminal_escapes() -> None:
    """The classic builder colours a step's stderr; a hostile step may also set titles or move the
    cursor. The error message shows the text alone; the log keeps only the colours."""
    stream = [
        {"stream": "Step 2/2 : RUN \x1b]0;owned\x07make\n"},
        {"stream": " ---> Running in 0123\n"},
        {"stream": "\x1b[91mboom\n\x1b[0m"},
        {"stream": "\x1b[0mout\x1b[2J\x1b[1;1H\n"},
        {"error": "The command '/bin/sh -c make' returned a non-zero code: \x1b[31m2\x1b[0m"},
    ]
    logged: list[str] = []
    with pytest.raises(BuildError) as caught:
        _follow(iter(stream), logged.append)
    message = str(caught.value)
    assert "\x1b" not in message
    assert message.startswith("the build failed at Step 2/2 : RUN make: ")
    assert "non-zero code: 2" in message
    assert "  | boom\n  | out" in message
    assert logged[0] == "Step 2/2 : RUN make"
    assert "\x1b[91mboom" in logged
    assert "\x1b[0mout" in logged


def test_build_log_is_folded_in_github_actions(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {private_registry.reference}\nRUN echo in-the-log ::warning::from-the-build\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    result = registries(
        {**build_env(env, dockerd), "GITHUB_ACTIONS": "true"},
        "build",
        str(context),
        "-t",
        "bench/fold:1",
        "--registries",
        str(path),
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    start = lines.index("::group::Build bench/fold:1")
    end = lines.index("::endgroup::")
    assert any("in-the-log" in line for line in lines[start:end])
    # the build's own output cannot issue workflow commands: it runs between stop-commands and its token
    stop = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[stop].removeprefix("::stop-commands::")
    resume = lines.index(f"::{token}::")
    assert start < stop < resume < end
    assert all(
        i in range(stop, resume) for i, line in enumerate(lines) if "::warning::from-the-build" in line
    )


def test_secrets_never_reach_the_image(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {private_registry.reference}\nARG NOTE\nRUN echo $NOTE > /note\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = build_env(env, dockerd)
    refused = registries(
        environment,
        "build",
        str(context),
        "--build-arg",
        f"NOTE=x{private_registry.password}x",
        "--registries",
        str(path),
    )
    assert refused.code == 1
    assert "build arg NOTE carries a registry secret" in refused.err
    assert private_registry.password not in refused.text
    result = registries(
        environment,
        "build",
        str(context),
        "-t",
        "bench/clean:1",
        "--label",
        "team=core",
        "--build-arg",
        "NOTE=hello",
        "--registries",
        str(path),
    )
    assert result.code == 0, result.err
    history = dockerd.docker("history", "--no-trunc", "bench/clean:1").stdout
    inspect = dockerd.docker("inspect", "bench/clean:1").stdout
    assert json.loads(inspect)[0]["Config"]["Labels"]["team"] == "core"
    for text in (history, inspect):
        assert private_registry.password not in text
        assert "alice" not in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-dockerfile", "no Dockerfile at"),
        ("no-daemon", "cannot reach the Docker daemon at unix:///nonexistent/docker.sock"),
        ("arg-without-value", "FROM uses ARG BASE, which has no value"),
    ],
)
def test_bad_input(
    env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path, setup: str, message: str
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    if setup == "no-daemon":
        (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\n")
    elif setup == "arg-without-value":
        (context / "Dockerfile").write_text("ARG BASE\nFROM $BASE\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = {**env, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = registries(environment, "build", str(context), "--registries", str(path))
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.text
    if setup == "no-daemon":
        assert "DOCKER_HOST" in result.err
