import json
import subprocess
import sys
from pathlib import Path

import pytest

from private_registries import __version__
from tests.clirun import run, run_process

SRC = str(Path(__file__).parents[1] / "src")
HEAVY = ("boto3", "botocore", "docker", "github", "requests", "yaml")


def test_version(env: dict[str, str]) -> None:
    result = run_process({**env, "PYTHONPATH": SRC}, "--version")
    assert (result.code, result.out) == (0, f"registries {__version__}\n")


@pytest.mark.parametrize("argv", [["--version"], ["list"], ["list", "--json"], []])
def test_fast_commands_import_no_heavy_library(env: dict[str, str], argv: list[str]) -> None:
    """`--version` and `list` on the local store must not load the SDKs (nor requests or YAML)."""
    code = (
        "import sys\n"
        "from private_registries.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "LOADED="


def test_the_console_script_and_module_agree(env: dict[str, str]) -> None:
    script = Path(sys.executable).parent / "registries"
    assert script.exists(), "the package must be installed (make test installs it)"
    result = subprocess.run([str(script), "--version"], env=env, capture_output=True, text=True, check=True)
    assert result.stdout == f"registries {__version__}\n"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(capsys, env, "--help")
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "add", "remove", "login"):
        assert command in out


def test_an_unknown_command_is_a_usage_error(env: dict[str, str]) -> None:
    result = run_process({**env, "PYTHONPATH": SRC}, "frobnicate")
    assert result.code == 2
    assert "invalid choice: 'frobnicate'" in result.err
    assert "Traceback" not in result.text


def test_internal_errors_are_masked_and_have_no_traceback(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a bug's message goes through the masker."""
    from private_registries.commands import manage

    def broken(args: object, env: object, console: object) -> int:
        from private_registries.secret import Secret

        secret = Secret("canary-bug-8812")
        raise RuntimeError(f"boom with {secret.reveal()}")

    monkeypatch.setattr(manage, "list_", broken)
    result = run(capsys, env, "list")
    assert result.code == 70
    assert "internal error (RuntimeError): boom with ***" in result.err
    assert "canary-bug-8812" not in result.text


def test_annotations_in_github_actions(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    result = run(capsys, {**env, "GITHUB_ACTIONS": "true"}, "remove", "nope.example.org")
    assert "::error::no such registry: nope.example.org" in result.out


def test_json_listing_is_json(capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
    assert json.loads(run(capsys, env, "list", "--json").out) == []


def test_error_messages_drop_terminal_escapes(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message may quote what a server or a build sent: it cannot clear the screen, set the
    title, or hide a secret from the masker by splitting it with an escape."""
    from private_registries.commands import manage
    from private_registries.errors import ErrorKind, RegistryError

    def hostile(args: object, env: object, console: object) -> int:
        from private_registries.secret import Secret

        Secret("canary-esc-4410")
        raise RegistryError(
            "r.example.org", "said \x1b]0;owned\x07\x1b[2Jcanary-\x1b[0mesc-4410", kind=ErrorKind.PROTOCOL
        )

    monkeypatch.setattr(manage, "list_", hostile)
    result = run(capsys, env, "list")
    assert result.code == 1
    assert "\x1b" not in result.text
    assert "said ***" in result.err
    assert "esc-4410" not in result.text
