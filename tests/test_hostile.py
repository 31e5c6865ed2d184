"""Hostile servers and hostile files (issue 13): what they say reaches the log inert, their answers are
bounded in time and size, and none of them turns into an internal error. Every server here is on
loopback, started and stopped by its test."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from private_registries.console import Console
from tests.clirun import Result, run
from tests.servers.hostile import HostileServer, Request

OUR_COMMANDS = ("::error", "::warning", "::notice", "::add-mask::", "::group::", "::endgroup::")


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    started: list[HostileServer] = []

    def start(answer: Callable[[Request], None], **kwargs: object) -> HostileServer:
        server = HostileServer(answer, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def ci_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A workflow step's environment: the runner reads commands from what we print."""
    files = {}
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"):
        path = tmp_path / name.lower()
        path.touch()
        files[name] = str(path)
    return {**env, "GITHUB_ACTIONS": "true", **files}


def assert_inert(result: Result | str) -> None:
    """No line the runner would read as a command that we did not write, no escape, no `##[`."""
    text = result if isinstance(result, str) else result.text
    assert "##[" not in text
    assert "\x1b" not in text and "\x07" not in text
    for line in text.splitlines():
        if line.lstrip().startswith("::"):
            assert line.startswith(OUR_COMMANDS), line


# -- what servers, files and users say reaches the log inert ------------------------------------------


def open_registry(digest: str) -> Callable[[Request], None]:
    """A registry that asks for no credential and answers every manifest with `digest`."""

    def answer(request: Request) -> None:
        if request.path == "/v2/":
            request.send(200, {}, {})
        else:
            request.send(200, {"Docker-Content-Digest": digest}, b"")

    return answer


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:abc ##[stop-commands]tok",
        "sha256:" + "0" * 64 + "\x1b]0;title\x07\x1b[2J",
        "sha256:" + "f" * 5000,
    ],
)
@pytest.mark.parametrize("ci", [False, True])
def test_a_digest_that_is_not_one_is_refused_inert(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hostile: Callable[..., HostileServer],
    digest: str,
    ci: bool,
) -> None:
    """A pull request's Dockerfile can name any registry: its answer must not reach the log raw."""
    server = hostile(open_registry(digest))
    (tmp_path / "Dockerfile").write_text(f"FROM {server.address}/evil/base:1\n")
    result = run(capsys, ci_env(env, tmp_path) if ci else env, "check", str(tmp_path))
    assert result.code == 1
    assert "Docker-Content-Digest is not a digest (algorithm:hex)" in result.text
    assert_inert(result)
    assert len(result.text) < 2000


def test_the_action_preflight_is_inert(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hostile: Callable[..., HostileServer],
) -> None:
    server = hostile(open_registry("sha256:abc ##[stop-commands]tok"))
    (tmp_path / "Dockerfile").write_text(f"FROM {server.address}/evil/base:1\n")
    action = {**ci_env(env, tmp_path), "RUNNER_TEMP": str(tmp_path), "INPUT_CONTEXT": str(tmp_path)}
    result = run(capsys, action, "action", "main", str(tmp_path))
    assert result.code == 1
    assert "is not a digest" in result.out
    assert_inert(result)


@pytest.mark.parametrize("ci", [False, True])
def test_the_console_makes_what_it_quotes_inert(ci: bool) -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(ci=ci, stdout=out, stderr=err)
    hostile_text = "bob\n::warning title=x::pwned \x1b[31m##[set-output name=a]b\r\n  ::error::x\u2028::y"
    console.table(["SERVER", "USERNAME"], [["r.example.org", hostile_text]])
    console.echo(f"said: {hostile_text}")
    console.warn(hostile_text)
    console.error(hostile_text)
    with console.group(hostile_text):
        pass
    console.json({"username": hostile_text})
    assert_inert(out.getvalue() + err.getvalue())
    assert "bob\\n: :warning title=x::pwned" not in out.getvalue()  # a cell is one line
    assert (
        "bob\\n::warning title=x::pwned ## [set-output name=a]b\\r\\n  ::error::x\\u2028::y" in out.getvalue()
    )
    assert "[31m##\\u005bset-output" in out.getvalue()  # the same JSON value, spelt so the runner skips it


def test_a_build_log_keeps_its_colours_between_stop_commands() -> None:
    out = io.StringIO()
    console = Console(ci=True, stdout=out)
    with console.untrusted():
        console.echo("\x1b[32m#5 DONE\x1b[0m ::warning::from the Dockerfile")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("::stop-commands::")
    assert lines[1] == "\x1b[32m#5 DONE\x1b[0m ::warning::from the Dockerfile"


