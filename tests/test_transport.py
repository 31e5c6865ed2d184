"""Retries, timeouts and where credentials may travel, against servers that fail on cue."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.clirun import Result, run_process
from tests.servers.distribution import Registry, outward_address
from tests.servers.dockerd import Dockerd
from tests.servers.faulty import Faults, FaultyRegistry
from tests.servers.fixtures import pull_fresh, push


@pytest.fixture
def faulty() -> Iterator[Callable[..., FaultyRegistry]]:
    started: list[FaultyRegistry] = []

    def start(**kwargs: object) -> FaultyRegistry:
        server = FaultyRegistry(**kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def login(env: dict[str, str], tmp_path: Path, *servers: FaultyRegistry | dict[str, object]) -> Result:
    entries = [
        s if isinstance(s, dict) else {"server": s.address, "username": s.username, "password": s.password}
        for s in servers
    ]
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(entries))
    return run_process(env, "login", "--registries", str(path), "--docker-config", str(tmp_path / "docker"))


@pytest.mark.parametrize("failure", ["503", "502", "429", "reset"])
def test_transient_failures_are_retried(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry], failure: str
) -> None:
    server = faulty(faults=Faults(fail_first=2, failure=failure))
    result = login(env, tmp_path, server)
    assert result.code == 0, result.err
    assert server.requests == 2 + 2  # two failures, then the ping and the authenticated check


def test_a_hang_times_out_then_the_retry_succeeds(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry]
) -> None:
    server = faulty(faults=Faults(fail_first=1, failure="hang", hang_for=5))
    started = time.monotonic()
    result = login({**env, "REGISTRIES_TIMEOUT": "1"}, tmp_path, server)
    assert result.code == 0, result.err
    assert time.monotonic() - started < 5


def test_a_registry_that_always_hangs(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry]
) -> None:
    server = faulty(faults=Faults(fail_first=100, failure="hang", hang_for=5))
    result = login({**env, "REGISTRIES_TIMEOUT": "0.5", "REGISTRIES_RETRIES": "1"}, tmp_path, server)
    assert result.code == 1
    assert f"{server.address}: registry timed out" in result.err
    assert "REGISTRIES_TIMEOUT" in result.err


def test_retries_are_bounded(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry]
) -> None:
    server = faulty(faults=Faults(fail_first=100, failure="503"))
    result = login({**env, "REGISTRIES_RETRIES": "2"}, tmp_path, server)
    assert result.code == 1
    assert f"{server.address}: GET /v2/ answered 503" in result.err
    assert server.requests == 3


@pytest.mark.parametrize("bearer", [False, True])
def test_401_is_never_retried(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry], bearer: bool
) -> None:
    server = faulty(bearer=bearer)
    result = login(
        env, tmp_path, {"server": server.address, "username": server.username, "password": "wrong"}
    )
    assert result.code == 1
    assert "401 Unauthorized" in result.err
    assert server.requests == 2  # the anonymous ping, then one refused attempt


@pytest.mark.parametrize("body", [b"<html>login here</html>", b'{"tok": "x"}', b"[]", b""])
def test_a_realm_that_answers_garbage(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry], body: bytes
) -> None:
    server = faulty(bearer=True, token_body=lambda: body)
    result = login(env, tmp_path, server)
    assert result.code == 1
    assert (
        f"{server.address}: token endpoint http://{server.address}/token answered without a token"
        in result.err
    )
    assert "Traceback" not in result.text


def test_many_registries_fail_independently(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry]
) -> None:
    good = [faulty(username=f"u{i}", password=f"p{i}") for i in range(5)]
    bad = faulty(faults=Faults(fail_first=100, failure="503"))
    result = login({**env, "REGISTRIES_RETRIES": "1"}, tmp_path, *good, bad)
    assert result.code == 1
    assert "Login Succeeded: 5 of 6 registries" in result.out


def test_plain_http_off_loopback_needs_insecure(
    env: dict[str, str], dockerd: Dockerd, registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    registry = registry_factory(users={"frank": "pw-frank"}, host=outward_address())
    push(dockerd, f"{registry.server}/plain/app:1", "frank", "pw-frank", tmp_path)
    entry = {"server": registry.server, "username": "frank", "password": "pw-frank"}
    refused = login(env, tmp_path, entry)
    assert refused.code == 1
    assert f"{registry.server}: TLS failed" in refused.err
    assert "insecure: true" in refused.err
    allowed = login(env, tmp_path, {**entry, "insecure": True})
    assert allowed.code == 0, allowed.err
    assert pull_fresh(dockerd, f"{registry.server}/plain/app:1", tmp_path / "docker").returncode == 0


def test_a_plain_http_realm_on_another_host_gets_no_credentials(
    env: dict[str, str], tmp_path: Path, faulty: Callable[..., FaultyRegistry]
) -> None:
    elsewhere = f"http://{outward_address()}:9/token"
    server = faulty(bearer=True, realm=elsewhere)
    result = login(env, tmp_path, server)
    assert result.code == 1
    assert f"the token realm {elsewhere} is plain HTTP; credentials are sent only over HTTPS" in result.err


def test_the_oidc_token_service_is_retried(env: dict[str, str]) -> None:
    """oidc.oidc_token goes through the transport: its 5xx are retried."""
    from private_registries.oidc import oidc_token
    from private_registries.transport import Transport
    from tests.servers.oidc import OidcIssuer

    issuer = OidcIssuer(fail_first=2)
    try:
        token = oidc_token("sts.amazonaws.com", issuer.env(), Transport())
        assert issuer.verify(token.reveal(), "sts.amazonaws.com")["sub"] == issuer.subject
        assert issuer.requests == 3
    finally:
        issuer.stop()


def test_a_self_signed_registry_on_loopback_or_marked_insecure(
    env: dict[str, str], dockerd: Dockerd, registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    """As the daemon does for its insecure registries: HTTPS, without verifying the certificate."""
    local = registry_factory(users={"gina": "pw-gina"}, tls_host="127.0.0.1")
    result = login(env, tmp_path, {"server": local.server, "username": "gina", "password": "pw-gina"})
    assert result.code == 0, result.err
    assert "Warning" not in result.err
    push(dockerd, f"{local.server}/tls/app:1", "gina", "pw-gina", tmp_path)
    assert pull_fresh(dockerd, f"{local.server}/tls/app:1", tmp_path / "docker").returncode == 0
    remote = registry_factory(users={"gina": "pw-gina"}, tls_host=outward_address())
    entry = {"server": remote.server, "username": "gina", "password": "pw-gina"}
    assert "certificate verify failed" in login(env, tmp_path, entry).err
    assert login(env, tmp_path, {**entry, "insecure": True}).code == 0
