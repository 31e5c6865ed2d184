"""build-push-action v6's remaining inputs and metadata-action's OCI labels, through the real buildx
0.13.1 on Engine 26.1 where a build shows their effect (a RUN step reads /etc/hosts, /dev/shm, its
ulimit, its secrets; `docker inspect` reads the labels; a stage is rebuilt), and by the arguments
buildx is given where it does not (`allow`, `attests`, `cgroup-parent`, `call`)."""

from __future__ import annotations

import itertools
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from private_registries.action.inputs import OCI, ActionInputs
from private_registries.builders import BuildSpec
from private_registries.builders.classic import ClassicBuilder
from private_registries.builders.cli import CliBuilder
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import InputError
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, basic, entries_file
from tests.servers.runner import read_file_command
from tests.test_buildx import buildx_env, context_with, registries

GITHUB = {
    "GITHUB_SERVER_URL": "https://github.example.com",
    "GITHUB_REPOSITORY": "octo/shop",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
}


def test_build_push_actions_inputs_become_buildx_arguments(tmp_path: Path) -> None:
    """Each input in build-push-action's form; `allow`, `attests` and `cgroup-parent` are checked here
    by the arguments buildx gets (their effect needs entitlements, an attestation-capable exporter or a
    cgroup of the daemon's: not shown on this machine's docker driver)."""
    env = {
        "INPUT_CONTEXT": "app",
        "INPUT_ADD-HOSTS": "docker:10.180.0.1, db:10.0.0.2\ncache:10.0.0.3",
        "INPUT_ALLOW": "network.host,security.insecure",
        "INPUT_ATTESTS": "type=sbom,generator=image\ntype=provenance,mode=max",
        "INPUT_CALL": "check",
        "INPUT_CGROUP-PARENT": "/ci.slice",
        "INPUT_NO-CACHE-FILTERS": "deps\nassets, tests",
        "INPUT_SECRET-ENVS": "GIT_AUTH_TOKEN=TOKEN_VAR, npm=NPM_TOKEN",
        "INPUT_SECRET-FILES": "aws=/run/aws,credentials\nkey=./key.pem",
        "INPUT_BUILD-SECRETS": "id=old,src=/run/old",
        "INPUT_SHM-SIZE": "2g",
        "INPUT_ULIMIT": "nofile=1024:1024\nnproc=512",
        "INPUT_OCI-LABELS": "false",
    }
    inputs = ActionInputs.from_env(env)
    assert inputs.ignored() == []
    spec = inputs.build_options(DockerfileOptions(context=Path("app"))).spec
    assert spec.secrets == [
        "id=old,src=/run/old",
        "id=GIT_AUTH_TOKEN,env=TOKEN_VAR", "id=npm,env=NPM_TOKEN",
        "id=aws,src=/run/aws,credentials", "id=key,src=./key.pem",
    ]  # fmt: skip
    assert spec.labels == {}  # oci-labels: false
    args = CliBuilder("docker", {}, buildx=True).arguments(
        DockerfileOptions(context=Path("app")), spec, tmp_path
    )
    pairs = list(itertools.pairwise(args))
    for flag, value in [
        ("--add-host", "docker:10.180.0.1"), ("--add-host", "db:10.0.0.2"), ("--add-host", "cache:10.0.0.3"),
        ("--allow", "network.host"), ("--allow", "security.insecure"),
        ("--attest", "type=sbom,generator=image"), ("--attest", "type=provenance,mode=max"),
        ("--call", "check"), ("--cgroup-parent", "/ci.slice"),
        ("--no-cache-filter", "deps"), ("--no-cache-filter", "assets"), ("--no-cache-filter", "tests"),
        ("--secret", "id=GIT_AUTH_TOKEN,env=TOKEN_VAR"), ("--shm-size", "2g"),
        ("--ulimit", "nofile=1024:1024"), ("--ulimit", "nproc=512"),
    ]:  # fmt: skip
        assert (flag, value) in pairs, flag
    assert "--iidfile" not in args  # an evaluation makes no image
    # the engines that cannot take them say so before anything runs, naming the engine that can
    assert set(CliBuilder("docker", {}, buildx=False).refuses(spec)) >= {
        "--allow", "--attest", "--call", "--cgroup-parent", "--no-cache-filter", "--shm-size", "--ulimit",
    }  # fmt: skip
    assert ClassicBuilder({}).refuses(BuildSpec(add_hosts=["a:1.2.3.4"])) == {"--add-host": "BuildKit"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("secret-envs", "TOKEN"), ("secret-envs", "=TOKEN"), ("secret-files", "key=")],
)
def test_a_secret_input_that_is_not_id_value_is_refused(name: str, value: str) -> None:
    with pytest.raises(InputError, match=f"input {name}: .* is not ID=VALUE"):
        ActionInputs.from_env({f"INPUT_{name.upper()}": value})


