"""Hostile input, round two (issue 17): a secret where a name belongs, other secrets named
REGISTRY_*, stores and files that cannot be written, what a server says in the step summary, a
password on the command line, credentials in a server name, a NUL in a mask. Each ends in a clear
error or warning that names what is wrong and where, prints no secret, and is inert."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from private_registries.sources import secret_name
from tests.clirun import Result, run
from tests.servers.distribution import Registry as Distribution
from tests.servers.hostile import HostileServer, Request
from tests.test_action_stages import run_main
from tests.test_hostile import assert_inert, ci_env

# What `password-env: ${{ secrets.X }}` hands the action: the value, not a variable's name; and a
# token that is also a valid name (GitHub's are), which no variable of that name holds.
PASTED = "eyJhbGciOiJSUzI1NiJ9." + "Zm9v+YmFy/" * 8 + "c2lnbg=="  # 109 characters
TOKEN = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"  # 40 characters
SERVER = "harbor.example.org"


def shown(text: str) -> list[str]:
    """The lines of a log that are not our own ::add-mask:: announcements."""
    return [line for line in text.splitlines() if not line.startswith("::add-mask::")]


def pieces(secret: str) -> list[str]:
    """Every run of 12 characters of `secret`: what a cut quote of it would still show."""
    return [secret[at : at + 12] for at in range(0, len(secret) - 11, 12)]


def leaked(text: str, secret: str) -> bool:
    return any(piece in line for line in shown(text) for piece in pieces(secret))


# -- 2. a secret put in password-env by mistake -------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (PASTED, "(109 characters, not shown: it may be a secret) is not an environment variable name"),
        (TOKEN, "(40 characters, not shown: it looks like a token) names no variable that is set"),
    ],
    ids=["not-a-name", "a-token"],
)
@pytest.mark.parametrize("ci", [True, False], ids=["actions", "terminal"])
def test_a_secret_in_password_env_is_masked_first_and_never_quoted(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secret: str,
    problem: str,
    ci: bool,
) -> None:
    entries = tmp_path / "registries.yml"
    entries.write_text(json.dumps([{"server": SERVER, "username": "robot$ci", "password-env": secret}]))
    result = run(capsys, ci_env(env, tmp_path) if ci else env, "login", "--registries", str(entries))
    assert result.code == 1
    assert not leaked(result.text, secret)
    lines = result.text.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith(("::error", "error:")))
    if ci:
        assert lines.index(f"::add-mask::{secret}") < error
    assert f"entry 1 ({SERVER}): password-env {problem}" in lines[error]
    assert "HARBOR_TOKEN" in result.text  # what a name looks like
    assert_inert(result)


def test_a_password_env_that_is_set_is_a_name_however_it_looks(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from private_registries.config import parse_entry

    entry = {"server": SERVER, "username": "robot$ci", "password-env": TOKEN}
    registry = parse_entry(entry, "here", {TOKEN: "pw-set-1"})
    assert registry.password_env == TOKEN
    assert registry.password is not None and registry.password.reveal() == "pw-set-1"


def test_the_action_masks_a_secret_in_password_env_in_its_log_and_summary(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"server": SERVER, "username": "robot$ci", "password-env": PASTED}
    main = run_main(tmp_path, env, {"registries": json.dumps([entry]), "build": "false"}, "push", {})
    out = capsys.readouterr().out
    assert main.code == 1
    assert out.startswith(f"::add-mask::{PASTED}\n")
    assert not leaked(out, PASTED)
    assert not leaked(main.summary, PASTED)
    assert "password-env (109 characters, not shown: it may be a secret)" in main.summary
    assert "::error::input registries: entry 1 (harbor.example.org): password-env (109 characters" in out


@pytest.mark.parametrize("value", [PASTED, f"  {PASTED}\n", "bad\u2028name-and-more"])
def test_a_convox_password_env_that_is_not_a_name_is_masked_and_never_quoted(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    convox = tmp_path / "convox.yml"
    entry = {"registry": SERVER, "username": "robot$ci", "passwordEnv": value}
    service = {"image": f"{SERVER}/web:1", "imagePullSecrets": [entry]}
    convox.write_text(json.dumps({"services": {"web": service}}))
    ci = ci_env(env, tmp_path)
    result = run(capsys, ci, "convox", str(convox))
    assert result.code == 1
    from private_registries.text import escape_controls

    assert f"::add-mask::{escape_controls(value.strip())}" in result.out.splitlines()
    assert not leaked(result.text, value.strip())
    told = f"passwordEnv ({len(value.strip())} characters, not shown: it may be a secret) must be a valid"
    assert f"imagePullSecrets[0]: {told}" in result.out
    assert Path(ci["GITHUB_ENV"]).read_text() == ""
    assert_inert(result)


# -- 9. an ordinary secret named REGISTRY_* -----------------------------------------------------------


def test_an_ordinary_registry_secret_is_skipped_with_a_warning_and_the_others_log_in(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    registry_factory: Callable[..., Distribution],
) -> None:
    registry = registry_factory(users={"alice": "pw-alice-1"})
    entry = {"server": registry.server, "username": "alice", "password": "pw-alice-1"}
    ordinary = {
        "REGISTRY_PASSWORD": "123456",  # json.loads reads a number
        "REGISTRY_URL": "registry.example.org/team",  # not JSON at all
        "REGISTRY_SETTINGS": '{"mirror": "canary-settings-1"}',  # an object, but no registry entry
    }
    secrets = {"github_token": "ghs_x", **ordinary, secret_name(registry.server): json.dumps(entry)}
    main = run_main(tmp_path, env, {"secrets": json.dumps(secrets)}, "push", {})
    out = capsys.readouterr().out
    assert main.code == 0, out
    config = json.loads((Path(main.exported["DOCKER_CONFIG"]) / "config.json").read_text())
    assert list(config["auths"]) == [registry.server]
    for name, value in ordinary.items():
        warning = f"::warning::input secrets: secret {name} is not a registry entry"
        assert warning in out and f"secret {name} is not a registry entry" in main.summary
        assert f"::add-mask::{value}" in out
        assert not [line for line in shown(out) if value in line]
        assert value not in main.summary
    assert_inert(out)


# -- 12. a store that cannot be written ---------------------------------------------------------------


@pytest.fixture
def read_only() -> Iterator[Callable[..., None]]:
    """Makes a folder read-only for real: a tmpfs mounted there and remounted read-only (the tests run
    as root, which file modes do not stop). Unmounted at the end, whatever happened."""
    mounted: list[Path] = []

    def make(folder: Path, fill: Callable[[Path], None] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
        except (OSError, subprocess.CalledProcessError):
            pytest.skip("a tmpfs cannot be mounted here (needs root)")
        mounted.append(folder)
        if fill is not None:
            fill(folder)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=False)


def store_of(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "private-registries" / "registries.json"


def assert_clear(result: Result) -> None:
    assert result.code == 1
    assert "internal error" not in result.text and "Traceback" not in result.text


def test_a_store_whose_lock_is_a_folder_says_so(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(env)
    store.parent.mkdir(parents=True)
    store.write_text(
        json.dumps({"version": 1, "registries": [{"server": SERVER, "username": "bob", "password": "pw"}]})
    )
    store.chmod(0o600)
    (store.parent / "registries.json.lock").mkdir()
    before = store.read_text()
    for argv in (["add", "b.example.org", "bob", "pw-b"], ["remove", SERVER]):
        result = run(capsys, env, *argv)
        assert_clear(result)
        assert f"cannot write local store {store}: its lock file {store}.lock is a folder" in result.err
        assert "--store FILE" in result.err
    assert store.read_text() == before
    assert run(capsys, env, "list").out.splitlines()[1:] == [f"{SERVER}  bob"]


def test_a_read_only_store_folder_says_cannot_write(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], read_only: Callable[..., None]
) -> None:
    store = store_of(env)
    entry = {"server": SERVER, "username": "bob", "password": "pw"}

    def fill(folder: Path) -> None:
        (folder / store.name).write_text(json.dumps({"version": 1, "registries": [entry]}))
        (folder / store.name).chmod(0o600)

    read_only(store.parent, fill)
    for argv in (["add", "b.example.org", "bob", "pw-b"], ["remove", SERVER]):
        result = run(capsys, env, *argv)
        assert_clear(result)
        assert f"cannot write local store {store}: cannot open its lock file {store}.lock: " in result.err
        assert "Read-only file system" in result.err
    assert run(capsys, env, "list").out.splitlines()[1:] == [f"{SERVER}  bob"]


def test_a_store_folder_that_cannot_be_made_says_which(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], read_only: Callable[..., None]
) -> None:
    read_only(Path(env["XDG_CONFIG_HOME"]))
    result = run(capsys, env, "add", SERVER, "bob", "pw")
    assert_clear(result)
    folder = store_of(env).parent
    assert (
        f"cannot write local store {store_of(env)}: cannot make the folder {folder}: Read-only" in result.err
    )

    elsewhere = {**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "private-registries").write_text("a file\n")
    result = run(capsys, elsewhere, "add", SERVER, "bob", "pw")
    assert_clear(result)
    assert f"{tmp_path / 'config' / 'private-registries'} is a file, not a folder" in result.err


# -- 16. a docker config that is not a folder, a lock that is, a NUL in a mask, credentials in a server


def test_a_docker_config_that_is_a_file_or_a_lock_that_is_a_folder_is_named(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    registry_factory: Callable[..., Distribution],
) -> None:
    registry = registry_factory(users={"alice": "pw-alice-2"})
    entries = tmp_path / "registries.yml"
    entries.write_text(
        json.dumps([{"server": registry.server, "username": "alice", "password": "pw-alice-2"}])
    )
    a_file = tmp_path / "docker-config"
    a_file.write_text("{}\n")
    result = run(capsys, env, "login", "--registries", str(entries), "--docker-config", str(a_file))
    assert_clear(result)
    assert f"cannot write {a_file}/config.json: {a_file} is a file, not a folder" in result.err
    assert a_file.read_text() == "{}\n"

    folder = tmp_path / "docker"
    (folder / "config.json.lock").mkdir(parents=True)
    result = run(capsys, env, "login", "--registries", str(entries), "--docker-config", str(folder))
    assert_clear(result)
    assert (
        f"cannot write {folder}/config.json: its lock file {folder}/config.json.lock is a folder"
        in result.err
    )
    assert not (folder / "config.json").exists()


# -- 13. inject with one file that cannot be written --------------------------------------------------

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"
    "spec:\n  containers:\n    - name: c\n      image: r.example.org/{name}:1\n"
)


def pods(*paths: Path) -> dict[Path, str]:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(POD.format(name=path.stem))
    return {path: path.read_text() for path in paths}


def test_inject_writes_no_file_when_one_is_read_only(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    before = pods(a, b)
    b.chmod(0o444)
    result = run(capsys, env, "inject", "--all", str(a), str(b))
    assert_clear(result)
    assert f"{b} is read-only; no file was written" in result.err
    assert {path: path.read_text() for path in before} == before


def test_inject_writes_no_file_when_one_is_on_a_read_only_mount(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], read_only: Callable[..., None]
) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "mounted" / "b.yaml"
    pods(a)
    read_only(b.parent, lambda folder: pods(folder / b.name))
    before = {a: a.read_text(), b: b.read_text()}
    result = run(capsys, env, "inject", "--all", str(a), str(b))
    assert_clear(result)
    assert f"cannot write {b}: Read-only file system; no file was written" in result.err
    assert {path: path.read_text() for path in before} == before


def test_inject_puts_back_what_it_wrote_when_a_later_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills between the check and the writes: the files written before are put back."""
    import errno

    from private_registries.deploy import manifests
    from private_registries.errors import InputError

    a, b, c = (tmp_path / f"{name}.yaml" for name in "abc")
    before = pods(a, b, c)
    real = manifests.atomic_write

    def full_at_c(path: Path, data: bytes, *, mode: int = 0o600) -> None:
        if path == c:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, mode=mode)

    monkeypatch.setattr(manifests, "atomic_write", full_at_c)
    with pytest.raises(InputError) as caught:
        manifests.inject_files([a, b, c], "pull", [], every_workload=True)
    assert str(caught.value).startswith(f"cannot write {c}: No space left on device; it was left as it is")
    assert "the files written before it were put back as they were" in str(caught.value)
    assert {path: path.read_text() for path in before} == before


