import base64
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.clirun import run, run_process
from tests.servers.distribution import Registry, outward_address
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, pull_fresh, push
from tests.servers.procs import free_port
from tests.servers.tokenserver import TokenServer


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_registries(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump(entries))
    return path


def config_of(directory: Path) -> dict[str, object]:
    return json.loads((directory / "config.json").read_text())


@pytest.fixture
def not_a_registry(tmp_path: Path) -> Iterator[str]:
    """An HTTP server that is not a registry: GET /v2/ is a 404."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_login_basic_then_docker_pull(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    reg = private_registry
    config = tmp_path / "docker"
    assert pull_fresh(dockerd, reg.reference, tmp_path / "nothing").returncode != 0  # it is private

    assert run(capsys, env, "add", reg.server, reg.username, reg.password).code == 0
    result = run(capsys, env, "login", "--docker-config", str(config))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].split() == ["SERVER", "USERNAME", "TYPE", "EXPIRES"]
    assert result.out.splitlines()[1].split() == [reg.server, "alice", "basic", "never"]
    assert "Login Succeeded: 1 of 1 registries" in result.out
    assert reg.password not in result.text and b64(f"alice:{reg.password}") not in result.text

    assert config_of(config) == {"auths": {reg.server: {"auth": b64(f"alice:{reg.password}")}}}
    assert stat.S_IMODE((config / "config.json").stat().st_mode) == 0o600
    pulled = pull_fresh(dockerd, reg.reference, config)
    assert pulled.returncode == 0, pulled.stderr


def test_login_bearer_token_registry_then_docker_pull(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    reg = token_registry
    config = tmp_path / "docker"
    run(capsys, env, "add", reg.server, reg.username, reg.password)
    result = run(capsys, env, "login", "--docker-config", str(config))
    assert result.code == 0, result.err
    assert reg.password not in result.text
    assert pull_fresh(dockerd, reg.reference, config).returncode == 0


def test_default_folder_is_docker_config_then_home(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    reg = private_registry
    run(capsys, env, "add", reg.server, reg.username, reg.password)
    assert run(capsys, env, "login").code == 0
    assert reg.server in config_of(Path(env["HOME"]) / ".docker")["auths"]  # type: ignore[operator]
    elsewhere = tmp_path / "from-env"
    assert run(capsys, {**env, "DOCKER_CONFIG": str(elsewhere)}, "login").code == 0
    assert reg.server in config_of(elsewhere)["auths"]  # type: ignore[operator]


def test_login_keeps_everything_else(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    reg = private_registry
    config = tmp_path / "docker"
    config.mkdir()
    before = {
        "auths": {
            "other.example.org": {"auth": b64("x:y")},
            reg.server: {"auth": b64("alice:stale"), "identitytoken": "stale-refresh"},
        },
        "credHelpers": {"123456789012.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
        "proxies": {"default": {"httpProxy": "http://proxy.example:3128"}},
        "HttpHeaders": {"X-Team": "builds"},
        "detachKeys": "ctrl-e,e",
    }
    (config / "config.json").write_text(json.dumps(before))
    run(capsys, env, "add", reg.server, reg.username, reg.password)
    assert run(capsys, env, "login", "--docker-config", str(config)).code == 0
    after = config_of(config)
    assert after["auths"] == {
        "other.example.org": {"auth": b64("x:y")},
        reg.server: {"auth": b64(f"alice:{reg.password}")},
    }
    for key in ("credHelpers", "proxies", "HttpHeaders", "detachKeys"):
        assert after[key] == before[key]


def test_failures_are_named_and_the_rest_still_written(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    not_a_registry: str,
    tmp_path: Path,
) -> None:
    wrong = "canary-wrong-5521"
    closed = f"127.0.0.1:{free_port()}"
    entries = [
        {"server": private_registry.server, "username": "alice", "password": private_registry.password},
        {"server": token_registry.server, "username": "bob", "password": wrong},
        {"server": closed, "username": "u", "password": "p-closed"},
        {"server": not_a_registry, "username": "u", "password": "p-nothere"},
    ]
    config = tmp_path / "docker"
    result = run(
        capsys,
        env,
        "login",
        "--registries",
        str(write_registries(tmp_path / "r.yml", entries)),
        "--docker-config",
        str(config),
    )
    assert result.code == 1
    assert "Login Succeeded: 1 of 4 registries" in result.out
    assert (
        f"{token_registry.server}: credential rejected by the token endpoint (401 Unauthorized)" in result.err
    )
    assert f"{closed}: registry unreachable" in result.err
    assert f"{not_a_registry}: GET /v2/ answered 404: this is not a Docker registry API" in result.err
    assert "Traceback" not in result.text
    for secret in (wrong, b64(f"bob:{wrong}"), private_registry.password):
        assert secret not in result.text
    assert list(config_of(config)["auths"]) == [private_registry.server]  # type: ignore[call-overload]
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0


def test_basic_registry_rejects_a_wrong_password(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    run(capsys, env, "add", private_registry.server, "alice", "not-the-password")
    result = run(capsys, env, "login", "--docker-config", str(tmp_path / "docker"))
    assert result.code == 1
    assert f"{private_registry.server}: credential rejected (401 Unauthorized)" in result.err
    assert "check the username and password" in result.err
    assert not (tmp_path / "docker" / "config.json").exists()


def test_forbidden_is_not_rejected(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    tokens = TokenServer(service="locked", users={"carol": "pw-carol"}, denied={"carol"})
    registry = registry_factory(token_server=tokens)
    run(capsys, env, "add", registry.server, "carol", "pw-carol")
    result = run(capsys, env, "login", "--docker-config", str(tmp_path / "docker"))
    assert result.code == 1
    assert (
        f"{registry.server}: credential accepted but refused access by the token endpoint (403 Forbidden)"
        in result.err
    )


def test_tls_failure_then_trusted_ca(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    registry = registry_factory(users={"dave": "pw-dave"}, tls_host=outward_address())
    run(capsys, env, "add", registry.server, "dave", "pw-dave")
    result = run(capsys, env, "login", "--docker-config", str(tmp_path / "docker"))
    assert result.code == 1
    assert f"{registry.server}: TLS failed" in result.err
    assert "certificate verify failed" in result.err
    assert "private CA" in result.err
    trusted = run(
        capsys,
        {**env, "REQUESTS_CA_BUNDLE": str(registry.ca)},
        "login",
        "--docker-config",
        str(tmp_path / "docker"),
    )
    assert trusted.code == 0, trusted.err


def test_an_open_registry_is_stored_with_a_warning(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    registry = registry_factory()
    run(capsys, env, "add", registry.server, "erin", "pw-erin")
    result = run(capsys, env, "login", "--docker-config", str(tmp_path / "docker"))
    assert result.code == 0
    assert "asks for no credentials" in result.err


def test_concurrent_logins_lose_nothing(
    env: dict[str, str], private_registry: PrivateRegistry, token_registry: PrivateRegistry, tmp_path: Path
) -> None:
    config = tmp_path / "docker"
    env = {**env, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    files = []
    for index, reg in enumerate([private_registry, token_registry] * 3):
        files.append(
            write_registries(
                tmp_path / f"r{index}.yml",
                [{"server": reg.server, "username": reg.username, "password": reg.password}],
            )
        )
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        results = list(
            pool.map(
                lambda f: run_process(env, "login", "--registries", str(f), "--docker-config", str(config)),
                files,
            )
        )
    assert all(r.code == 0 for r in results), [r.err for r in results]
    assert set(config_of(config)["auths"]) == {private_registry.server, token_registry.server}  # type: ignore[arg-type]


def test_corrupt_config_json_is_left_alone(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text('{"auths": {,}}')
    run(capsys, env, "add", private_registry.server, "alice", private_registry.password)
    result = run(capsys, env, "login", "--docker-config", str(config))
    assert result.code == 1
    assert "config.json is not valid JSON (line 1 column" in result.err
    assert (config / "config.json").read_text() == '{"auths": {,}}'


def test_creds_store_is_warned_about(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text('{"credsStore": "desktop"}')
    run(capsys, env, "add", private_registry.server, "alice", private_registry.password)
    result = run(capsys, env, "login", "--docker-config", str(config))
    assert result.code == 0
    assert "credsStore (desktop) wins over auths" in result.err
    assert config_of(config)["credsStore"] == "desktop"


def test_file_entries_with_password_env_join_the_store(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    run(capsys, env, "add", private_registry.server, "alice", private_registry.password)
    path = write_registries(
        tmp_path / "r.yml",
        [{"server": token_registry.server, "username": "bob", "password-env": "TOKEN_REG_PW"}],
    )
    config = tmp_path / "docker"
    result = run(
        capsys,
        {**env, "TOKEN_REG_PW": token_registry.password},
        "login",
        "--registries",
        str(path),
        "--docker-config",
        str(config),
    )
    assert result.code == 0, result.err
    assert pull_fresh(dockerd, token_registry.reference, config).returncode == 0
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
    unset = run(capsys, env, "login", "--registries", str(path), "--docker-config", str(config))
    assert unset.code == 1
    assert "password-env names TOKEN_REG_PW, which is not set" in unset.err


def test_a_forks_pull_request_skips_a_password_env_that_is_not_set(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """The command line in a fork's pull request: the entry is left out with a notice, as in the
    action; the others are logged in to. In the same repository's pull request, the error it was."""
    path = write_registries(
        tmp_path / "r.yml",
        [
            {"server": "harbor.example.org", "username": "robot$ci", "password-env": "HARBOR_TOKEN"},
            {"server": private_registry.server, "username": "alice", "password": private_registry.password},
        ],
    )
    event = tmp_path / "event.json"
    head = {"repo": {"full_name": "stranger/app"}}
    event.write_text(
        json.dumps({"pull_request": {"head": head, "base": {"repo": {"full_name": "octo/app"}}}})
    )
    env = {**env, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    config = tmp_path / "docker"
    result = run(capsys, env, "login", "--registries", str(path), "--docker-config", str(config))
    assert result.code == 0, result.err
    assert (
        f"notice: {path}: entry 1 (harbor.example.org): password-env names HARBOR_TOKEN, which is not set "
        "(this is a pull request from a fork: GitHub gives it no secrets), so harbor.example.org is skipped"
    ) in result.err
    assert list(config_of(config)["auths"]) == [private_registry.server]  # type: ignore[call-overload]
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0
    head["repo"]["full_name"] = "octo/app"
    event.write_text(
        json.dumps({"pull_request": {"head": head, "base": {"repo": {"full_name": "octo/app"}}}})
    )
    own = run(capsys, env, "login", "--registries", str(path), "--docker-config", str(tmp_path / "own"))
    assert own.code == 1
    assert "password-env names HARBOR_TOKEN, which is not set" in own.err and "notice" not in own.err


def test_nothing_to_log_in_to(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    result = run(capsys, env, "login")
    assert result.code == 1
    assert "no registries to log in to" in result.err


def test_no_traceback_as_a_process(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    bad = tmp_path / "bad.yml"
    bad.write_text("- server: a.example.org\n  username: [unclosed\n")
    result = run_process(env, "login", "--registries", str(bad))
    assert result.code == 1
    assert "Traceback" not in result.text
    assert f"{bad}: not valid YAML or JSON at line" in result.err


def test_second_image_in_the_same_registry(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """One login serves every repository of the registry (the token is fetched per pull by the daemon)."""
    other = f"{token_registry.server}/team/other:2"
    push(dockerd, other, "bob", token_registry.password, tmp_path)
    run(capsys, env, "add", token_registry.server, "bob", token_registry.password)
    config = tmp_path / "docker"
    assert run(capsys, env, "login", "--docker-config", str(config)).code == 0
    assert pull_fresh(dockerd, other, config).returncode == 0
    assert os.stat(config / "config.json").st_uid == os.geteuid()
