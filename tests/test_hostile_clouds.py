"""Hostile cloud endpoints (issue 17): an ECR or STS endpoint (`AWS_ENDPOINT_URL_ECR`,
`AWS_ENDPOINT_URL_STS`) and a GitHub API (`GITHUB_API_URL`) that answer malformed, slowly, never,
or too much. Each ends in a clear error that names what is wrong and where, within REGISTRIES_TIMEOUT
and REGISTRIES_RETRIES, holding a bounded amount of memory, inert in the log; another registry of the
same command is still logged in. Every server here is on loopback, started and stopped by its test."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml

from tests.clirun import Result, run_process
from tests.servers.distribution import Registry as Distribution
from tests.servers.fixtures import PrivateRegistry, pull_fresh
from tests.servers.hostile import HostileServer, Request
from tests.test_hostile import assert_inert, ci_env

if TYPE_CHECKING:
    from tests.servers.dockerd import Dockerd
    from tests.servers.github_api import GitHubAPI
    from tests.servers.oidc import OidcIssuer

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-pull"
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
AMZ_JSON = {"Content-Type": "application/x-amz-json-1.1"}
XML = {"Content-Type": "text/xml"}
GOOD_TOKEN = base64.b64encode(f"AWS:{ACCOUNT}-auth-token".encode()).decode()
Answer = Callable[[Request], None]


@pytest.fixture
def hostile() -> Iterator[Callable[[Answer], HostileServer]]:
    started: list[HostileServer] = []

    def start(answer: Answer) -> HostileServer:
        server = HostileServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def no_result(what: str) -> Answer:
    raise AssertionError(f"{what} was not to be asked")


# -- AWS: the endpoints, as botocore speaks to them ------------------------------------------------------


def aws_endpoint(ecr: Answer | None = None, sts: Answer | None = None) -> Answer:
    """ECR (JSON 1.1: a POST naming its operation in X-Amz-Target) and STS (the query protocol: a form
    POST naming its Action, answered in XML), each answered as the test says."""

    def answer(request: Request) -> None:
        body = request.body()
        if request.headers.get("X-Amz-Target") == ECR_TARGET and ecr is not None:
            ecr(request)
        elif b"Action=AssumeRoleWithWebIdentity" in body and sts is not None:
            sts(request)
        else:
            request.send(400, AMZ_JSON, {"__type": "UnknownOperationException", "message": "no"})

    return answer


def ecr_data(**fields: object) -> dict[str, object]:
    """One authorizationData entry as ECR answers it, with `fields` replaced (None: left out)."""
    data: dict[str, object] = {
        "authorizationToken": GOOD_TOKEN,
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        "expiresAt": time.time() + 12 * 3600,
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def ecr_answers(body: object) -> Answer:
    return lambda request: request.send(200, AMZ_JSON, body)


def sts_credentials(**fields: str | None) -> bytes:
    values: dict[str, str | None] = {
        "AccessKeyId": "ASIAHOSTILE",
        "SecretAccessKey": "sts-secret-canary",
        "SessionToken": "sts-session-canary",
        "Expiration": "2099-01-01T00:00:00Z",
    }
    values.update(fields)
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in values.items() if v is not None)
    return sts_result(f"<Credentials>{inner}</Credentials>")


def sts_result(inner: str) -> bytes:
    return (
        '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<AssumeRoleWithWebIdentityResult>{inner}</AssumeRoleWithWebIdentityResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
        "</AssumeRoleWithWebIdentityResponse>"
    ).encode()


def sts_answers(body: bytes) -> Answer:
    return lambda request: request.send(200, XML, body)


def slow(how: str, content_type: dict[str, str] = AMZ_JSON) -> Answer:
    """A hang (headers never come), a trickle (a byte every half second, within every read timeout),
    or a body far past any bound."""

    def answer(request: Request) -> None:
        if how == "hang":
            request.hang()
        elif how == "trickle":
            header = f"Content-Type: {content_type['Content-Type']}\r\nContent-Length: 100000\r\n\r\n"
            request.raw(b"HTTP/1.1 200 OK\r\n" + header.encode())
            request.drip(b'{"authorizationData": [' + b" " * 100000, 0.5)
        else:
            size = 400 * 1024 * 1024
            header = f"Content-Type: {content_type['Content-Type']}\r\nContent-Length: {size}\r\n\r\n"
            request.raw(b"HTTP/1.1 200 OK\r\n" + header.encode())
            request.stream(b" " * 65536, size)

    return answer


@pytest.fixture
def good(registry_factory: Callable[..., Distribution]) -> tuple[Distribution, dict[str, str]]:
    """A real Distribution registry (htpasswd) and the entry that logs in to it."""
    registry = registry_factory(users={"alice": "pw-good-1"})
    return registry, {"server": registry.server, "username": "alice", "password": "pw-good-1"}


@pytest.fixture
def ecr_host(hostile: Callable[[Answer], HostileServer]) -> HostileServer:
    """Where an ECR registry of the entries lives (asks for Basic; never reached with a bad token)."""
    return hostile(lambda request: request.send(401, {"WWW-Authenticate": 'Basic realm="ecr"'}, b""))


def aws_env(env: dict[str, str], endpoint: HostileServer, **extra: str) -> dict[str, str]:
    url = f"http://{endpoint.address}"
    return {
        **env,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_ECR": url,
        "AWS_ENDPOINT_URL_STS": url,
        **extra,
    }


def ecr_entry(host: HostileServer, **extra: str) -> dict[str, str]:
    return {"server": host.address, "type": "ecr", "aws-account": ACCOUNT, "aws-region": "us-east-1", **extra}


def login(env: dict[str, str], tmp_path: Path, *entries: dict[str, str], timeout: float = 60) -> Result:
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump(list(entries)))
    docker = tmp_path / "docker"
    return run_process(
        env, "login", "--registries", str(path), "--docker-config", str(docker), timeout=timeout
    )


def auths(tmp_path: Path) -> dict[str, dict[str, str]]:
    return json.loads((tmp_path / "docker" / "config.json").read_text())["auths"]  # type: ignore[no-any-return]


def assert_clear(result: Result) -> None:
    assert "internal error" not in result.text, result.text
    assert "Traceback" not in result.text, result.text
    assert "canary" not in result.text, result.text
    assert_inert(result)


def assert_good_logged_in(tmp_path: Path, good: tuple[Distribution, dict[str, str]]) -> None:
    registry = good[0]
    written = auths(tmp_path)
    assert written[registry.server] == {"auth": b64("alice:pw-good-1")}
    assert list(written) == [registry.server]


MALFORMED_ECR = {
    "no token": (
        {"authorizationData": [ecr_data(authorizationToken=None)]},
        "an authorizationData without an authorizationToken",
    ),
    "not base64": (
        {"authorizationData": [ecr_data(authorizationToken="%%% not base64 ::warning::x")]},
        "an authorizationToken that is not base64",
    ),
    "not utf-8": (
        {"authorizationData": [ecr_data(authorizationToken=b64(b"AWS:\xff\xfe\xfd"))]},
        "an authorizationToken that is not UTF-8",
    ),
    "no colon": (
        {"authorizationData": [ecr_data(authorizationToken=b64("AWS-without-a-password"))]},
        "an authorizationToken that is not USER:PASSWORD",
    ),
    "token not a string": (
        {"authorizationData": [ecr_data(authorizationToken=12345)]},
        "an authorizationToken that is not base64",
    ),
    "data not a list": ({"authorizationData": "##[stop-commands]x"}, "something that is not an ECR answer"),
    "empty": ({}, "no authorizationData"),
    "not json": (b"<html>\x1b[2J::error::down</html>", "no authorizationData"),
}


@pytest.mark.parametrize("case", list(MALFORMED_ECR))
def test_a_malformed_ecr_answer_is_that_registrys_named_failure(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_host: HostileServer,
    good: tuple[Distribution, dict[str, str]],
    case: str,
) -> None:
    body, said = MALFORMED_ECR[case]
    aws = hostile(aws_endpoint(ecr=ecr_answers(body)))
    result = login(ci_env(aws_env(env, aws), tmp_path), tmp_path, ecr_entry(ecr_host), good[1])
    assert result.code == 1
    assert (
        f"{ecr_host.address}: ECR GetAuthorizationToken in us-east-1 for {ACCOUNT} at http://{aws.address} "
        f"answered {said}"
    ) in result.out, result.text  # a workflow command: the runner shows it as an error
    assert "AWS_ENDPOINT_URL_ECR points there" in result.out  # the fix names what points there
    assert_clear(result)
    assert_good_logged_in(tmp_path, good)


def test_ecr_public_without_authorization_data_is_a_named_failure(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    good: tuple[Distribution, dict[str, str]],
) -> None:
    def answer(request: Request) -> None:
        request.body()
        request.send(200, AMZ_JSON, {"nothing": "here"})

    aws = hostile(answer)
    environment = {**aws_env(env, aws), "AWS_ENDPOINT_URL_ECR_PUBLIC": f"http://{aws.address}"}
    result = login(environment, tmp_path, {"server": "public.ecr.aws", "type": "ecr-public"}, good[1])
    assert result.code == 1
    assert (
        f"public.ecr.aws: ECR Public GetAuthorizationToken at http://{aws.address} "
        "answered no authorizationData" in result.err
    ), result.err
    assert_clear(result)
    assert_good_logged_in(tmp_path, good)


MALFORMED_STS = {
    "no credentials": (
        sts_result("<SubjectFromWebIdentityToken>x</SubjectFromWebIdentityToken>"),
        "no Credentials",
    ),
    "no secret key": (sts_credentials(SecretAccessKey=None), "Credentials without a SecretAccessKey"),
    "no session token": (sts_credentials(SessionToken=None), "Credentials without a SessionToken"),
    "empty key id": (sts_credentials(AccessKeyId=""), "Credentials without an AccessKeyId"),
    "not xml": (b"::error::\x1b]0;t\x07 not xml <", "something that is not an STS answer"),
}


@pytest.mark.parametrize("case", list(MALFORMED_STS))
def test_a_malformed_sts_answer_is_that_registrys_named_failure(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_host: HostileServer,
    good: tuple[Distribution, dict[str, str]],
    oidc: OidcIssuer,
    case: str,
) -> None:
    body, said = MALFORMED_STS[case]
    aws = hostile(aws_endpoint(ecr=lambda request: no_result("ECR"), sts=sts_answers(body)))
    environment = {**aws_env(env, aws), **oidc.env()}
    del environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]
    result = login(environment, tmp_path, ecr_entry(ecr_host, **{"aws-role-to-assume": ROLE}), good[1])
    assert result.code == 1
    assert (
        f"{ecr_host.address}: AWS STS AssumeRoleWithWebIdentity of {ROLE} at http://{aws.address} "
        f"answered {said}"
    ) in result.err, result.err
    assert "AWS_ENDPOINT_URL_STS" in result.err
    assert_clear(result)
    assert_good_logged_in(tmp_path, good)


@pytest.mark.parametrize("service", ["ecr", "sts"])
@pytest.mark.parametrize("how", ["hang", "trickle"])
def test_a_slow_aws_endpoint_fails_within_registries_timeout(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_host: HostileServer,
    good: tuple[Distribution, dict[str, str]],
    oidc: OidcIssuer,
    service: str,
    how: str,
) -> None:
    """boto3's own timeouts and retries let a hang run 100 s and a trickle 150 s."""
    if service == "ecr":
        aws = hostile(aws_endpoint(ecr=slow(how)))
        environment, entry = aws_env(env, aws), ecr_entry(ecr_host)
        call = f"ECR GetAuthorizationToken in us-east-1 for {ACCOUNT} at http://{aws.address}"
    else:
        aws = hostile(aws_endpoint(ecr=lambda request: no_result("ECR"), sts=slow(how, XML)))
        environment = {**aws_env(env, aws), **oidc.env()}
        del environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]
        entry = ecr_entry(ecr_host, **{"aws-role-to-assume": ROLE})
        call = f"AWS STS AssumeRoleWithWebIdentity of {ROLE} at http://{aws.address}"
    started = time.monotonic()
    result = login({**environment, "REGISTRIES_TIMEOUT": "2"}, tmp_path, entry, good[1], timeout=90)
    took = time.monotonic() - started
    assert result.code == 1
    if how == "hang":  # each attempt times out at 2 s: the first and REGISTRIES_RETRIES (3) more, backing off
        assert f"{ecr_host.address}: {call}: no answer within 2 s" in result.err, result.err
        assert len(aws.requests) == 4
        assert took < 20
    else:  # the trickle ran out the attempt's whole deadline (connect 2 s + read 2 s): not tried again
        assert f"{ecr_host.address}: {call}: no complete answer within 4 s" in result.err, result.err
        assert len(aws.requests) == 1
        assert took < 12
    assert "REGISTRIES_TIMEOUT" in result.err
    assert_clear(result)
    assert_good_logged_in(tmp_path, good)