def test_a_workload_name_is_quoted_inert(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\n"
        'metadata:\n  name: "web\\n::warning title=x::pwned ##[stop-commands]t"\n'
        "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: a\n        image: r.example.org/a:1\n"
    )
    result = run(capsys, ci_env(env, tmp_path), "inject", "--all", "--verbose", str(manifest))
    assert result.code == 0, result.text
    assert "Deployment/web\n: :warning title=x::pwned ## [stop-commands]t: added" in result.out
    assert_inert(result)


# -- masking ------------------------------------------------------------------------------------------


def test_the_forms_a_password_travels_in_are_masked() -> None:
    import base64
    from urllib.parse import quote, quote_plus

    from private_registries.secret import MASKER, Secret

    password = "pw wörd/+&=x"
    Secret(password)
    for form in (
        password,
        base64.b64encode(password.encode()).decode(),
        quote(password, safe=""),
        quote_plus(password),
    ):
        assert MASKER.redact(f"a {form} b") == "a *** b"


def test_masking_takes_time_by_the_text_not_by_secrets_times_rows(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 000 entries listed took 13 s when every row was checked against every secret."""
    import json
    import time

    from private_registries.secret import MASKER

    entries = [
        {"server": f"r{i}.example.org", "username": f"user{i}", "password": f"pw-{i:05d}-{i * 7919:x}"}
        for i in range(10_000)
    ]
    store = tmp_path / "registries.json"
    store.write_text(json.dumps({"version": 1, "registries": entries}))
    started = time.monotonic()
    result = run(capsys, env, "list", "--store", str(store))
    assert result.code == 0
    assert time.monotonic() - started < 5
    assert result.out.count("\n") == 10_001
    assert MASKER.redact("x pw-00042-" + f"{42 * 7919:x} y") == "x *** y"


# -- usernames, servers and the store ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["r.example.org", "   ", "pw"],
            "registries add (r.example.org): username is required (it is blank)",
        ),
        (
            ["r.example.org", "bob\n::warning title=x::pwned", "pw"],
            "username 'bob\\n::warning title=x::pwned' holds a control character (\\n)",
        ),
        (["r.example.org", "bob\x1b[2J", "pw"], "username 'bob\\x1b[2J' holds a control character (\\x1b)"),
        (["r.example.org\t", "bob", "pw"], None),  # surrounding blanks are trimmed, as before
        (["r.exa\tmple.org", "bob", "pw"], "server 'r.exa\\tmple.org' holds a control character (\\t)"),
        (["127.0.0.1:99999", "bob", "pw"], "server '127.0.0.1:99999' has port 99999, out of range"),
        (["[::1]:65536", "bob", "pw"], "has port 65536, out of range"),
    ],
)
def test_add_refuses_what_it_could_not_use(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str | None
) -> None:
    result = run(capsys, env, "add", *argv)
    if message is None:
        assert result.code == 0, result.text
        return
    assert result.code == 1
    assert message in result.err
    assert_inert(result)
    assert not Path(env["XDG_CONFIG_HOME"], "private-registries", "registries.json").exists()
    assert run(capsys, env, "list").code == 0


def test_a_store_with_one_bad_entry_still_serves_the_others(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty username, as an older version stored `add SERVER "   " PW`, locked every command out."""
    import json

    store = Path(env["XDG_CONFIG_HOME"], "private-registries", "registries.json")
    store.parent.mkdir(parents=True)
    bad = {"server": "bad.example.org", "username": "", "password": "pw-bad"}
    worse = {"server": "worse.example.org", "username": "eve\n::error::x", "password": "pw-worse"}
    good = {"server": "good.example.org", "username": "bob", "password": "pw-good"}
    store.write_text(json.dumps({"version": 1, "registries": [bad, worse, good]}))
    store.chmod(0o600)

    listing = run(capsys, env, "list")
    assert listing.code == 0
    assert listing.out.splitlines() == ["SERVER            USERNAME", "good.example.org  bob"]
    assert f"{store}: entry 1 (bad.example.org): username is required; the entry was skipped" in listing.err
    assert "entry 2 (worse.example.org): username 'eve\\n::error::x' holds a control character" in listing.err
    assert_inert(listing)

    assert run(capsys, env, "add", "new.example.org", "carol", "pw-new").code == 0
    assert run(capsys, env, "remove", "good.example.org").code == 0
    assert [e["server"] for e in json.loads(store.read_text())["registries"]] == [
        "bad.example.org",
        "worse.example.org",
        "new.example.org",
    ]
    assert json.loads(store.read_text())["registries"][0] == bad  # left as it was
    assert run(capsys, env, "add", "bad.example.org", "bob", "pw-fixed").code == 0
    assert run(capsys, env, "remove", "worse.example.org").code == 0
    final = run(capsys, env, "list")
    assert final.out.splitlines()[1:] == ["bad.example.org  bob", "new.example.org  carol"]
    assert final.err == ""


def test_an_entries_file_with_control_characters_is_refused(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = tmp_path / "registries.yml"
    entries.write_text('- server: r.example.org\n  username: "bob\\r::warning::x"\n  password: pw\n')
    result = run(capsys, env, "list", "--registries", str(entries))
    assert result.code == 1
    assert (
        "entry 1 (r.example.org): username 'bob\\r::warning::x' holds a control character (\\r)" in result.err
    )
    assert_inert(result)


# -- what is written to GITHUB_ENV and GITHUB_OUTPUT --------------------------------------------------


@pytest.mark.parametrize("password_env", ["NODE_OPTIONS=--require=/x\nX", "A B", "9LIVES", "X\u2028Y"])
def test_a_password_env_that_is_not_a_name_is_refused(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], password_env: str
) -> None:
    """It would set other variables (NODE_OPTIONS) for every later step, and one holding the password."""
    import json

    entries = tmp_path / "registries.yml"
    entries.write_text("- server: r.example.org\n  username: bob\n  password: pw-convox-1\n")
    convox = tmp_path / "convox.yml"
    service = {"image": "r.example.org/web:1", "imagePullSecrets": []}
    service["imagePullSecrets"] = [
        {"registry": "r.example.org", "username": "bob", "passwordEnv": password_env}
    ]
    convox.write_text(json.dumps({"services": {"web": service}}))
    ci = ci_env(env, tmp_path)
    result = run(capsys, ci, "convox", str(convox), "--registries", str(entries))
    assert result.code == 1
    assert "service web imagePullSecrets[0]: passwordEnv " in result.out
    assert "must be a valid environment variable name" in result.out
    assert Path(ci["GITHUB_ENV"]).read_text() == ""
    assert_inert(result)


def test_only_names_are_written_to_the_workflow_files(tmp_path: Path) -> None:
    from private_registries import gha
    from private_registries.errors import InputError

    env = ci_env({}, tmp_path)
    gha.set_outputs(env, {"docker-config": "/x", "image-id": "sha256:1", "imageid": "sha256:1", "_a": ""})
    gha.export_env(env, {"DOCKER_CONFIG": "/x", "_A1": "y"})
    written = {name: Path(env[name]).read_text() for name in ("GITHUB_OUTPUT", "GITHUB_ENV")}
    for bad in ("A=B", "A\nB", "A<<EOF", "1A", "", "a b"):
        for write in (gha.set_outputs, gha.export_env, gha.save_state):
            with pytest.raises(InputError, match="is not a valid name for GITHUB_"):
                write(env, {"GOOD": "1", bad: "2"})
    with pytest.raises(InputError):
        gha.export_env(env, {"docker-config": "/x"})  # a dash: an output's name, not a variable's
    with pytest.raises(InputError):
        gha.set_outputs(env, {"x" * 100: "/x"})  # an identifier is less than 100 characters
    assert {name: Path(env[name]).read_text() for name in ("GITHUB_OUTPUT", "GITHUB_ENV")} == written
    assert Path(env["GITHUB_STATE"]).read_text() == ""


# -- time and memory are bounded ----------------------------------------------------------------------


def login_process(
    env: dict[str, str], tmp_path: Path, *entries: dict[str, object], timeout: float = 60
) -> Result:
    """`registries login` as a user runs it, bounded: a hang fails the test, it does not stall the run."""
    import yaml

    from tests.clirun import run_process

    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(list(entries)))
    docker = tmp_path / "docker"
    return run_process(
        env, "login", "--registries", str(path), "--docker-config", str(docker), timeout=timeout
    )


