"""`registries convox`: convox.yml imagePullSecrets checked by Convox's rules, case by case and in
Convox's order; entries a held registry lacks added in place (`--write`); passwordEnv values handed to
the deploy step through $GITHUB_ENV, masked first — and pulled with, as Convox's cluster would."""

from __future__ import annotations

import base64
import difflib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from private_registries.deploy import convox
from tests.clirun import Result, run, run_process
from tests.servers.aws import AwsFront
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, entries_file, pull_fresh

DATA = Path(__file__).parent / "data" / "convox"
NGC_KEY = "nvapi-canary-NGC-2718"


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "convox.yml"
    shutil.copy(DATA / name, target)
    return target


def convox_cmd(capsys: pytest.CaptureFixture[str], env: dict[str, str], *argv: str) -> Result:
    return run(capsys, env, "convox", *argv)


VALID = {"registry": "nvcr.io", "username": "$oauthtoken", "passwordEnv": "NGC_API_KEY"}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"username": "u", "passwordEnv": "A"}, "registry is required"),
        ({**VALID, "registry": ""}, "registry is required"),
        ({**VALID, "registry": "https://nvcr.io"}, "registry 'https://nvcr.io' must not include a scheme"),
        ({**VALID, "registry": "nvcr.io/nim"}, "registry 'nvcr.io/nim' must not include a path"),
        ({**VALID, "registry": "NVCR.io"}, "registry 'NVCR.io' must be lowercase"),
        ({**VALID, "registry": "nvcr_io"}, "registry 'nvcr_io' is not a valid hostname[:port]"),
        ({**VALID, "registry": "nvcr.io:port"}, "registry 'nvcr.io:port' is not a valid hostname[:port]"),
        ({**VALID, "registry": "-nvcr.io"}, "registry '-nvcr.io' is not a valid hostname[:port]"),
        ({"registry": "nvcr.io", "passwordEnv": "A"}, "username is required"),
        ({**VALID, "password": "pw"}, "password and passwordEnv are mutually exclusive"),
        ({"registry": "nvcr.io", "username": "u"}, "one of password or passwordEnv is required"),
        ("nvcr.io", "expected a mapping with registry, username and passwordEnv"),
        # the order is Convox's: a scheme is told before the case, the path before the hostname
        ({"registry": "HTTPS://NVCR.io/x"}, "registry 'HTTPS://NVCR.io/x' must not include a scheme"),
        ({"registry": "NVCR.io/x"}, "registry 'NVCR.io/x' must not include a path"),
        ({"registry": "NVCR.io"}, "registry 'NVCR.io' must be lowercase"),
        ({"registry": "nvcr.io", "password": "p", "passwordEnv": "A"}, "username is required"),
    ],
)
def test_each_rule(entry: object, problem: str) -> None:
    assert (convox.check_entry(entry) or "").startswith(problem)


@pytest.mark.parametrize(
    "entry",
    [
        VALID,
        {"registry": "registry.example.org:5000", "username": "robot$ci", "password": "pw"},
        {"registry": "127.0.0.1:5000", "username": "${USER}", "passwordEnv": "P"},
    ],
)
def test_valid_entries(entry: object) -> None:
    assert convox.check_entry(entry) is None