def test_a_hanging_ecr_endpoint_with_no_retries_fails_at_the_first_timeout(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_host: HostileServer,
    good: tuple[Distribution, dict[str, str]],
) -> None:
    aws = hostile(aws_endpoint(ecr=slow("hang")))
    environment = {**aws_env(env, aws), "REGISTRIES_TIMEOUT": "2", "REGISTRIES_RETRIES": "0"}
    started = time.monotonic()
    result = login(environment, tmp_path, ecr_entry(ecr_host), good[1])
    assert time.monotonic() - started < 8
    assert result.code == 1
    assert len(aws.requests) == 1
    assert "no answer within 2 s" in result.err
    assert_good_logged_in(tmp_path, good)


def test_a_huge_ecr_answer_is_refused_unread(
    env: dict[str, str], hostile: Callable[[Answer], HostileServer], ecr_host: HostileServer
) -> None:
    """Read whole, 400 MB of answer held some 900 MB."""
    import tracemalloc

    from private_registries.config import Registry
    from private_registries.context import Context
    from private_registries.errors import RegistriesError
    from private_registries.hosts import RegistryType
    from private_registries.registries import ecr
    from private_registries.transport import Transport

    aws = hostile(aws_endpoint(ecr=slow("huge")))
    registry = Registry(
        ecr_host.address, None, None, RegistryType.ECR, aws_account=ACCOUNT, aws_region="us-east-1"
    )
    context = Context(env=aws_env(env, aws), transport=Transport())
    ecr.resolve([registry], context)  # botocore's models loaded before memory is counted
    started = time.monotonic()
    tracemalloc.start()
    try:
        [outcome] = ecr.resolve([registry], context)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 30
    assert isinstance(outcome, RegistriesError)
    assert f"at http://{aws.address}: answered more than 4 MiB (HTTP 200)" in outcome.message
    assert peak < 40 * 1024 * 1024