@pytest.mark.parametrize(
    ("value", "as_items", "as_lines"),
    [
        ("a\nb,c", ["a", "b", "c"], ["a", "b,c"]),
        ("type=registry,ref=x:cache\n\n  \ntype=gha", ["type=registry", "ref=x:cache", "type=gha"],
         ["type=registry,ref=x:cache", "type=gha"]),
        # a quoted item loses its quotes, keeps its commas and line breaks; "" is a quote in it
        ('"DESC=a, b"\nK=v', ["DESC=a", "b", "K=v"], ["DESC=a, b", "K=v"]),
        ('"X=one\ntwo"', ["X=one\ntwo"], ["X=one\ntwo"]),
        ('"Q=say ""hi"""', ['Q=say "hi"'], ['Q=say "hi"']),
        ('a:1,"b:2"', ["a:1", "b:2"], ["a:1,b:2"]),
        # a quote inside an unquoted item is kept
        ('MSG=say "hi"', ['MSG=say "hi"'], ['MSG=say "hi"']),
        # not CSV (getList fails on it): a line an item, as written
        ('T={"a":1,"b":2}\nU=2', ['T={"a":1', '"b":2}', "U=2"], ['T={"a":1,"b":2}', "U=2"]),
        ('"unclosed\nnext', ['"unclosed', "next"], ['"unclosed', "next"]),
    ],
    ids=["plain", "blank-lines", "quoted-commas", "quoted-break", "doubled-quote", "quoted-field",
         "inner-quote", "not-csv", "unclosed"],
)  # fmt: skip
def test_list_inputs_are_read_as_build_push_action_reads_them(
    value: str, as_items: list[str], as_lines: list[str]
) -> None:
    """docker/actions-toolkit's Util.getList: CSV records; `tags`, `platforms`... split each at its
    commas, `labels`, `cache-to`, `outputs`... (ignoreComma) join a record's fields back."""
    inputs = ActionInputs.from_env({"INPUT_TAGS": value, "INPUT_CACHE-TO": value})
    assert list(inputs.tags) == as_items
    assert list(inputs.cache_to) == as_lines


def test_a_quoted_label_is_the_label_without_its_quotes() -> None:
    inputs = ActionInputs.from_env({"INPUT_LABELS": '"org.opencontainers.image.description=A shop, in Go"'})
    assert inputs.labels == {"org.opencontainers.image.description": "A shop, in Go"}


