"""Hostile servers and hostile files (issue 13): what they say reaches the log inert, their answers are
bounded in time and size, and none of them turns into an internal error. Every server here is on
loopback, started and stopped by its test."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

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