def test_exec_runs_with_the_good_registry_when_ecr_answers_malformed(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_host: HostileServer,
    good: tuple[Distribution, dict[str, str]],
) -> None:
    """A KeyError in one ECR answer ended the whole command, though the other registry was fine."""
    aws = hostile(aws_endpoint(ecr=ecr_answers({"authorizationData": [ecr_data(authorizationToken=None)]})))
    path = tmp_path / "registries.yml"
    path.write_text(yaml.safe_dump([ecr_entry(ecr_host), good[1]]))
    seen = tmp_path / "seen.json"
    result = run_process(
        aws_env(env, aws),
        "exec",
        "--registries",
        str(path),
        "--",
        "sh",
        "-c",
        f'cp "$DOCKER_CONFIG/config.json" {seen}',
    )
    assert result.code == 0, result.text
    assert f"{ecr_host.address}: ECR GetAuthorizationToken" in result.err
    assert "without an authorizationToken" in result.err
    assert_clear(result)
    handed = json.loads(seen.read_text())["auths"]
    assert handed == {good[0].server: {"auth": b64("alice:pw-good-1")}}


def test_good_answers_from_the_same_endpoints_log_in_and_pull(
    env: dict[str, str],
    tmp_path: Path,
    hostile: Callable[[Answer], HostileServer],
    ecr_registry: PrivateRegistry,
    private_registry: PrivateRegistry,
    dockerd: Dockerd,
    oidc: OidcIssuer,
) -> None:
    """The loopback endpoints answering well, through the role (STS) and ECR: both registries are
    logged in, and a real `docker pull` from each works with the config.json written."""
    aws = hostile(
        aws_endpoint(ecr=ecr_answers({"authorizationData": [ecr_data()]}), sts=sts_answers(sts_credentials()))
    )
    environment = {**aws_env(env, aws), **oidc.env()}
    del environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]
    ecr = {
        "server": ecr_registry.server,
        "type": "ecr",
        "aws-account": ACCOUNT,
        "aws-region": "us-east-1",
        "aws-role-to-assume": ROLE,
    }
    other = {
        "server": private_registry.server,
        "username": private_registry.username,
        "password": private_registry.password,
    }
    result = login(environment, tmp_path, ecr, other)
    assert result.code == 0, result.text
    assert [r.split(" ", 1)[0] for r in aws.requests] == ["POST", "POST"]  # STS, then ECR
    config = tmp_path / "docker"
    assert pull_fresh(dockerd, ecr_registry.reference, config).returncode == 0
    assert pull_fresh(dockerd, private_registry.reference, config).returncode == 0