def test_oci_labels_from_the_github_context_and_the_users_labels_over_them() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    inputs = ActionInputs.from_env(
        {**GITHUB, "INPUT_CONTEXT": ".", "INPUT_TAGS": "ghcr.io/octo/shop:1.4.0\nghcr.io/octo/shop:latest"}
    )
    labels = dict(inputs.build_options(DockerfileOptions(context=Path("."))).spec.labels)
    created = labels.pop(f"{OCI}created")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created)
    assert before <= datetime.fromisoformat(created) <= datetime.now(UTC)
    assert labels == {
        f"{OCI}source": "https://github.example.com/octo/shop",
        f"{OCI}url": "https://github.example.com/octo/shop",
        f"{OCI}title": "shop",
        f"{OCI}revision": GITHUB["GITHUB_SHA"],
        f"{OCI}version": "1.4.0",
    }
    # the first tag's tag part; `latest` when it names none; none for a reference by digest
    for tags, version in (("r.example.org:5000/a", "latest"), ("r.example.org/a@sha256:" + "0" * 64, None)):
        given = ActionInputs.from_env({**GITHUB, "INPUT_TAGS": tags}).oci_labels
        assert given.get(f"{OCI}version") == version
    epoch = ActionInputs.from_env({**GITHUB, "SOURCE_DATE_EPOCH": "1700000000"}).oci_labels
    assert epoch[f"{OCI}created"] == "2023-11-14T22:13:20.000Z"
    assert ActionInputs.from_env({"INPUT_TAGS": "a.example.org/x:1"}).oci_labels == {}  # no GitHub context
    assert ActionInputs.from_env({**GITHUB, "INPUT_OCI-LABELS": "false"}).oci_labels == {}
    # metadata-action's `labels` output, fed in as it is: its values win over ours
    metadata_action = (
        f"{OCI}created=2024-05-01T10:00:00.000Z\n{OCI}description=A shop, with = and , in it\n"
        f"{OCI}licenses=MIT\n{OCI}revision=fedcba\n{OCI}source=https://github.com/octo/shop\n"
        f"{OCI}title=shop\n{OCI}url=https://github.com/octo/shop\n{OCI}version=pr-7\n"
    )
    inputs = ActionInputs.from_env({**GITHUB, "INPUT_CONTEXT": ".", "INPUT_LABELS": metadata_action})
    labels = dict(inputs.build_options(DockerfileOptions(context=Path("."))).spec.labels)
    assert labels[f"{OCI}version"] == "pr-7" and labels[f"{OCI}revision"] == "fedcba"
    assert labels[f"{OCI}description"] == "A shop, with = and , in it"
    assert labels[f"{OCI}created"] == "2024-05-01T10:00:00.000Z"


def action_files(tmp_path: Path) -> dict[str, Path]:
    files = {name: tmp_path / name for name in ("env", "output", "state", "summary")}
    for path in files.values():
        path.touch()
    return files