def bearer_registry(realm: Callable[[], str]) -> Callable[[Request], None]:
    """A registry that sends every client to `realm()` for a token (and takes none: the realm fails)."""

    def answer(request: Request) -> None:
        request.challenge_bearer(realm())

    return answer


def slow_realm(how: str) -> Callable[[Request], None]:
    def answer(request: Request) -> None:
        if how == "drip":  # a status line and headers, a byte a second
            request.drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 1000, 0.5)
        elif how == "headers":  # headers that never end, each in time for the read timeout
            request.raw(b"HTTP/1.1 200 OK\r\n")
            for n in range(1000):
                if request.stopped.wait(0.5):
                    return
                request.raw(f"X-{n}: a\r\n".encode())
        else:  # a body that comes a byte at a time
            request.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            request.drip(b'{"token": "' + b"t" * 1000, 0.5)

    return answer


@pytest.mark.parametrize("how", ["drip", "headers", "body"])
def test_a_realm_that_drips_fails_within_the_timeout(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer], how: str
) -> None:
    import time

    realm = hostile(slow_realm(how))
    registry = hostile(bearer_registry(lambda: f"http://{realm.address}/token"))
    started = time.monotonic()
    entry = {"server": registry.address, "username": "u", "password": "pw"}
    result = login_process({**env, "REGISTRIES_TIMEOUT": "2"}, tmp_path, entry)
    assert time.monotonic() - started < 12
    assert result.code == 1
    assert (
        f"{registry.address}: token endpoint http://{realm.address}/token: no complete answer within 4 s"
        in result.err
    )
    assert len(realm.requests) == 1  # not tried again