# -- GitHub: a front before the stand-in, answering some requests itself --------------------------------


REPO_KEY = "repos/octo/app"
ORG_KEY = "orgs/acme"
SERVER = "registry.example.org:5000"
SECRET = "REGISTRY_REGISTRY_EXAMPLE_ORG_5000"


def github_front(
    api: GitHubAPI, hostile: Callable[[Answer], HostileServer], answers: dict[str, Answer]
) -> HostileServer:
    """A GitHub API whose answers to the paths in `answers` are the test's; every other request is the
    stand-in's (the URLs in its answers, which PyGithub goes on to, pointed back here)."""

    def answer(request: Request) -> None:
        body = request.body()
        special = answers.get(request.path.split("?", 1)[0])
        if special is not None:
            special(request)
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        upstream = requests.request(
            request.method, api.url + request.path, data=body, headers=headers, timeout=30
        )
        kept = {
            k: v.replace(api.url, front_url[0])
            for k, v in upstream.headers.items()
            if k.lower() in {"content-type", "link", "x-accepted-github-permissions"}
        }
        request.send(
            upstream.status_code, kept, upstream.content.replace(api.url.encode(), front_url[0].encode())
        )

    front_url = [""]
    server = hostile(answer)
    front_url[0] = f"http://{server.address}"
    return server