def test_the_actions_run_step_sees_its_hosts_shm_ulimit_and_secrets_and_the_image_its_labels(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    env_token = f"env-secret-{secrets.token_hex(12)}"
    file_token = f"file-secret-{secrets.token_hex(12)}"
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(file_token)
    context = context_with(
        tmp_path,
        f"""FROM {private_registry.reference}
RUN --mount=type=secret,id=envtok --mount=type=secret,id=filetok \\
    e="$(cat /run/secrets/envtok)" && f="$(cat /run/secrets/filetok)" && \\
    test "${{#e}}" -eq {len(env_token)} && test "${{#f}}" -eq {len(file_token)} && echo ok > /secrets-ok
RUN grep bench-db.example /etc/hosts > /hosts && df -k /dev/shm | tail -n 1 > /shm && ulimit -n > /nofile
""",
    )
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    files = action_files(tmp_path)
    tag = "bench/inputs:2.5.1"
    metadata_action = f"{OCI}description=Made by metadata-action\n{OCI}title=shop-custom\n"
    stage_env = {
        **buildx_env(env, dockerd, tmp_path, ENV_TOKEN=env_token),
        **GITHUB,
        "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(temp),
        "GITHUB_ENV": str(files["env"]), "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STATE": str(files["state"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "INPUT_REGISTRIES": json.dumps([basic(private_registry)]), "INPUT_CONTEXT": str(context),
        "INPUT_NETWORK": "host", "INPUT_TAGS": tag, "INPUT_LOAD": "true",
        "INPUT_ADD-HOSTS": "bench-db.example:10.9.8.7", "INPUT_SHM-SIZE": "96m",
        "INPUT_ULIMIT": "nofile=1234:1234",
        "INPUT_SECRET-ENVS": "envtok=ENV_TOKEN", "INPUT_SECRET-FILES": f"filetok={secret_file}",
        "INPUT_LABELS": metadata_action,
    }  # fmt: skip
    result = registries(stage_env, "action", "main", str(temp), str(tmp_path))
    assert result.code == 0, result.text
    image = read_file_command(files["output"])["imageid"]

    def cat(path: str) -> str:
        return dockerd.docker("run", "--rm", image, "cat", path).stdout

    assert cat("/secrets-ok") == "ok\n"
    assert cat("/hosts").split() == ["10.9.8.7", "bench-db.example"]
    assert cat("/shm").split()[1] == str(96 * 1024)  # 1K-blocks of /dev/shm
    assert cat("/nofile") == "1234\n"
    history = dockerd.docker("history", "--no-trunc", image).stdout
    inspected = json.loads(dockerd.docker("image", "inspect", image).stdout)[0]
    for value in (env_token, file_token):
        assert value not in history and value not in json.dumps(inspected)
    # the env secret's value is announced to the runner to mask (the runner hides that line), and
    # nowhere else; the file's never reaches this process's output at all
    assert [line for line in result.text.splitlines() if env_token in line] == [f"::add-mask::{env_token}"]
    assert file_token not in result.text
    labels = inspected["Config"]["Labels"]
    assert labels[f"{OCI}source"] == labels[f"{OCI}url"] == "https://github.example.com/octo/shop"
    assert labels[f"{OCI}revision"] == GITHUB["GITHUB_SHA"]
    assert labels[f"{OCI}version"] == "2.5.1"
    assert labels[f"{OCI}title"] == "shop-custom"  # the labels input wins
    assert labels[f"{OCI}description"] == "Made by metadata-action"
    assert datetime.fromisoformat(labels[f"{OCI}created"]) <= datetime.now(UTC)


def test_no_cache_filter_rebuilds_its_stage_alone(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(
        tmp_path,
        f"""FROM {private_registry.reference} AS deps
RUN head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /deps
FROM deps AS app
RUN head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /app
""",
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    common = ["build", str(context), "-t", "bench/nocache:1", "--network", "host", "--registries", str(path)]

    def built() -> tuple[str, str]:
        run = dockerd.docker("run", "--rm", "bench/nocache:1", "cat", "/deps", "/app").stdout
        return run[:32], run[32:]

    assert registries(environment, *common).code == 0
    first = built()
    assert registries(environment, *common).code == 0
    assert built() == first  # all from the cache
    again = registries(environment, *common, "--no-cache-filter", "app")
    assert again.code == 0, again.text
    second = built()
    assert second[0] == first[0] and second[1] != first[1]  # deps from the cache, app rebuilt
    assert registries(environment, *common, "--no-cache-filter", "deps").code == 0
    assert built()[0] != first[0]


def test_call_is_refused_by_a_buildx_that_has_none(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    result = registries(
        buildx_env(env, dockerd, tmp_path),
        "build",
        str(context),
        "--call",
        "check",
        "--registries",
        str(path),
    )
    assert result.code != 0
    assert "--call: buildx 0.13.1 has no --call" in result.text
    assert "buildx 0.14 and later have it" in result.text


@pytest.mark.parametrize("has_call", [True, False])
def test_call_goes_to_a_buildx_that_has_it(tmp_path: Path, has_call: bool) -> None:
    """A stand-in docker CLI whose buildx answers as 0.14 (`--call` in its help) or 0.13 does."""
    flag = "      --call string                   Set method for evaluating build" if has_call else ""
    version = "0.14.0" if has_call else "0.13.1"
    cli = tmp_path / "docker"
    cli.write_text(
        "#!/bin/sh\n"
        f'if [ "$2" = version ]; then echo "github.com/docker/buildx v{version} 171fcbe"; exit 0; fi\n'
        f"printf 'Flags:\\n{flag}\\n      --cgroup-parent string\\n'\n"
    )
    cli.chmod(0o755)
    builder = CliBuilder(str(cli), {}, buildx=True)
    spec = BuildSpec(call="check")
    if has_call:
        assert builder.refuses(spec) == {}
        args = builder.arguments(DockerfileOptions(context=Path("app")), spec, tmp_path)
        assert ("--call", "check") in set(itertools.pairwise(args)) and "--iidfile" not in args
    else:
        with pytest.raises(InputError, match=r"--call: buildx 0\.13\.1 has no --call.*0\.14 and later"):
            builder.refuses(spec)