def test_the_file_is_checked_whole_with_convoxs_wording(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path
) -> None:
    path = copy(tmp_path, "invalid.yml")
    result = convox_cmd(capsys, env, str(path))
    assert result.code == 1
    errors = [line.removeprefix("error: ") for line in result.err.splitlines() if line.startswith("error:")]
    prefix = f"{path}: service api imagePullSecrets"
    assert errors == [
        f"{prefix}[0]: registry is required",
        f"{prefix}[1]: registry 'https://registry.example.org' must not include a scheme "
        "(write the host alone)",
        f"{prefix}[2]: registry 'registry.example.org/acme' must not include a path "
        "(credentials apply to the whole registry)",
        f"{prefix}[3]: registry 'Registry.Example.org' must be lowercase",
        f"{prefix}[4]: registry 'registry_example.org' is not a valid hostname[:port]",
        f"{prefix}[5]: username is required",
        f"{prefix}[6]: password and passwordEnv are mutually exclusive",
        f"{prefix}[7]: one of password or passwordEnv is required",
        f'{prefix}[9]: duplicate registry "registry.example.org:5000" (also declared at index 8); '
        "each registry may be declared at most once per service",
        f"{prefix}[10]: registry 'HTTPS://Registry.Example.org/Path' must not include a scheme "
        "(write the host alone)",
    ]
    assert "hunter2" not in result.text
    # in a workflow, each is an annotation on its entry's line (shown in a pull request's diff)
    annotated = convox_cmd(capsys, {**env, "GITHUB_ACTIONS": "true"}, str(path))
    lines = [line for line in annotated.out.splitlines() if line.startswith("::error file=")]
    where = [line.split("::")[1].split(",title=")[0] for line in lines]
    assert where[:3] == [
        f"error file={path},line=5",
        f"error file={path},line=7",
        f"error file={path},line=10",
    ]
    assert where[-1] == f"error file={path},line=33"