def github_env(env: dict[str, str], front: HostileServer, **extra: str) -> dict[str, str]:
    return {**env, "GITHUB_API_URL": f"http://{front.address}", "GITHUB_TOKEN": "token-good", **extra}


def gh(env: dict[str, str], *argv: str, timeout: float = 60) -> Result:
    return run_process(env, *argv, input="pw-hidden-7\n", timeout=timeout)


def test_a_retry_after_of_a_day_fails_at_once_naming_the_api(
    env: dict[str, str], github_api: GitHubAPI, hostile: Callable[[Answer], HostileServer]
) -> None:
    """PyGithub's urllib3 Retry slept whatever Retry-After said."""
    busy: Answer = lambda request: request.send(503, {"Retry-After": "99999"}, {"message": "busy"})  # noqa: E731
    front = github_front(github_api, hostile, {f"/{REPO_KEY}": busy})
    started = time.monotonic()
    result = gh(github_env(env, front), "list", "--repo", "octo/app", timeout=30)
    assert time.monotonic() - started < 10
    assert result.code == 1
    assert (
        f"cannot open GitHub repository octo/app: the GitHub API at http://{front.address}: answered 503 "
        "asking to be tried again after 99999 s, longer than REGISTRIES_TIMEOUT allows (20 s)"
    ) in result.err, result.err
    assert front.requests == ["GET /repos/octo/app"]
    assert_clear(result)


def test_an_endless_listing_stops_at_the_page_cap_and_writes_nothing(
    env: dict[str, str], github_api: GitHubAPI, hostile: Callable[[Answer], HostileServer]
) -> None:
    """An endless `Link: rel="next"` made 2 021 requests in 90 s, and would have gone on."""
    github_api.seed_secret(ORG_KEY, SECRET, "old", visibility="selected", selected=["octo/app"])
    path = f"/{ORG_KEY}/actions/secrets/{SECRET}/repositories"
    repository = {"id": 1001, "name": "app", "full_name": "octo/app", "url": "x"}

    def endless(request: Request) -> None:
        page = int(parse_qs(urlsplit(request.path).query).get("page", ["1"])[0])
        link = f'<http://{front.address}{path}?page={page + 1}&per_page=100>; rel="next"'
        request.send(200, {"Link": link}, {"total_count": 10**9, "repositories": [repository]})

    front = github_front(github_api, hostile, {path: endless})
    started = time.monotonic()
    result = gh(github_env(env, front), "add", "--org", "acme", SERVER, "bob", "-", timeout=60)
    assert time.monotonic() - started < 30
    assert result.code == 1
    assert (
        f"cannot write the secret {SECRET} of GitHub organization acme: the GitHub API at "
        f"http://{front.address}: answered more than 100 pages of {path}, each naming a next one; "
        f"stopped before GET {path}: the rest was not read"
    ) in result.err, result.err
    assert sum(1 for r in front.requests if r.startswith(f"GET {path}")) == 100
    assert github_api.secrets[ORG_KEY][SECRET] == "old"  # nothing written
    assert_clear(result)


