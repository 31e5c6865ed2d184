"""The GitHub Actions secrets store, driven through the real command line against the GitHub stand-in.

No mocks: PyGithub seals each value with the stand-in's libsodium public key, and the stand-in opens it
with the private key, so the assertions read what GitHub would really hold. Masking is switched off
while these tests run, so the canary checks see every byte the commands print.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from private_registries.commands.manage import PASSWORD_ON_COMMAND_LINE as ON_COMMAND_LINE
from private_registries.secret import MASKER
from private_registries.sources import secret_name
from tests.clirun import Result
from tests.clirun import run as run_cli

if TYPE_CHECKING:
    from tests.servers.github_api import GitHubAPI

CANARY = "canary-7f3a9"
SERVER = "registry.example.org:5000"
SECRET = "REGISTRY_REGISTRY_EXAMPLE_ORG_5000"
REPO = "repos/octo/app"
ENVIRONMENT = "repos/octo/app/environments/production"
ORG = "orgs/acme"
VARIABLE = "PRIVATE_REGISTRIES"

Run = Callable[..., Result]


@pytest.fixture
def run(
    github_api: GitHubAPI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
) -> Run:
    """`registries ARGS...` against the stand-in; checks that no password or token reaches the output."""
    monkeypatch.setattr(MASKER, "redact", lambda text: text)  # see what would print without the masker

    def invoke(*argv: str, token: str = "token-good", github: Mapping[str, str] | None = None) -> Result:  # noqa: S107
        result = run_cli(capsys, {**env, **(github_api.env(token) if github is None else github)}, *argv)
        assert CANARY not in result.text
        assert not [t for t in [*github_api.tokens, token] if t in result.text], result.text
        return result

    return invoke


def sealed(api: GitHubAPI, scope: str, name: str = SECRET) -> Any:
    return json.loads(api.secrets[scope][name])


def listed(api: GitHubAPI, scope: str) -> object:
    return json.loads(api.variables[scope][VARIABLE])


def table(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


# --- add -----------------------------------------------------------------------------------------------


def test_add_seals_the_entry_into_one_secret(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--repo", "octo/app", SERVER, "bob", CANARY)

    # stderr: only the warning that a password given as an argument gets (commands/manage.py)
    assert (result.code, result.out, result.err) == (
        0,
        "Adding registry... OK\n",
        f"warning: {ON_COMMAND_LINE}\n",
    )
    assert github_api.secrets[REPO] == {SECRET: github_api.secrets[REPO][SECRET]}
    assert sealed(github_api, REPO) == {"server": SERVER, "username": "bob", "password": CANARY}


def test_add_lists_server_and_username_never_the_password(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)

    assert listed(github_api, REPO) == [{"server": SERVER, "username": "bob"}]
    assert CANARY not in github_api.variables[REPO][VARIABLE]


def test_the_secret_name_is_the_slug_of_the_server() -> None:
    assert secret_name("registry.example.org:5000") == "REGISTRY_REGISTRY_EXAMPLE_ORG_5000"
    assert secret_name("docker.io") == "REGISTRY_DOCKER_IO"


def test_add_twice_replaces(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", "first.example.org", "ann", "pw-first")
    run("add", "--repo", "octo/app", SERVER, "bob", "pw-old")
    result = run("add", "--repo", "octo/app", SERVER, "carol", CANARY)

    assert result.code == 0
    assert sealed(github_api, REPO) == {"server": SERVER, "username": "carol", "password": CANARY}
    assert listed(github_api, REPO) == [
        {"server": "first.example.org", "username": "ann"},
        {"server": SERVER, "username": "carol"},
    ]
    assert sorted(github_api.secrets[REPO]) == ["REGISTRY_FIRST_EXAMPLE_ORG", SECRET]


def test_add_keeps_the_type_and_aws_keys_in_the_entry(run: Run, github_api: GitHubAPI) -> None:
    server = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    role = "arn:aws:iam::123456789012:role/pull"
    result = run("add", "--repo", "octo/app", server, "AWS", CANARY, "--aws-role-to-assume", role)

    assert result.code == 0
    entry = sealed(github_api, REPO, secret_name(server))
    assert entry == {"server": server, "username": "AWS", "password": CANARY, "aws-role-to-assume": role}


def test_add_reads_the_password_from_stdin(
    run: Run,
    github_api: GitHubAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(CANARY + "\n"))

    result = run("add", "--repo", "octo/app", SERVER, "bob", "-")

    assert result.code == 0
    assert sealed(github_api, REPO) == {"server": SERVER, "username": "bob", "password": CANARY}


def test_add_refuses_a_server_whose_secret_name_is_taken(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", "pw-bob")

    result = run("add", "--repo", "octo/app", "registry-example.org:5000", "eve", CANARY)

    assert result.code == 1
    assert f"would share the secret {SECRET}" in result.err
    assert sealed(github_api, REPO) == {"server": SERVER, "username": "bob", "password": "pw-bob"}


# --- list ----------------------------------------------------------------------------------------------


def test_list_prints_server_and_username(run: Run) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)
    run("add", "--repo", "octo/app", "ghcr.io", "octocat", "pw-ghcr")

    for argv in (["list", "--repo", "octo/app"], ["--repo", "octo/app"]):
        result = run(*argv)
        assert result.code == 0
        assert table(result.out) == [["SERVER", "USERNAME"], [SERVER, "bob"], ["ghcr.io", "octocat"]]
        assert result.out.splitlines()[0] == "SERVER" + " " * (len(SERVER) - 4) + "USERNAME"


def test_list_json_has_no_password(run: Run) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)

    result = run("list", "--repo", "octo/app", "--json")

    assert result.code == 0
    assert json.loads(result.out) == [{"server": SERVER, "username": "bob", "type": "basic"}]


def test_list_of_a_repository_without_the_variable_is_empty(run: Run) -> None:
    result = run("list", "--repo", "octo/app", "--json")

    assert (result.code, json.loads(result.out)) == (0, [])


def test_list_reports_a_variable_edited_into_nonsense(run: Run, github_api: GitHubAPI) -> None:
    github_api.seed_variable(REPO, VARIABLE, "{not json")

    result = run("list", "--repo", "octo/app")

    assert result.code == 1
    assert f"variable {VARIABLE} is not a JSON list" in result.err
    assert f"gh variable delete {VARIABLE} --repo octo/app" in result.err


# --- remove --------------------------------------------------------------------------------------------


def test_remove_deletes_the_secret_and_the_entry(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)
    run("add", "--repo", "octo/app", "ghcr.io", "octocat", "pw-ghcr")

    result = run("remove", "--repo", "octo/app", SERVER)

    assert (result.code, result.out) == (0, "Removing registry... OK\n")
    assert list(github_api.secrets[REPO]) == ["REGISTRY_GHCR_IO"]
    assert listed(github_api, REPO) == [{"server": "ghcr.io", "username": "octocat"}]
    assert table(run("list", "--repo", "octo/app").out) == [["SERVER", "USERNAME"], ["ghcr.io", "octocat"]]


def test_remove_unknown_server(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)

    result = run("remove", "--repo", "octo/app", "other.example.org")

    assert (result.code, result.out) == (1, "Removing registry... FAILED\n")
    assert result.err == "error: no such registry: other.example.org\n"
    assert SECRET in github_api.secrets[REPO]


def test_remove_deletes_a_secret_that_was_set_by_hand(run: Run, github_api: GitHubAPI) -> None:
    github_api.seed_secret(
        REPO, SECRET, json.dumps({"server": SERVER, "username": "bob", "password": CANARY})
    )

    result = run("remove", "--repo", "octo/app", SERVER)

    assert result.code == 0
    assert github_api.secrets[REPO] == {}
    assert VARIABLE not in github_api.variables.get(REPO, {})


# --- environments and organizations --------------------------------------------------------------------


def test_environment_store(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--repo", "octo/app", "--env", "production", SERVER, "bob", CANARY)

    assert result.code == 0
    assert sealed(github_api, ENVIRONMENT) == {"server": SERVER, "username": "bob", "password": CANARY}
    assert listed(github_api, ENVIRONMENT) == [{"server": SERVER, "username": "bob"}]
    assert REPO not in github_api.secrets
    assert table(run("list", "--repo", "octo/app", "--env", "production").out)[1] == [SERVER, "bob"]
    assert run("list", "--repo", "octo/app", "--json").out.strip() == "[]"

    assert run("remove", "--repo", "octo/app", "--env", "production", SERVER).code == 0
    assert github_api.secrets[ENVIRONMENT] == {}


def test_unknown_environment(run: Run) -> None:
    result = run("add", "--repo", "octo/app", "--env", "staging", SERVER, "bob", CANARY)

    assert result.code == 1
    assert "GitHub repository octo/app has no environment staging, or the token cannot see it" in result.err


def test_organization_store(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--org", "acme", SERVER, "bob", CANARY)

    assert result.code == 0
    assert sealed(github_api, ORG) == {"server": SERVER, "username": "bob", "password": CANARY}
    assert github_api.visibility[ORG] == {SECRET: "all", f"variable:{VARIABLE}": "all"}
    assert listed(github_api, ORG) == [{"server": SERVER, "username": "bob"}]
    assert table(run("list", "--org", "acme").out) == [["SERVER", "USERNAME"], [SERVER, "bob"]]

    assert run("remove", "--org", "acme", SERVER).code == 0
    assert github_api.secrets[ORG] == {}
    assert listed(github_api, ORG) == []


def test_organization_secret_keeps_its_selected_repositories(run: Run, github_api: GitHubAPI) -> None:
    # More than one page (100) of selected repositories: PyGithub must follow the Link header.
    selected = [f"octo/service-{n}" for n in range(135)]
    github_api.repos.update({name: 2000 + n for n, name in enumerate(selected)})
    github_api.seed_secret(ORG, SECRET, "old", visibility="selected", selected=selected)
    github_api.seed_variable(ORG, VARIABLE, json.dumps([{"server": SERVER, "username": "old"}]))
    github_api.visibility[ORG][f"variable:{VARIABLE}"] = "private"

    result = run("add", "--org", "acme", SERVER, "bob", CANARY)

    assert result.code == 0
    assert sealed(github_api, ORG)["password"] == CANARY
    assert github_api.visibility[ORG] == {SECRET: "selected", f"variable:{VARIABLE}": "private"}
    assert sorted(github_api.selected[ORG][SECRET]) == [2000 + n for n in range(135)]
    assert ("GET", f"/{ORG}/actions/secrets/{SECRET}/repositories?page=2&per_page=100") in github_api.requests


def test_unknown_organization(run: Run) -> None:
    result = run("list", "--org", "nobody")

    assert result.code == 1
    assert "GitHub organization nobody was not found, or the token cannot see it" in result.err


# --- what GitHub cannot do -----------------------------------------------------------------------------


def test_login_explains_that_secret_values_cannot_be_read(run: Run, github_api: GitHubAPI) -> None:
    run("add", "--repo", "octo/app", SERVER, "bob", CANARY)
    github_api.requests.clear()

    result = run("login", "--repo", "octo/app")

    assert result.code == 1
    assert "GitHub never gives secret values back" in result.err
    assert "secrets: ${{ toJSON(secrets) }}" in result.err
    assert github_api.requests == []


# --- tokens and permissions ----------------------------------------------------------------------------


def test_a_read_only_token_names_the_missing_permission(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--repo", "octo/app", SERVER, "bob", CANARY, token="token-readonly")

    assert result.code == 1
    assert "Resource not accessible by integration" in result.err
    assert "the token needs secrets=write" in result.err
    assert "Secrets and Variables, read and write" in result.err
    assert (github_api.secrets, github_api.variables) == ({}, {})


def test_a_token_without_secrets_names_the_permission(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--org", "acme", SERVER, "bob", CANARY, token="token-no-secrets")

    assert result.code == 1
    assert "the token needs organization_secrets=read" in result.err
    assert "admin:org" in result.err
    assert github_api.writes() == []  # it stopped at the public key


def test_a_token_that_cannot_create_the_variable(run: Run, github_api: GitHubAPI) -> None:
    result = run("add", "--repo", "octo/app", SERVER, "bob", CANARY, token="token-no-variable-write")

    assert result.code == 1
    assert f"cannot update the variable {VARIABLE}" in result.err
    assert "the token needs actions_variables=write" in result.err
    assert f"the secret {SECRET} was written" in result.err


def test_a_token_that_cannot_edit_the_variable(run: Run, github_api: GitHubAPI) -> None:
    # PyGithub's Variable.edit answers False on a 403 instead of raising: it must not pass for success.
    github_api.seed_variable(REPO, VARIABLE, "[]")

    result = run("add", "--repo", "octo/app", SERVER, "bob", CANARY, token="token-no-variable-write")

    assert result.code == 1
    assert f"cannot update the variable {VARIABLE}" in result.err
    assert "the token needs actions_variables=write" in result.err
    assert f"the secret {SECRET} was written" in result.err
    assert github_api.variables[REPO][VARIABLE] == "[]"


def test_a_bad_token(run: Run, github_api: GitHubAPI) -> None:
    github_api.tokens.pop("token-good")

    result = run("list", "--repo", "octo/app", token="token-good")

    assert result.code == 1
    assert "GitHub rejected the token (bad credentials)" in result.err
    assert "export GH_TOKEN=$(gh auth token)" in result.err


def test_no_token(run: Run, github_api: GitHubAPI) -> None:
    result = run("list", "--repo", "octo/app", github={"GITHUB_API_URL": github_api.url})

    assert result.code == 1
    assert "no GitHub token" in result.err
    assert "export GH_TOKEN=$(gh auth token)" in result.err
    assert github_api.requests == []


def test_gh_token_is_used_too(run: Run, github_api: GitHubAPI) -> None:
    result = run(
        "add",
        "--repo",
        "octo/app",
        SERVER,
        "bob",
        CANARY,
        github={"GITHUB_API_URL": github_api.url, "GH_TOKEN": "token-good"},
    )

    assert result.code == 0
    assert SECRET in github_api.secrets[REPO]


def test_unknown_repository(run: Run) -> None:
    result = run("add", "--repo", "octo/nope", SERVER, "bob", CANARY)

    assert result.code == 1
    assert "GitHub repository octo/nope was not found, or the token cannot see it" in result.err


# --- the network ---------------------------------------------------------------------------------------


def test_an_unreachable_api(run: Run) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed

    result = run("list", "--repo", "octo/app", github={"GITHUB_API_URL": url, "GITHUB_TOKEN": "token-good"})

    assert result.code == 1
    assert f"the GitHub API at {url} is unreachable" in result.err
    assert "Traceback" not in result.err


def test_an_api_url_without_scheme(run: Run) -> None:
    result = run(
        "list",
        "--repo",
        "octo/app",
        github={"GITHUB_API_URL": "api.github.com", "GITHUB_TOKEN": "token-good"},
    )

    assert result.code == 1
    assert "GITHUB_API_URL 'api.github.com' is not an http(s) URL" in result.err


def test_a_transient_server_error_is_retried(run: Run, github_api: GitHubAPI) -> None:
    github_api.fail_next(502)

    result = run("add", "--repo", "octo/app", SERVER, "bob", CANARY)

    assert result.code == 0
    assert github_api.requests[:2] == [("GET", "/repos/octo/app"), ("GET", "/repos/octo/app")]
    assert SECRET in github_api.secrets[REPO]


def test_retries_are_bounded(run: Run, github_api: GitHubAPI) -> None:
    github_api.fail_next(503, times=20)
    started = time.monotonic()

    result = run("list", "--repo", "octo/app")

    assert result.code == 1
    assert "GitHub answered 503 Server Error, also when asked again" in result.err
    assert len(github_api.requests) == 4  # the first try and three retries
    assert time.monotonic() - started < 15


def test_an_exhausted_rate_limit_is_not_retried(run: Run, github_api: GitHubAPI) -> None:
    github_api.fail_next(
        403,
        message="API rate limit exceeded for user ID 1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"},
    )

    result = run("list", "--repo", "octo/app")

    assert result.code == 1
    assert "the GitHub API rate limit is used up" in result.err
    assert len(github_api.requests) == 1


# --- the stand-in itself, and the import boundary --------------------------------------------------------


def test_the_stand_in_opens_only_values_sealed_with_its_key(github_api: GitHubAPI) -> None:
    url = f"{github_api.url}/repos/octo/app/actions/secrets/REGISTRY_X"
    headers = {"Authorization": "token token-good"}
    wrong_key = requests.put(url, json={"key_id": "1", "encrypted_value": "AAAA"}, headers=headers, timeout=5)
    not_sealed = requests.put(
        url,
        json={"key_id": github_api.key_id, "encrypted_value": "bm90IHNlYWxlZA=="},
        headers=headers,
        timeout=5,
    )

    assert (wrong_key.status_code, not_sealed.status_code) == (422, 422)
    assert "REGISTRY_X" not in github_api.secrets.get(REPO, {})


def test_the_stand_in_paginates_like_github(github_api: GitHubAPI) -> None:
    from github import Auth, Github

    for n in range(35):
        github_api.seed_secret(REPO, f"S{n:02}", "v")
    client = Github(auth=Auth.Token("token-good"), base_url=github_api.url, seconds_between_requests=None)

    names = [secret.name for secret in client.get_repo("octo/app").get_secrets()]

    assert names == [f"S{n:02}" for n in range(35)]
    assert len([r for r in github_api.requests if r[1].startswith("/repos/octo/app/actions/secrets")]) == 2


def test_the_local_store_never_imports_pygithub(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from private_registries.cli import main\n"
        "import private_registries.store.github\n"
        "main(['list'], env={'XDG_CONFIG_HOME': sys.argv[1]})\n"
        "assert not {'github', 'nacl'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, timeout=60)