def test_no_services_and_no_file(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path
) -> None:
    path = copy(tmp_path, "no-services.yml")
    result = convox_cmd(capsys, env, str(path))
    assert result.code == 1 and f"{path}: has no services" in result.err
    missing = convox_cmd(capsys, env, str(tmp_path / "absent.yml"))
    assert missing.code == 1 and "absent.yml does not exist" in missing.err
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  web:\n    image: [\n")
    bad = convox_cmd(capsys, env, str(broken))
    assert bad.code == 1 and f"{broken}: not valid YAML at line 4" in bad.err


def test_an_unset_password_env_of_a_registry_we_do_not_hold(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path
) -> None:
    path = copy(tmp_path, "nim.yml")
    result = convox_cmd(capsys, env, str(path))
    assert result.code == 1
    assert (
        f"{path}: service nim imagePullSecrets[0]: passwordEnv NGC_API_KEY is not set, "
        "and nvcr.io is not a registry we hold"
    ) in result.err
    ok = convox_cmd(capsys, {**env, "NGC_API_KEY": NGC_KEY}, str(path))
    assert ok.code == 0, ok.err
    assert f"{path}: 3 services, 1 imagePullSecrets entries valid" in ok.out
    assert NGC_KEY not in ok.text


def test_held_registries_are_exported_masked_through_github_env(env: dict[str, str], tmp_path: Path) -> None:
    path = copy(tmp_path, "nim.yml")
    registries = entries_file(
        tmp_path, [{"server": "nvcr.io", "username": "$oauthtoken", "password": NGC_KEY}]
    )
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    job = {**env, "GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env)}
    result = run_process(job, "convox", str(path), "--registries", str(registries))
    assert result.code == 0, result.err
    # the value is announced as a secret before anything else, and printed nowhere else
    lines = result.out.splitlines()
    assert f"::add-mask::{NGC_KEY}" in lines
    assert all(NGC_KEY not in line for line in lines if not line.startswith("::add-mask::"))
    assert NGC_KEY not in result.err
    assert "NGC_API_KEY: the password for nvcr.io (exported to the next steps)" in result.out
    # $GITHUB_ENV: NAME<<DELIMITER / value / DELIMITER, with a random delimiter
    written = github_env.read_text()
    match = re.fullmatch(r"NGC_API_KEY<<(ghadelimiter_[0-9a-f-]+)\n(.*)\n\1\n", written, re.DOTALL)
    assert match and match.group(2) == NGC_KEY
    # the service without an entry is offered one
    assert (
        "service web: image registry.example.org/acme/web:2" not in result.err
    )  # not held: nothing to offer


def test_a_username_that_is_not_the_held_one(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], tmp_path: Path
) -> None:
    path = copy(tmp_path, "nim.yml")
    registries = entries_file(
        tmp_path, [{"server": "nvcr.io", "username": "oauthtoken", "password": NGC_KEY}]
    )
    result = convox_cmd(capsys, env, str(path), "--registries", str(registries))
    assert result.code == 1
    assert (
        "service nim imagePullSecrets[0]: username '$oauthtoken' is not the one held for nvcr.io "
        "('oauthtoken')" in result.err
    )
    substituted = tmp_path / "sub.yml"
    substituted.write_text(path.read_text().replace("username: $oauthtoken", "username: ${NGC_USER}"))
    ok = convox_cmd(
        capsys, {**env, "NGC_USER": "oauthtoken"}, str(substituted), "--registries", str(registries)
    )
    assert ok.code == 0, ok.err


def test_write_adds_the_missing_entry_in_place_and_the_password_pulls(
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    reg = private_registry
    path = copy(tmp_path, "nim.yml")
    path.write_text(path.read_text().replace("registry.example.org/acme/web:2", reg.reference))
    before = path.read_text()
    registries = entries_file(
        tmp_path,
        [
            {"server": "nvcr.io", "username": "$oauthtoken", "password": NGC_KEY},
            {"server": reg.server, "username": reg.username, "password": reg.password},
        ],
    )
    offered = convox_cmd(capsys, env, str(path), "--registries", str(registries))
    assert offered.code == 0, offered.err
    assert (
        f"service web: image {reg.reference} comes from {reg.server}, which we hold, but no imagePullSecrets "
        "entry names it; add one with: registries convox --write"
    ) in offered.err
    assert path.read_text() == before

    written = convox_cmd(capsys, env, str(path), "--registries", str(registries), "--write")
    assert written.code == 0, written.err
    env_name = convox.password_env_name(reg.server)
    assert env_name == "REG_127_0_0_1_" + reg.server.rsplit(":", 1)[1] + "_PASSWORD"
    assert (
        f"service web: added imagePullSecrets for {reg.server} (username alice, passwordEnv {env_name})"
        in (written.out)
    )
    after = path.read_text()
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    added = [line[2:] for line in diff if line.startswith("+ ")]
    assert [
        line[2:] for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[0] == "-"
    ] == []
    assert added == [
        "    imagePullSecrets:",
        f"      - registry: {reg.server}",
        "        username: alice",
        f"        passwordEnv: {env_name}",
    ]
    assert "# pinned by CI" in after and "# literal: Convox substitutes only ${VAR}" in after
    assert convox.validate(convox.load(path))[1] == []
    again = convox_cmd(capsys, env, str(path), "--registries", str(registries), "--write")
    assert again.code == 0 and path.read_text() == after  # idempotent

    # what the deploy step gets is what Convox's pull secret needs: registry, username and the password
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    job = {**env, "GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env)}
    exported = run_process(job, "convox", str(path), "--registries", str(registries))
    assert exported.code == 0, exported.err
    values = {
        name: value
        for name, _, value in re.findall(
            r"(\w+)<<(ghadelimiter_[0-9a-f-]+)\n(.*?)\n\2\n", github_env.read_text()
        )
    }
    assert values == {"NGC_API_KEY": NGC_KEY, env_name: reg.password}
    service = yaml.safe_load(after)["services"]["web"]["imagePullSecrets"][0]
    auth = base64.b64encode(f"{service['username']}:{values[service['passwordEnv']]}".encode()).decode()
    config = tmp_path / "convox-pull"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"auths": {service["registry"]: {"auth": auth}}}))
    assert pull_fresh(dockerd, reg.reference, config).returncode == 0


def test_an_ecr_token_in_convox_is_said_to_expire(
    env: dict[str, str], aws_env_convox: dict[str, str], tmp_path: Path
) -> None:
    server = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    path = tmp_path / "convox.yml"
    path.write_text(
        f"services:\n  api:\n    image: {server}/team/api:1\n    imagePullSecrets:\n"
        f"      - registry: {server}\n        username: AWS\n        passwordEnv: ECR_PASSWORD\n"
    )
    registries = entries_file(tmp_path, [{"server": server}])
    result = run_process(aws_env_convox, "convox", str(path), "--registries", str(registries))
    assert result.code == 0, result.err
    assert "stops working at" in result.err and "deploy again within 12 hours" in result.err


@pytest.fixture
def aws_env_convox(env: dict[str, str], aws: AwsFront) -> dict[str, str]:
    return {**env, **aws.env(), "AWS_EC2_METADATA_DISABLED": "true"}
