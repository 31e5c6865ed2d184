import io
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.clirun import run, run_process


def store_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "private-registries" / "registries.json"


def test_add_list_remove_as_convox_prints_them(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    result = run(capsys, env, "add", "registry.example.org", "username", "password")
    assert (result.code, result.out) == (0, "Adding registry... OK\n")

    result = run(capsys, env, "add", "nvcr.io", "$oauthtoken", "ngc-key-1")
    listing = run(capsys, env)
    assert listing.code == 0
    assert listing.out.splitlines() == [
        "SERVER                USERNAME",
        "registry.example.org  username",
        "nvcr.io               $oauthtoken",
    ]
    assert run(capsys, env, "list").out == listing.out

    result = run(capsys, env, "remove", "registry.example.org")
    assert (result.code, result.out) == (0, "Removing registry... OK\n")
    assert "registry.example.org" not in run(capsys, env).out


def test_list_json_has_no_passwords(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    run(capsys, env, "add", "registry.example.org", "bob", "canary-json-4417")
    result = run(capsys, env, "list", "--json")
    assert json.loads(result.out) == [{"server": "registry.example.org", "username": "bob", "type": "basic"}]
    assert "canary-json-4417" not in result.text
    assert json.loads(run(capsys, env, "--json").out) == json.loads(result.out)


def test_remove_unknown(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    result = run(capsys, env, "remove", "nope.example.org")
    assert result.code == 1
    assert "no such registry: nope.example.org" in result.err
    run(capsys, env, "add", "registry.example.org", "bob", "pw")
    result = run(capsys, env, "remove", "nope.example.org")
    assert result.code == 1
    assert "no such registry: nope.example.org" in result.err
    assert "registry.example.org" in run(capsys, env).out


def test_adding_again_replaces_and_docker_hub_aliases_are_one(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    run(capsys, env, "add", "index.docker.io", "old", "pw1")
    run(capsys, env, "add", "docker.io", "new", "pw2")
    assert run(capsys, env).out.splitlines()[1:] == ["docker.io  new"]
    assert run(capsys, env, "remove", "https://index.docker.io/v1/").code == 0
    assert run(capsys, env).out.splitlines() == ["SERVER  USERNAME"]


def test_store_file_is_private(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    run(capsys, env, "add", "registry.example.org", "bob", "pw")
    path = store_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["registries"] == [
        {"server": "registry.example.org", "username": "bob", "password": "pw"}
    ]


def test_password_from_stdin(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-9931\n"))
    result = run(capsys, env, "add", "registry.example.org", "bob", "-")
    assert result.code == 0
    assert json.loads(store_file(env).read_text())["registries"][0]["password"] == "from-stdin-9931"
    assert "from-stdin-9931" not in result.text


def test_empty_stdin_is_refused(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = run(capsys, env, "add", "registry.example.org", "bob", "-")
    assert result.code == 1
    assert "no password on standard input" in result.err
    assert not store_file(env).exists()


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("https://registry.example.org", "has a scheme"),
        ("registry.example.org/path", "has a path"),
        ("Registry.example.org", "must be lowercase"),
        ("bad_host!", "not a valid hostname"),
    ],
)
def test_bad_server_on_add(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], server: str, message: str
) -> None:
    result = run(capsys, env, "add", server, "bob", "pw")
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.text
    assert not store_file(env).exists()


def test_corrupt_store_is_reported_and_left_alone(
    capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> None:
    path = store_file(env)
    path.parent.mkdir(parents=True)
    path.write_text('{"registries": [ {"server": "a.example.org", ')
    before = path.read_bytes()
    for argv in (("list",), ("add", "b.example.org", "u", "p"), ("remove", "a.example.org"), ("login",)):
        result = run(capsys, env, *argv)
        assert result.code == 1, argv
        assert f"{path} is not valid JSON (line 1 column" in result.err
        assert "left as it is" in result.err
    assert path.read_bytes() == before


def test_a_store_that_is_not_ours(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    path = store_file(env)
    path.parent.mkdir(parents=True)
    path.write_text('["not", "a", "store"]')
    result = run(capsys, env, "add", "b.example.org", "u", "p")
    assert result.code == 1
    assert "is not a registries store" in result.err
    assert path.read_text() == '["not", "a", "store"]'


def test_unreadable_store(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    path = store_file(env)
    path.mkdir(parents=True)  # a folder where the file should be
    result = run(capsys, env, "list")
    assert result.code == 1
    assert "cannot read local store" in result.err


def test_concurrent_adds_lose_nothing(env: dict[str, str]) -> None:
    """Separate processes adding at once: the lock makes every one land."""
    env = {**env, "PYTHONPATH": os.pathsep.join(p for p in [str(Path(__file__).parents[1] / "src")] if p)}
    servers = [f"r{i}.example.org" for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda s: run_process(env, "add", s, "u", "p"), servers))
    assert all(r.code == 0 for r in results), [r.err for r in results if r.code]
    stored = json.loads(store_file(env).read_text())["registries"]
    assert sorted(e["server"] for e in stored) == sorted(servers)


def test_the_store_path_can_be_chosen(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere.json"
    run(capsys, env, "add", "--store", str(path), "registry.example.org", "bob", "pw")
    assert path.exists() and not store_file(env).exists()
    assert "registry.example.org" in run(capsys, env, "list", "--store", str(path)).out


def test_usage_errors(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    result = run(capsys, env, "list", "--env", "production")
    assert result.code == 2
    assert "--env needs --repo" in result.err
    result = run(capsys, env, "list", "--repo", "justaname")
    assert result.code == 2
    assert "expected OWNER/NAME" in result.err