@pytest.mark.parametrize("how", ["trickle", "hang"])
def test_a_slow_github_api_fails_within_registries_timeout(
    env: dict[str, str], github_api: GitHubAPI, hostile: Callable[[Answer], HostileServer], how: str
) -> None:
    """PyGithub's timeout is per read: a body that came a byte every half second ran on."""

    def slowly(request: Request) -> None:
        if how == "hang":
            request.hang()
            return
        request.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n")
        request.drip(b'{"name": "' + b"a" * 10000, 0.5)

    front = github_front(github_api, hostile, {f"/{REPO_KEY}": slowly})
    started = time.monotonic()
    result = gh(github_env(env, front, REGISTRIES_TIMEOUT="2"), "list", "--repo", "octo/app", timeout=60)
    took = time.monotonic() - started
    assert result.code == 1
    where = f"cannot open GitHub repository octo/app: the GitHub API at http://{front.address}"
    if how == "hang":  # 2 s each: the first attempt and REGISTRIES_RETRIES (3) more
        assert f"{where}: no answer within 2 s" in result.err, result.err
        assert len(front.requests) == 4
        assert took < 20
    else:
        assert f"{where}: no complete answer within 4 s" in result.err, result.err
        assert len(front.requests) == 1
        assert took < 12
    assert "REGISTRIES_TIMEOUT raises the limit" in result.err
    assert_clear(result)


@pytest.mark.parametrize(
    "key",
    [
        b64(b"k" * 31),
        b64(b"k" * 33),
        "abc",  # not base64 (its padding)
        "!!!! ::warning::x",  # nothing base64 in it at all
        "",
    ],
)
def test_a_public_key_that_is_not_32_bytes_is_a_named_failure(
    env: dict[str, str],
    github_api: GitHubAPI,
    hostile: Callable[[Answer], HostileServer],
    tmp_path: Path,
    key: str,
) -> None:
    path = f"/{REPO_KEY}/actions/secrets/public-key"
    bad_key: Answer = lambda request: request.send(200, {}, {"key_id": "1", "key": key})  # noqa: E731
    front = github_front(github_api, hostile, {path: bad_key})
    result = gh(ci_env(github_env(env, front), tmp_path), "add", "--repo", "octo/app", SERVER, "bob", "-")
    assert result.code == 1
    assert (
        f"cannot write the secret {SECRET} of GitHub repository octo/app: the GitHub API at "
        f"http://{front.address} answered a public key for secrets that is not 32 bytes in base64"
    ) in result.text, result.text
    assert "so nothing was sealed or written" in result.text
    assert SECRET not in github_api.secrets.get(REPO_KEY, {})
    assert_clear(result)


def test_a_huge_github_answer_is_refused_unread(
    env: dict[str, str],
    github_api: GitHubAPI,
    hostile: Callable[[Answer], HostileServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Read whole, a 400 MB answer took 871 MB."""
    import tracemalloc

    from tests.clirun import run

    def huge(request: Request) -> None:
        size = 400 * 1024 * 1024
        request.raw(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        request.raw(b'{"name": "')
        request.stream(b"a" * 65536, size)

    front = github_front(github_api, hostile, {f"/{REPO_KEY}": huge})
    environment = github_env(env, front)
    run(capsys, environment, "list", "--repo", "octo/other")  # PyGithub and the transport imported first
    started = time.monotonic()
    tracemalloc.start()
    try:
        result = run(capsys, environment, "list", "--repo", "octo/app")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 30
    assert result.code == 1
    assert (
        f"cannot open GitHub repository octo/app: the GitHub API at http://{front.address}: "
        "answered more than 4 MiB (HTTP 200); the rest was not read"
    ) in result.err, result.err
    assert peak < 40 * 1024 * 1024
    assert_clear(result)
