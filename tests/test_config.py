import json
from pathlib import Path

import pytest

from private_registries.config import merge, parse_entries, parse_entry
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