def test_a_token_too_big_for_a_header_is_refused(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    realm = hostile(lambda request: request.send(200, {}, {"token": "t" * 100_000}))
    registry = hostile(bearer_registry(lambda: f"http://{realm.address}/token"))
    result = login_process(env, tmp_path, {"server": registry.address, "username": "u", "password": "pw"})
    assert result.code == 1
    assert f"token endpoint http://{realm.address}/token answered a token of more than 64 KiB" in result.err


def test_retry_after_is_capped_then_fails_naming_the_server(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    import time

    def busy(request: Request) -> None:
        request.send(503, {"Retry-After": "99999"}, {"errors": [{"code": "UNAVAILABLE"}]})

    registry = hostile(busy)
    started = time.monotonic()
    result = login_process(env, tmp_path, {"server": registry.address, "username": "u", "password": "pw"})
    assert time.monotonic() - started < 10
    assert result.code == 1
    assert (
        f"{registry.address}: answered 503 asking to be tried again after 99999 s, "
        "longer than REGISTRIES_TIMEOUT allows (20 s)" in result.err
    )
    assert len(registry.requests) == 1


def test_a_short_retry_after_is_honoured(hostile: Callable[..., HostileServer]) -> None:
    import time

    from private_registries.transport import Transport

    def busy_once(request: Request) -> None:
        if len(server.requests) == 1:
            request.send(429, {"Retry-After": "1"}, b"")
        else:
            request.send(200, {}, {"ok": True})

    server = hostile(busy_once)
    started = time.monotonic()
    response = Transport().request("GET", f"http://{server.address}/v2/")
    assert response.json() == {"ok": True}
    assert 1 <= time.monotonic() - started < 5


@pytest.mark.parametrize("size", [200 * 1024 * 1024])
def test_a_huge_token_body_is_refused_unread(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer], size: int
) -> None:
    """200 MB of token was read whole (800 MB of memory), then sent back as a header."""
    import time
    import tracemalloc

    from private_registries.transport import NetworkFailure, Transport

    def realm(request: Request) -> None:
        request.raw(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        request.raw(b'{"token": "')
        request.stream(b"t" * 65536, size)

    token = hostile(realm)
    registry = hostile(bearer_registry(lambda: f"http://{token.address}/token"))
    started = time.monotonic()
    result = login_process(env, tmp_path, {"server": registry.address, "username": "u", "password": "pw"})
    assert time.monotonic() - started < 20
    assert result.code == 1
    assert f"token endpoint http://{token.address}/token: answered more than 4 MiB (HTTP 200)" in result.err

    tracemalloc.start()
    try:
        with pytest.raises(NetworkFailure, match="answered more than 4 MiB"):
            Transport().request("GET", f"http://{token.address}/token")
        assert tracemalloc.get_traced_memory()[1] < 20 * 1024 * 1024
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REGISTRIES_TIMEOUT", "abc", "REGISTRIES_TIMEOUT='abc' is not a number of seconds"),
        ("REGISTRIES_TIMEOUT", "-1", "REGISTRIES_TIMEOUT='-1' is not a number of seconds"),
        ("REGISTRIES_TIMEOUT", "0", "REGISTRIES_TIMEOUT='0' is not a number of seconds"),
        ("REGISTRIES_TIMEOUT", "nan", "REGISTRIES_TIMEOUT='nan' is not a number of seconds"),
        ("REGISTRIES_TIMEOUT", "inf", "REGISTRIES_TIMEOUT='inf' is not a number of seconds"),
        ("REGISTRIES_RETRIES", "2.5", "REGISTRIES_RETRIES='2.5' is not a number of retries"),
        ("REGISTRIES_RETRIES", "-1", "REGISTRIES_RETRIES='-1' is not a number of retries"),
        ("REGISTRIES_RETRIES", "１", "REGISTRIES_RETRIES='１' is not a number of retries"),
    ],
)
def test_bad_tuning_is_a_clear_error(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    entries = tmp_path / "registries.yml"
    entries.write_text("- server: r.example.org\n  username: u\n  password: pw\n")
    result = run(capsys, {**env, variable: value}, "login", "--registries", str(entries))
    assert result.code == 1
    assert message in result.err
    assert "internal error" not in result.err


# -- where credentials go -----------------------------------------------------------------------------


def test_a_check_redirected_to_another_host_is_not_a_check(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    """The other host answered 200 to a request that no longer carried the credential: Login Succeeded."""
    seen: list[str | None] = []

    def elsewhere(request: Request) -> None:
        seen.append(request.headers.get("Authorization"))
        request.send(200, {}, {})

    other = hostile(elsewhere)
    moved = f"localhost:{other.address.rpartition(':')[2]}"

    def registry_answer(request: Request) -> None:
        if request.basic() is None:
            request.send(401, {"WWW-Authenticate": 'Basic realm="r"'}, b"")
        else:
            request.send(302, {"Location": f"http://{moved}/v2/"}, b"")

    registry = hostile(registry_answer)
    result = login_process(
        env, tmp_path, {"server": registry.address, "username": "u", "password": "pw-moved"}
    )
    assert result.code == 1
    assert "Login Succeeded" not in result.out
    assert f"{registry.address}: GET /v2/ was redirected to '{moved}', another host, so" in result.err
    assert "so the credential was not checked" in result.err
    assert seen == [None]  # the credential was never sent there


def test_redirects_are_followed_without_reading_their_bodies(hostile: Callable[..., HostileServer]) -> None:
    import time

    from private_registries.transport import Transport

    headers: dict[str, str | None] = {}

    def answer(request: Request) -> None:
        headers[request.path] = request.headers.get("Authorization")
        if request.path == "/start":
            request.raw(b"HTTP/1.1 302 Found\r\nLocation: /same\r\nContent-Length: 40\r\n\r\n")
            request.drip(b"x" * 40, 0.25)  # read whole, this body alone takes 10 s
        elif request.path == "/same":
            request.send(307, {"Location": f"http://localhost:{port}/away"}, b"")
        else:
            request.send(200, {}, {"at": request.path})

    server = hostile(answer)
    port = server.address.rpartition(":")[2]
    started = time.monotonic()
    response = Transport().request(
        "GET", f"http://{server.address}/start", headers={"Authorization": "Basic x"}
    )
    assert time.monotonic() - started < 3
    assert response.json() == {"at": "/away"}
    assert response.url == f"http://localhost:{port}/away"
    assert headers == {"/start": "Basic x", "/same": "Basic x", "/away": None}


def test_a_tls_failure_keeps_its_whole_reason(tmp_path: Path, hostile: Callable[..., HostileServer]) -> None:
    import re

    from private_registries.transport import NetworkFailure, Transport
    from tests.servers.distribution import self_signed

    cert = self_signed(tmp_path, "127.0.0.1")
    server = hostile(lambda request: request.send(200, {}, {}), cert=(cert, tmp_path / "tls.key"))
    with pytest.raises(NetworkFailure) as failure:
        Transport().request("GET", f"https://{server.address}/v2/")
    assert re.fullmatch(
        r"TLS failed: \[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
        r"self.signed certificate \(_ssl\.c:\d+\)",
        failure.value.reason,
    ), failure.value.reason


def test_a_loopback_realm_of_a_registry_elsewhere_gets_no_credential_over_http(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    from tests.servers.distribution import outward_address, self_signed

    asked: list[str | None] = []

    def realm_answer(request: Request) -> None:
        asked.append(request.headers.get("Authorization"))
        request.send(200, {}, {"token": "t"})

    realm = hostile(realm_answer)
    host = outward_address()
    cert = self_signed(tmp_path, host)
    registry = hostile(
        bearer_registry(lambda: f"http://{realm.address}/token"), host=host, cert=(cert, tmp_path / "tls.key")
    )
    entry = {"server": registry.address, "username": "u", "password": "pw-realm", "insecure": True}
    result = login_process(env, tmp_path, entry)
    assert result.code == 1
    assert f"the token realm http://{realm.address}/token is plain HTTP" in result.err
    assert asked == []


@pytest.mark.parametrize(
    ("server", "realm", "insecure", "allowed"),
    [
        ("127.0.0.1:5000", "http://127.0.0.1:5001/token", False, True),  # the registry's own host
        ("localhost:5000", "http://localhost:5001/token", False, True),
        ("[::1]:5000", "http://[::1]:5001/token", False, True),
        ("reg.localhost:5000", "http://reg.localhost:5001/token", False, False),  # not loopback by name
        ("reg.localhost:5000", "http://reg.localhost:5001/token", True, True),
        ("registry.example.org", "http://127.0.0.1:5001/token", True, False),  # another host
        ("registry.example.org", "http://registry.example.org/token", False, False),
        ("127.0.0.1:5000", "http://localhost:5001/token", False, False),
    ],
)
def test_where_a_realm_may_have_a_credential_over_plain_http(
    server: str, realm: str, insecure: bool, allowed: bool
) -> None:
    from private_registries.auth.challenge import Challenge
    from private_registries.auth.token import fetch_token
    from private_registries.config import Registry
    from private_registries.credential import Credential
    from private_registries.errors import RegistryError
    from private_registries.hosts import RegistryType
    from private_registries.secret import Secret
    from private_registries.transport import NetworkFailure, Transport, TransportOptions

    credential = Credential(Registry(server, "u", Secret("pw"), RegistryType.BASIC), "u", Secret("pw"))
    challenge = Challenge("bearer", {"realm": realm})
    transport = Transport(TransportOptions(connect_timeout=0.2, read_timeout=0.2, retries=0))
    try:
        fetch_token(transport, challenge, credential, server=server, insecure=insecure)
    except RegistryError as error:
        refused = "is plain HTTP; credentials are sent only over HTTPS" in error.message
    except NetworkFailure:
        refused = False
    else:
        refused = False
    assert refused is not allowed


def test_a_name_under_localhost_is_not_loopback_on_its_word() -> None:
    from private_registries.hosts import is_loopback

    assert is_loopback("localhost:5000")
    assert not is_loopback("reg.localhost:5000")


# -- crashes: one registry never costs the others -----------------------------------------------------


def utf8_bearer_registry(username: str, password: str) -> Callable[[Request], None]:
    """A registry with its realm on its own /token, taking the credential as docker sends it: UTF-8."""

    def answer(request: Request) -> None:
        if request.path.startswith("/token"):
            if request.basic() == (username, password):
                request.send(200, {}, {"token": "good-token", "expires_in": 300})
            else:
                request.send(401, {}, {"errors": [{"code": "UNAUTHORIZED"}]})
        elif request.headers.get("Authorization") == "Bearer good-token":
            request.send(200, {}, {})
        else:
            request.challenge_bearer(f"http://{request.headers['Host']}/token")

    return answer


def test_a_password_beyond_latin_1_against_a_bearer_registry(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    """`pw-€` was an internal error (UnicodeEncodeError), exit 70, and no registry written."""
    import base64
    import json

    euro = hostile(utf8_bearer_registry("ü", "pw-€"))
    plain = hostile(utf8_bearer_registry("bob", "pw-plain"))
    result = login_process(
        env,
        tmp_path,
        {"server": euro.address, "username": "ü", "password": "pw-€"},
        {"server": plain.address, "username": "bob", "password": "pw-plain"},
    )
    assert result.code == 0, result.err
    assert "Login Succeeded: 2 of 2 registries" in result.out
    auths = json.loads((tmp_path / "docker" / "config.json").read_text())["auths"]
    assert base64.b64decode(auths[euro.address]["auth"]).decode() == "ü:pw-€"


def test_a_bug_met_with_one_registry_costs_that_registry_only(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hostile: Callable[..., HostileServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    from private_registries.auth.client import RegistryClient

    broken = hostile(utf8_bearer_registry("bob", "pw-1"))
    good = hostile(utf8_bearer_registry("bob", "pw-2"))
    login = RegistryClient.login

    def login_or_bug(self: RegistryClient) -> object:
        if self.server == broken.address:
            raise RuntimeError("a bug, with pw-1 in its message")
        return login(self)

    monkeypatch.setattr(RegistryClient, "login", login_or_bug)
    entries = tmp_path / "registries.yml"
    entries.write_text(
        yaml.safe_dump(
            [
                {"server": broken.address, "username": "bob", "password": "pw-1"},
                {"server": good.address, "username": "bob", "password": "pw-2"},
            ]
        )
    )
    docker = tmp_path / "docker"
    result = run(capsys, env, "login", "--registries", str(entries), "--docker-config", str(docker))
    assert result.code == 1
    assert "Login Succeeded: 1 of 2 registries" in result.out
    assert f"{broken.address}: internal error (RuntimeError): a bug, with *** in its message" in result.err
    assert "this is a bug in private-registries" in result.err
    assert good.address in (docker / "config.json").read_text()


# -- YAML bombs and deep files ------------------------------------------------------------------------


def laughs(levels: int = 30) -> str:
    """A flow alias tree: each level two aliases of the one before (2**levels leaves)."""
    text = "&l0 [x, x]"
    for n in range(1, levels):
        text = f"&l{n} [" + text + ", *l" + str(n - 1) + "]"
    return text


def merge_bomb(levels: int = 40) -> str:
    """40 levels of `<<: [*a, *a]`: YAML merges build each level twice the one before."""
    lines = ["x0: &m0 {k0: v}"]
    lines += [f"x{n}: &m{n}\n  <<: [*m{n - 1}, *m{n - 1}]\n  k{n}: v" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            f"- server: r.example.org\n  username: u\n  password: p\n  insecure: {laughs()}\n",
            "aliases make a tree",
        ),
        (
            f"- server: r.example.org\n  username: u\n  password: p\n  type: {laughs()}\n",
            "aliases make a tree",
        ),
        (f"- server: r.example.org\n  username: u\n  password: p\n  type: {DEEP}\n", "nested more than 100"),
        ("- server: r.example.org\n  username: u\n  password: p\n  insecure: [[[1]]]\n", "insecure must be"),
        (
            f"- server: r.example.org\n  username: u\n  password: p\n  type: {'[' * 50}{']' * 50}\n",
            "type must",
        ),
    ],
)
def test_an_entries_file_cannot_blow_up(
    env: dict[str, str], tmp_path: Path, entry: str, message: str
) -> None:
    """600 bytes made a 2 GB error message (`insecure:`), or hung (`type:`)."""
    import time

    from tests.clirun import run_process

    path = tmp_path / "registries.yml"
    path.write_text(entry)
    started = time.monotonic()
    result = run_process(env, "list", "--registries", str(path), timeout=30)
    assert time.monotonic() - started < 5
    assert result.code == 1
    assert message in result.err
    assert len(result.err) < 1000


def bomb_files(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """A manifest and a convox.yml, each with `text` where a workload or a service is."""
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers: [{name: a, image: r.example.org/a:1}]\n---\n" + text
    )
    convox = tmp_path / "convox.yml"
    convox.write_text("services:\n  web:\n    image: r.example.org/web:1\n" + text)
    return manifest, convox


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (merge_bomb(), "its aliases make a tree of more than 1,000,000 nodes; it was not read"),
        (f"bomb: {laughs()}\n", "its aliases make a tree of more than 1,000,000 nodes; it was not read"),
        (f"deep: {DEEP}\n", "nested more than 100 levels deep; it was not read"),
        ("deep:\n" + "".join("  " * n + "- \n" for n in range(1, 300)), "nested more than 100 levels deep"),
        ("self: &s [*s]\n", "the alias *s is inside the collection it names"),
    ],
)
def test_a_yaml_bomb_is_refused_fast_by_every_reader(
    env: dict[str, str], tmp_path: Path, text: str, message: str
) -> None:
    """A merge-key bomb of 3 KB hung inject, convox and pull-secret --for."""
    import time

    from tests.clirun import run_process

    manifest, convox = bomb_files(tmp_path, text)
    entries = tmp_path / "registries.yml"
    entries.write_text("- server: r.example.org\n  username: u\n  password: pw-bomb\n")
    held = ["--registries", str(entries)]
    for argv in (
        ["inject", str(manifest), *held],
        ["inject", "--all", "--dry-run", str(manifest)],
        ["pull-secret", "--for", str(manifest), *held],
        ["convox", str(convox), *held],
    ):
        started = time.monotonic()
        result = run_process(env, *argv, timeout=30)
        assert time.monotonic() - started < 5, argv
        assert result.code == 1, (argv, result.text)
        assert message in result.err, argv
        assert "internal error" not in result.err


def test_the_action_refuses_a_bombed_manifest(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer]
) -> None:
    import time

    from tests.clirun import run_process

    registry = hostile(lambda request: request.send(200, {}, {}))  # asks for no credential
    manifest, _ = bomb_files(tmp_path, merge_bomb())
    action = {
        **ci_env(env, tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_REGISTRIES": f"- server: {registry.address}\n  username: u\n  password: pw-action\n",
        "INPUT_MANIFESTS": str(manifest),
    }
    started = time.monotonic()
    result = run_process(action, "action", "main", str(tmp_path), timeout=30)
    assert time.monotonic() - started < 8
    assert result.code == 1
    assert "its aliases make a tree of more than 1,000,000 nodes" in result.out


def test_deep_json_is_a_clear_error(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    hostile: Callable[..., HostileServer],
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    store = tmp_path / "store.json"
    store.write_text(deep)
    result = run(capsys, env, "list", "--store", str(store))
    assert result.code == 1
    assert f"{store} is not valid JSON" in result.err

    realm = hostile(lambda request: request.send(200, {}, deep.encode()))
    registry = hostile(bearer_registry(lambda: f"http://{realm.address}/token"))
    answered = login_process(env, tmp_path, {"server": registry.address, "username": "u", "password": "pw"})
    assert answered.code == 1
    assert f"token endpoint http://{realm.address}/token answered without a token" in answered.err


def test_inert_text_keeps_crlf_lines_and_comes_out_the_same_twice() -> None:
    from private_registries.text import inert

    text = "a\r\nb\r::c\n  ::d ##[e] \x1b[1mf\x1b[0m\u202eg\x00"
    assert inert(text) == "a\r\nb\\r::c\n  : :d ## [e] f\\u202eg\\x00"
    assert inert(inert(text)) == inert(text)
    assert inert(text, one_line=True) == "a\\r\\nb\\r::c\\n  ::d ## [e] f\\u202eg\\x00"


@pytest.mark.parametrize("status", [307, 308])
def test_a_refresh_token_is_not_posted_again_to_where_a_realm_redirects(
    env: dict[str, str], tmp_path: Path, hostile: Callable[..., HostileServer], status: int
) -> None:
    """A `<token>` entry's refresh token goes to the realm in a POST body; a 307/308 to another host
    would have the body sent there again. It is not followed, and login does not succeed."""
    bodies: list[bytes] = []

    def elsewhere(request: Request) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        bodies.append(request.handler.rfile.read(length))
        request.send(200, {}, {"access_token": "stolen", "expires_in": 300})

    other = hostile(elsewhere)
    thief = f"http://localhost:{other.address.rpartition(':')[2]}/token"

    def registry_answer(request: Request) -> None:
        if request.path.startswith("/token"):
            request.handler.rfile.read(int(request.headers.get("Content-Length") or 0))
            request.send(status, {"Location": thief}, b"")
        elif request.headers.get("Authorization") == "Bearer stolen":
            request.send(200, {}, {})
        else:
            request.challenge_bearer(f"http://{registry.address}/token")

    registry = hostile(registry_answer)
    refresh = "refresh-canary-2718"
    result = login_process(
        env, tmp_path, {"server": registry.address, "username": "<token>", "password": refresh}
    )
    assert result.code == 1, result.text
    assert "Login Succeeded" not in result.out
    assert bodies == []  # the token never went there
    assert "another host" in result.err and "internal error" not in result.err
    assert refresh not in result.text


def test_a_ca_bundle_variable_that_names_no_bundle_is_a_clear_error(
    env: dict[str, str], tmp_path: Path, registry_factory: Callable[..., Any]
) -> None:
    """REQUESTS_CA_BUNDLE naming a missing file: the variable named, before anything is asked; a
    file that is not PEM: each HTTPS registry fails naming the variable, a plain-HTTP one is fine; a
    folder of certificates is valid, as requests takes it (OpenSSL's hashed names)."""
    from tests.servers.distribution import outward_address

    plain = registry_factory(users={"pat": "pw-plain"})
    tls = registry_factory(users={"pat": "pw-tls"}, tls_host=outward_address())
    entries = (
        {"server": plain.server, "username": "pat", "password": "pw-plain"},
        {"server": tls.server, "username": "pat", "password": "pw-tls"},
    )
    missing = login_process({**env, "REQUESTS_CA_BUNDLE": str(tmp_path / "nope.pem")}, tmp_path, *entries)
    assert missing.code == 1
    assert "REQUESTS_CA_BUNDLE names" in missing.err and "which does not exist" in missing.err
    assert "internal error" not in missing.err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    bad = login_process({**env, "SSL_CERT_FILE": str(junk)}, tmp_path, *entries)
    assert bad.code == 1
    assert f"{tls.server}: the CA certificates of SSL_CERT_FILE" in bad.err
    assert "internal error" not in bad.err
    config = json.loads((tmp_path / "docker" / "config.json").read_text())
    assert list(config["auths"]) == [plain.server]  # the plain-HTTP registry still logged in
    folder = tmp_path / "cas"
    folder.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(tls.ca)], capture_output=True, text=True, check=True
    ).stdout.strip()
    (folder / f"{subject_hash}.0").write_bytes(Path(tls.ca).read_bytes())
    good = login_process({**env, "REQUESTS_CA_BUNDLE": str(folder)}, tmp_path, *entries)
    assert good.code == 0, good.err


def test_a_dockerfile_or_manifest_that_never_ends_is_refused_at_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A link to /dev/zero, a FIFO, a file past 16 MiB: read until MemoryError before; now refused
    as they are opened (the CLI, which follows links where the user points it)."""
    import os
    import time

    from tests.clirun import run_process

    (tmp_path / "zero").mkdir()
    os.symlink("/dev/zero", tmp_path / "zero" / "Dockerfile")
    os.mkfifo(tmp_path / "fifo.yaml")
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    started = time.monotonic()
    dockerfile = run_process(env, "images", str(tmp_path / "zero"), timeout=30)
    fifo = run_process(env, "inject", "--all", str(tmp_path / "fifo.yaml"), timeout=30)
    huge = run_process(env, "inject", "--all", str(big), timeout=30)
    assert time.monotonic() - started < 20
    assert dockerfile.code == 1 and "Dockerfile is not a regular file" in dockerfile.err
    assert fifo.code == 1 and "fifo.yaml is not a regular file" in fifo.err
    assert huge.code == 1 and "big.yaml is larger than 16 MiB" in huge.err
    for result in (dockerfile, fifo, huge):
        assert "internal error" not in result.err and "Traceback" not in result.err