def test_inject_writes_no_file_when_one_is_immutable(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    before = pods(a, b)
    if subprocess.run(["chattr", "+i", str(b)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        result = run(capsys, env, "inject", "--all", str(a), str(b))
    finally:
        subprocess.run(["chattr", "-i", str(b)], check=True)
    assert_clear(result)
    assert f"cannot write {b}: Operation not permitted; no file was written" in result.err
    assert {path: path.read_text() for path in before} == before


# -- 14. what a server says, in the step summary ------------------------------------------------------


@pytest.fixture
def teapot() -> Iterator[Callable[[Callable[[Request], None]], HostileServer]]:
    """A loopback server that answers as the test says; stopped at the end."""
    started: list[HostileServer] = []

    def start(answer: Callable[[Request], None]) -> HostileServer:
        started.append(HostileServer(answer))
        return started[-1]

    yield start
    for server in started:
        server.stop()


MARKDOWN = (
    "[log in again](http://evil.example/phish) ![](http://evil.example/track.png) <img src=x> "
    "https://evil.example/x www.evil.example @octocat **bold** _it_ ~~gone~~ `tick`` | cell\\|end "
    "&lt; <!-- c --> ::error::x ##[set-output name=a]b \x1b[31mred\x1b[0m\nnext line"
)


def rendered(markdown: str) -> str:
    """HTML as GitHub renders a step summary: cmark-gfm with GitHub's extensions, raw HTML kept (GitHub
    sanitizes it afterwards but keeps links and images)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def visible(html_text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def assert_renders_nothing(markdown: str) -> None:
    html_text = rendered(markdown).replace("<strong>Failed:</strong>", "")  # our own heading
    for live in ("<a ", "<img", "<strong", "<em", "<del", "<!--", "<b>"):
        assert live not in html_text, html_text
    for line in markdown.splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line and "\x1b" not in line


def test_the_summary_quotes_outside_text_in_code_that_renders_nothing() -> None:
    from private_registries.action import summary
    from private_registries.text import inert

    markdown = summary.render(
        [],
        failures=[f"r.example.org: GET /v2/ answered 418: {MARKDOWN}", "``` fenced"],
        base_images={f"r.example.org/{MARKDOWN}": "sha256:" + "a" * 64},
        image_id=MARKDOWN,
        pushed={"r.example.org/app:1": MARKDOWN},
        notes=[MARKDOWN],
    )
    assert_renders_nothing(markdown)
    seen = visible(rendered(markdown))
    shown = inert(MARKDOWN, one_line=True)
    assert seen.count(shown) == 5  # every quote whole: nothing lost, nothing rendered
    assert "``` fenced" in seen


def test_the_actions_summary_shows_a_servers_markdown_inert(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    teapot: Callable[[Callable[[Request], None]], HostileServer],
) -> None:
    message = "[log in again](http://evil.example/phish) ![](http://evil.example/track.png) <b>now</b>"

    def answer(request: Request) -> None:
        request.send(
            418, {"Content-Type": "application/json"}, {"errors": [{"code": "TEAPOT", "message": message}]}
        )

    server = teapot(answer)
    entry = {"server": server.address, "username": "bob", "password": "pw-teapot-1"}
    main = run_main(tmp_path, env, {"registries": json.dumps([entry])}, "push", {})
    out = capsys.readouterr().out
    assert main.code == 1
    assert "GET /v2/ answered 418: TEAPOT [log in again](http://evil.example/phish)" in main.summary
    assert_renders_nothing(main.summary)
    assert message in visible(rendered(main.summary))
    assert_inert(out)


def test_the_summary_is_cut_to_what_github_takes_and_says_so(tmp_path: Path) -> None:
    from private_registries.console import SUMMARY_LIMIT, Console

    path = tmp_path / "summary.md"
    console = Console(ci=True, summary_path=str(path))
    console.summary("### first\n")
    console.summary("".join(f"- `line {n} {'é' * 40}`\n" for n in range(40_000)))  # over 2 MiB
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) <= SUMMARY_LIMIT
    assert text.startswith("### first\n- `line 0 ")
    assert text.endswith("*(The rest is cut: a step summary holds at most 1 MiB; the log has it all.)*\n")
    console.summary("### more\n")  # a full summary takes no more
    assert path.read_text(encoding="utf-8") == text


# -- 15. a password on the command line ---------------------------------------------------------------

ON_THE_COMMAND_LINE = "the password was given on the command line, where other users see it (ps)"


@pytest.mark.parametrize("ci", [False, True], ids=["terminal", "actions"])
def test_a_password_on_the_command_line_is_warned_about_once_on_stderr(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], ci: bool
) -> None:
    environment = ci_env(env, tmp_path) if ci else env
    result = run(capsys, environment, "add", SERVER, "bob", "pw-argv-7731")
    assert result.code == 0
    assert shown(result.out) == ["Adding registry... OK"]  # in a workflow, after its ::add-mask::
    assert result.err.count(ON_THE_COMMAND_LINE) == 1
    assert result.err.startswith("::warning::" if ci else "warning: ")
    told = result.err.replace("%25", "%")  # as the runner reads a workflow command
    assert 'printf %s "$TOKEN" | registries add SERVER USERNAME -' in told
    assert not [line for line in shown(result.text) if "pw-argv-7731" in line]


def test_a_password_from_stdin_gets_no_warning(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("pw-stdin-7732\n"))
    result = run(capsys, env, "add", SERVER, "bob", "-")
    assert (result.code, result.out, result.err) == (0, "Adding registry... OK\n", "")


@pytest.mark.parametrize("control", ["\x00", "\x1b", "\x07", "\u202e"], ids=["nul", "esc", "bel", "bidi"])
def test_a_mask_of_a_value_with_a_control_character_writes_none_raw(control: str) -> None:
    import io

    from private_registries.console import Console
    from private_registries.secret import Secret

    out = io.StringIO()
    console = Console(ci=True, stdout=out, stderr=io.StringIO())
    console.announce_masks()
    Secret(f"before{control}after-part")
    console.echo(f"said before{control}after-part")
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if control in line]
    escaped = f"\\x{ord(control):02x}" if ord(control) < 0x100 else f"\\u{ord(control):04x}"
    assert f"::add-mask::before{escaped}after-part" in lines
    assert "::add-mask::before" in lines and "::add-mask::after-part" in lines  # the parts, raw
    assert "said ***" in lines


@pytest.mark.parametrize(
    "server",
    [
        "robot:s3cret-pw-1@harbor.example.org",
        "https://robot:s3cret-pw-1@harbor.example.org/v2/",
        "robot:s3cret@pw-1@harbor.example.org",  # a password holding an @
        "s3cret-pw-1@harbor.example.org",  # a token alone
        "robot:s3cret-pw-1\n::error::x@harbor.example.org",
    ],
)
@pytest.mark.parametrize("ci", [False, True], ids=["terminal", "actions"])
def test_credentials_in_a_server_name_are_refused_unquoted(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str, ci: bool
) -> None:
    entries = tmp_path / "registries.yml"
    entries.write_text(json.dumps([{"server": server, "username": "robot", "password": "pw-entry-1"}]))
    result = run(capsys, ci_env(env, tmp_path) if ci else env, "list", "--registries", str(entries))
    assert_clear(result)
    told = result.text.replace("%0A", "\n")
    assert "entry 1: the server name holds credentials before an @ (not shown)" in told
    assert "credentials do not belong in the server name" in told
    assert "write the host alone: 'harbor.example.org'; give the username and the password" in told
    secret = server.rpartition("@")[0].split("://")[-1]
    assert not [line for line in shown(result.text) if "s3cret" in line or secret in line]
    if ci:
        assert f"::add-mask::{secret.partition(':')[2] or secret}".replace("\n", "%0A") in result.out
    assert_inert(result)


def test_an_image_digest_in_a_server_name_is_told_as_a_path(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = tmp_path / "registries.yml"
    server = "harbor.example.org/app@sha256:" + "a" * 64
    entries.write_text(json.dumps([{"server": server, "username": "robot", "password": "pw-entry-2"}]))
    result = run(capsys, env, "list", "--registries", str(entries))
    assert_clear(result)
    assert "entry 1: server 'harbor.example.org/app@sha256:" in result.err and "has a path" in result.err


def test_remove_refuses_credentials_in_its_server_unquoted(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, env, "remove", "https://robot:s3cret-pw-2@harbor.example.org")
    assert_clear(result)
    assert "registries remove: the server name holds credentials before an @ (not shown)" in result.err
    assert "s3cret" not in result.text


# -- 17. the credsStore warning, in the action's terms ------------------------------------------------


def test_the_actions_creds_store_warning_says_what_to_do_in_the_action(
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    registry_factory: Callable[..., Distribution],
) -> None:
    registry = registry_factory(users={"alice": "pw-alice-3"})
    job_config = tmp_path / "job-docker"
    job_config.mkdir()
    (job_config / "config.json").write_text('{"credsStore": "desktop"}')
    entry = {"server": registry.server, "username": "alice", "password": "pw-alice-3"}
    inputs = {"registries": json.dumps([entry])}
    main = run_main(tmp_path, env, inputs, "push", {}, DOCKER_CONFIG=str(job_config))
    out = capsys.readouterr().out
    assert main.code == 0, out
    warning = next(line for line in out.splitlines() if "credsStore (desktop) wins over auths" in line)
    assert "--docker-config" not in warning
    assert (
        "give this step env DOCKER_CONFIG: '' so that the action writes a config.json of its own" in warning
    )


def test_the_commands_creds_store_warning_names_its_option() -> None:
    from private_registries.services.login import LoginOptions

    assert LoginOptions(servers=[]).shadowed_fix == "use --docker-config with another folder"
