import json
from pathlib import Path

import pytest

from private_registries import gha
from private_registries.config import PasswordWithheld, Withheld, merge, parse_entries, parse_entry
from private_registries.errors import InputError
from private_registries.hosts import RegistryType
from private_registries.sources import from_file, from_secrets, from_text, secret_name, slug

ENV = {"REG_PASSWORD": "from-env-1"}


def entry(**fields: object) -> dict[str, object]:
    return {"server": "registry.example.org", "username": "bob", **fields}


def test_a_full_entry() -> None:
    registry = parse_entry(entry(password="hunter2"), "here", ENV)
    assert registry.server == "registry.example.org"
    assert registry.username == "bob"
    assert registry.password is not None and registry.password.reveal() == "hunter2"
    assert registry.type == RegistryType.BASIC


def test_password_env_is_read_from_the_given_environment() -> None:
    registry = parse_entry(entry(**{"password-env": "REG_PASSWORD"}), "here", ENV)
    assert registry.password is not None and registry.password.reveal() == "from-env-1"
    assert registry.password_env == "REG_PASSWORD"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "a", "password-env": "REG_PASSWORD"}, "has both password and password-env"),
        ({}, "needs a password or a password-env"),
        ({"password-env": "UNSET_VARIABLE"}, "password-env names UNSET_VARIABLE, which is not set"),
        ({"password-env": "not a name"}, "is not an environment variable name"),
        ({"password": "x", "pasword": "y"}, "unknown key 'pasword'"),
        ({"password": "x", "type": "harbor"}, "unknown type 'harbor'"),
        ({"password": 1234}, "password must be a string"),
        ({"password": "x", "insecure": "maybe"}, "insecure must be true or false"),
    ],
)
def test_bad_entries(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_entry(entry(**fields), "registries.yml: entry 1", ENV)
    assert str(caught.value).startswith("registries.yml: entry 1")
    assert message in str(caught.value)


def test_a_typo_gets_a_suggestion() -> None:
    with pytest.raises(InputError) as caught:
        parse_entry(entry(password="x", password_env="Y"), "here", ENV)
    assert "did you mean 'password-env'" in (caught.value.hint or "")


def test_exchanged_types_need_no_password() -> None:
    ghcr = parse_entry({"server": "ghcr.io"}, "here", ENV)
    assert ghcr.type == RegistryType.GHCR and ghcr.password is None
    ecr = parse_entry({"server": "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}, "here", ENV)
    assert ecr.type == RegistryType.ECR


def test_an_ecr_proxy_must_say_its_account_and_region() -> None:
    with pytest.raises(InputError, match="cannot tell the AWS account and region"):
        parse_entry({"server": "ecr-proxy.internal", "type": "ecr"}, "here", ENV)
    registry = parse_entry(
        {
            "server": "ecr-proxy.internal",
            "type": "ecr",
            "aws-account": "123456789012",
            "aws-region": "eu-west-1",
        },
        "here",
        ENV,
    )
    assert registry.aws_region == "eu-west-1"


def test_yaml_errors_name_the_line_and_never_the_content(tmp_path: Path) -> None:
    path = tmp_path / "registries.yml"
    path.write_text('- server: a.example.org\n  username: bob\n  password: "s3cret-unclosed\n')
    with pytest.raises(InputError) as caught:
        from_file(path, ENV)
    assert str(path) in str(caught.value)
    assert "line" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        from_file(tmp_path / "nope.yml", ENV)


def test_json_is_accepted_too() -> None:
    registries = from_text('[{"server": "a.example.org", "username": "u", "password": "p"}]', "input", ENV)
    assert [r.server for r in registries] == ["a.example.org"]


def test_a_list_is_expected() -> None:
    with pytest.raises(InputError, match="expected a list of registry entries, got a string"):
        parse_entries("registry.example.org", "input", ENV)


def test_merge_by_server_later_wins() -> None:
    first = parse_entries(
        [entry(password="old"), {"server": "b.example.org", "username": "u", "password": "p"}], "a", ENV
    )
    second = parse_entries([entry(password="new")], "b", ENV)
    merged = merge(first, second)
    assert [r.server for r in merged] == ["registry.example.org", "b.example.org"]
    assert merged[0].password is not None and merged[0].password.reveal() == "new"


def test_secret_names() -> None:
    assert slug("registry.example.org:5000") == "REGISTRY_EXAMPLE_ORG_5000"
    assert secret_name("ghcr.io") == "REGISTRY_GHCR_IO"
    assert secret_name("123456789012.dkr.ecr.us-east-1.amazonaws.com") == (
        "REGISTRY_123456789012_DKR_ECR_US_EAST_1_AMAZONAWS_COM"
    )


def test_secrets_input_picks_registry_entries_only() -> None:
    entry = {"server": "a.example.org", "username": "u", "password": "p"}
    text = json.dumps({"github_token": "ghs_x", "OTHER": "1", "REGISTRY_A_EXAMPLE_ORG": json.dumps(entry)})
    registries = from_secrets(text, "input secrets", ENV)
    assert [r.server for r in registries] == ["a.example.org"]


def test_a_secret_that_is_not_an_entry_is_named() -> None:
    with pytest.raises(InputError) as caught:
        from_secrets('{"REGISTRY_X": "plain-password-value"}', "input secrets", ENV)
    assert "REGISTRY_X" in str(caught.value)
    assert "plain-password-value" not in str(caught.value)


# --- runs that GitHub gives no secrets (gha.secrets_withheld) ------------------------------------

FORK_HEAD = {"full_name": "stranger/app", "fork": True}
OWN_HEAD = {"full_name": "octo/app", "fork": False}
BASE = {"repo": {"full_name": "octo/app"}}


def event_env(tmp_path: Path, name: str, event: object, actor: str = "octocat") -> dict[str, str]:
    """A workflow run's environment as the runner sets it, with its event file."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path), "GITHUB_ACTOR": actor}


def pull(head: object, **more: object) -> dict[str, object]:
    return {"pull_request": {"head": {"repo": head}, "base": BASE, **more}}


@pytest.mark.parametrize(
    ("name", "event", "actor", "reason"),
    [
        ("pull_request", pull(FORK_HEAD), "stranger", gha.FORK),
        ("pull_request_review", pull(FORK_HEAD), "octocat", gha.FORK),
        ("pull_request_review_comment", pull(FORK_HEAD), "octocat", gha.FORK),
        ("pull_request", pull(None), "stranger", gha.FORK),  # the fork was deleted
        ("pull_request", pull(OWN_HEAD), "octocat", None),
        # a branch of a fork, proposed to the fork itself: its own secrets are given
        (
            "pull_request",
            {"pull_request": {"head": {"repo": FORK_HEAD}, "base": {"repo": FORK_HEAD}}},
            "x",
            None,
        ),
        ("pull_request_target", pull(FORK_HEAD), "stranger", None),  # runs the base's code, with secrets
        ("push", {"ref": "refs/heads/main"}, "octocat", None),
        ("push", {"ref": "refs/heads/dependabot/pip/x"}, "dependabot[bot]", gha.DEPENDABOT),
        ("pull_request", pull(OWN_HEAD), "dependabot[bot]", gha.DEPENDABOT),
        (
            "pull_request_target",
            pull(OWN_HEAD, user={"login": "dependabot[bot]"}),
            "dependabot[bot]",
            gha.DEPENDABOT,
        ),
        ("pull_request_target", pull(OWN_HEAD, user={"login": "octocat"}), "dependabot[bot]", None),
        ("workflow_dispatch", {}, "dependabot[bot]", None),
        ("pull_request", {"pull_request": "garbled"}, "stranger", None),
    ],
)
def test_which_runs_github_gives_no_secrets(
    tmp_path: Path, name: str, event: object, actor: str, reason: str | None
) -> None:
    assert gha.secrets_withheld(event_env(tmp_path, name, event, actor)) == reason


def test_no_event_file_is_no_fork() -> None:
    assert gha.secrets_withheld({}) is None
    assert (
        gha.secrets_withheld({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/nonexistent"})
        is None
    )


HARBOR = {"server": "harbor.example.org", "username": "robot$ci", "password-env": "HARBOR_TOKEN"}
OTHER = {"server": "registry.example.org", "username": "bob", "password": "hunter2"}


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_password_env_in_a_forks_pull_request_is_left_out(tmp_path: Path, value: str | None) -> None:
    env = event_env(tmp_path, "pull_request", pull(FORK_HEAD))
    if value is not None:
        env["HARBOR_TOKEN"] = value
    withheld: list[Withheld] = []
    registries = from_text(json.dumps([HARBOR, OTHER]), "input registries", env, withheld=withheld)
    assert [registry.server for registry in registries] == ["registry.example.org"]
    [left_out] = withheld
    assert (left_out.server, left_out.variable, left_out.reason) == (
        "harbor.example.org",
        "HARBOR_TOKEN",
        gha.FORK,
    )
    assert left_out.message.startswith(
        "input registries: entry 1 (harbor.example.org): password-env names HARBOR_TOKEN, which is not set "
        "(this is a pull request from a fork: GitHub gives it no secrets), so harbor.example.org is skipped"
    )
    # without a list to put it in, it is an error (one that says why)
    with pytest.raises(PasswordWithheld):
        from_text(json.dumps([HARBOR, OTHER]), "input registries", env)


def test_a_set_password_env_in_a_forks_pull_request_is_used(tmp_path: Path) -> None:
    env = {**event_env(tmp_path, "pull_request", pull(FORK_HEAD)), "HARBOR_TOKEN": "not-a-secret"}
    withheld: list[Withheld] = []
    [registry] = from_text(json.dumps([HARBOR]), "input registries", env, withheld=withheld)
    assert registry.password is not None and registry.password.reveal() == "not-a-secret"
    assert withheld == []


@pytest.mark.parametrize(
    ("name", "event"),
    [("pull_request", pull(OWN_HEAD)), ("push", {"ref": "refs/heads/main"}), ("", {})],
)
def test_an_unset_password_env_elsewhere_is_the_error_it_was(
    tmp_path: Path, name: str, event: object
) -> None:
    env = event_env(tmp_path, name, event) if name else {}
    withheld: list[Withheld] = []
    with pytest.raises(InputError) as caught:
        from_text(json.dumps([HARBOR, OTHER]), "input registries", env, withheld=withheld)
    assert not isinstance(caught.value, Withheld)
    assert (
        str(caught.value)
        == "input registries: entry 1 (harbor.example.org): password-env names HARBOR_TOKEN, which is not set"
    )
    assert withheld == []


def test_files_and_secrets_leave_it_out_too(tmp_path: Path) -> None:
    env = event_env(tmp_path, "push", {}, actor="dependabot[bot]")
    path = tmp_path / "registries.yml"
    path.write_text(json.dumps([HARBOR, OTHER]))
    withheld: list[Withheld] = []
    assert [r.server for r in from_file(path, env, withheld=withheld)] == ["registry.example.org"]
    secrets = json.dumps({"REGISTRY_HARBOR_EXAMPLE_ORG": json.dumps(HARBOR)})
    assert from_secrets(secrets, "input secrets", env, withheld=withheld) == []
    assert [(w.server, w.reason) for w in withheld] == [("harbor.example.org", gha.DEPENDABOT)] * 2
