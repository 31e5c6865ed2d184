"""Token exchange: ECR (keys or the job's OIDC role), ECR Public, GHCR, identity tokens, Docker Hub's
quota. Each credential ends in a real `docker pull` through the config.json that login wrote."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clirun import auths, b64, login
from tests.servers.aws import ECR_PUBLIC_PASSWORD, AwsFront
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.faulty import FaultyRegistry
from tests.servers.fixtures import ECR_ACCOUNT, GITHUB_TOKEN, PrivateRegistry, pull_fresh, push
from tests.servers.oidc import OidcIssuer
from tests.servers.tokenserver import TokenServer

ROLE = "arn:aws:iam::123456789012:role/ecr-pull"
NO_AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.fixture
def aws_env(env: dict[str, str], aws: AwsFront) -> dict[str, str]:
    """AWS keys (moto's dummies) and every endpoint pointed at the front; no instance metadata."""
    return {**env, **aws.env(), "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def oidc_env(aws_env: dict[str, str], oidc: OidcIssuer) -> dict[str, str]:
    """A job with `permissions: id-token: write` and no AWS keys at all."""
    return {**{k: v for k, v in aws_env.items() if k not in NO_AWS_KEYS}, **oidc.env()}


def ecr_entry(registry: PrivateRegistry, **extra: object) -> dict[str, object]:
    return {
        "server": registry.server,
        "type": "ecr",
        "aws-account": ECR_ACCOUNT,
        "aws-region": "us-east-1",
        **extra,
    }


def test_ecr_with_the_environments_keys(
    aws_env: dict[str, str], aws: AwsFront, dockerd: Dockerd, ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = login(aws_env, tmp_path, [ecr_entry(ecr_registry)])
    assert result.code == 0, result.err
    row = result.out.splitlines()[1].split()
    assert row[:3] == [ecr_registry.server, "AWS", "ecr"]
    assert auths(tmp_path)[ecr_registry.server] == {"auth": b64(f"AWS:{ECR_ACCOUNT}-auth-token")}
    assert ecr_registry.password not in result.text
    assert aws.count("ecr:GetAuthorizationToken") == 1
    assert pull_fresh(dockerd, ecr_registry.reference, tmp_path / "docker").returncode == 0


def test_ecr_through_the_jobs_oidc_role_with_no_keys(
    oidc_env: dict[str, str],
    aws: AwsFront,
    oidc: OidcIssuer,
    dockerd: Dockerd,
    ecr_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    aws.trust[ROLE] = "repo:octo/app:*"
    result = login(oidc_env, tmp_path, [ecr_entry(ecr_registry)], "--aws-role-to-assume", ROLE)
    assert result.code == 0, result.err
    assert oidc.audiences == ["sts.amazonaws.com"]
    assert aws.count("sts:AssumeRoleWithWebIdentity") == 1
    assert pull_fresh(dockerd, ecr_registry.reference, tmp_path / "docker").returncode == 0


def test_a_role_that_does_not_trust_this_job(
    oidc_env: dict[str, str], aws: AwsFront, oidc: OidcIssuer, ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    aws.trust[ROLE] = "repo:someone-else/*"
    result = login(oidc_env, tmp_path, [ecr_entry(ecr_registry, **{"aws-role-to-assume": ROLE})])
    assert result.code == 1
    assert f"AWS STS refused to let this job assume {ROLE}: AccessDenied" in result.err
    assert "trust policy" in result.err
    assert "Traceback" not in result.text
    assert aws.count("sts:AssumeRoleWithWebIdentity") == 1  # a refusal is not asked again
    assert aws.count("ecr:GetAuthorizationToken") == 0


def test_id_token_permission_missing(
    aws_env: dict[str, str], ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    env = {k: v for k, v in aws_env.items() if k not in NO_AWS_KEYS}
    result = login(env, tmp_path, [ecr_entry(ecr_registry, **{"aws-role-to-assume": ROLE})])
    assert result.code == 1
    assert "ACTIONS_ID_TOKEN_REQUEST_URL is not set" in result.err
    assert "id-token: write" in result.err


def test_no_aws_credentials_at_all(
    aws_env: dict[str, str], ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    env = {k: v for k, v in aws_env.items() if k not in NO_AWS_KEYS}
    result = login(env, tmp_path, [ecr_entry(ecr_registry)])
    assert result.code == 1
    assert "no AWS credentials" in result.err
    assert "aws-role-to-assume" in result.err and "id-token: write" in result.err


def test_accounts_and_regions_are_exchanged_once_per_region(
    aws_env: dict[str, str],
    aws: AwsFront,
    dockerd: Dockerd,
    registry_factory: Callable[..., Registry],
    ecr_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    other_account = "210987654321"
    other = registry_factory(users={"AWS": f"{other_account}-auth-token"})
    push(dockerd, f"{other.server}/other/app:1", "AWS", f"{other_account}-auth-token", tmp_path)
    europe = registry_factory(users={"AWS": f"{ECR_ACCOUNT}-auth-token"})
    push(dockerd, f"{europe.server}/eu/app:1", "AWS", f"{ECR_ACCOUNT}-auth-token", tmp_path)
    entries = [
        ecr_entry(ecr_registry),
        {"server": other.server, "type": "ecr", "aws-account": other_account, "aws-region": "us-east-1"},
        {"server": europe.server, "type": "ecr", "aws-account": ECR_ACCOUNT, "aws-region": "eu-west-1"},
    ]
    result = login(aws_env, tmp_path, entries)
    assert result.code == 0, result.err
    assert aws.count("ecr:GetAuthorizationToken") == 2  # us-east-1 (two accounts) and eu-west-1
    config = tmp_path / "docker"
    assert pull_fresh(dockerd, ecr_registry.reference, config).returncode == 0
    assert pull_fresh(dockerd, f"{other.server}/other/app:1", config).returncode == 0
    assert pull_fresh(dockerd, f"{europe.server}/eu/app:1", config).returncode == 0


def test_a_real_ecr_host_is_parsed_and_exchanged(
    aws_env: dict[str, str], aws: AwsFront, tmp_path: Path
) -> None:
    """The exchange happens from the host name alone; the registry itself is not reachable here."""
    server = f"{ECR_ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com"
    result = login(
        {**aws_env, "REGISTRIES_RETRIES": "0", "REGISTRIES_TIMEOUT": "2"}, tmp_path, [{"server": server}]
    )
    assert aws.count("ecr:GetAuthorizationToken") == 1
    assert result.code == 1
    # no DNS here, or a DNS whose answers lead nowhere: either way the registry cannot be reached
    assert f"{server}: registry unreachable" in result.err or f"{server}: registry timed out" in result.err


@pytest.mark.parametrize(
    ("jobs_role", "failing", "call", "calls"),
    [
        (False, {"fail_first": 2}, "ecr:GetAuthorizationToken", 3),  # a 503
        # AWS throttles with a 400: ECR's JSON ThrottlingException, STS's query-protocol Throttling.
        # Not a refusal, so asked again (after a backoff).
        (False, {"throttle_first": 2}, "ecr:GetAuthorizationToken", 3),
        (True, {"throttle_first": 1}, "sts:AssumeRoleWithWebIdentity", 2),
    ],
    ids=["5xx", "ecr-throttled", "sts-throttled"],
)
def test_aws_answers_that_another_attempt_may_mend_are_retried(
    jobs_role: bool, failing: dict[str, int], call: str, calls: int, aws: AwsFront, dockerd: Dockerd,
    ecr_registry: PrivateRegistry, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    for name, count in failing.items():
        setattr(aws, name, count)
    argv: tuple[str, ...] = ()
    if jobs_role:
        aws.trust[ROLE] = "repo:octo/app:*"
        argv = ("--aws-role-to-assume", ROLE)
    environment = request.getfixturevalue("oidc_env" if jobs_role else "aws_env")
    result = login(environment, tmp_path, [ecr_entry(ecr_registry)], *argv)
    assert result.code == 0, result.err
    assert aws.count(call) == calls
    assert pull_fresh(dockerd, ecr_registry.reference, tmp_path / "docker").returncode == 0


def test_aws_throttling_that_lasts_says_so_and_not_refused(
    aws_env: dict[str, str], aws: AwsFront, dockerd: Dockerd, ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    aws.throttle_first = 100
    result = login({**aws_env, "REGISTRIES_RETRIES": "2"}, tmp_path, [ecr_entry(ecr_registry)])
    assert result.code != 0
    assert aws.count("ecr:GetAuthorizationToken") == 3  # the first and two more: the transport's retries
    assert "AWS throttled the call (ThrottlingException), also when asked again" in result.err, result.err
    assert "REGISTRIES_RETRIES" in result.err
    assert "AWS refused" not in result.err


def test_ecr_public(
    aws_env: dict[str, str],
    aws: AwsFront,
    dockerd: Dockerd,
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    registry = registry_factory(users={"AWS": ECR_PUBLIC_PASSWORD})
    push(dockerd, f"{registry.server}/pub/app:1", "AWS", ECR_PUBLIC_PASSWORD, tmp_path)
    result = login(aws_env, tmp_path, [{"server": registry.server, "type": "ecr-public"}])
    assert result.code == 0, result.err
    assert aws.count("ecr-public:GetAuthorizationToken") == 1
    assert ECR_PUBLIC_PASSWORD not in result.text
    assert pull_fresh(dockerd, f"{registry.server}/pub/app:1", tmp_path / "docker").returncode == 0


def test_ecr_token_stays_masked(
    aws_env: dict[str, str], ecr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    result = login({**aws_env, "GITHUB_ACTIONS": "true"}, tmp_path, [ecr_entry(ecr_registry)])
    assert result.code == 0, result.err
    token = b64(f"AWS:{ECR_ACCOUNT}-auth-token")
    for line in result.out.splitlines():
        if token in line or ecr_registry.password in line:
            assert line.startswith("::add-mask::"), line


def test_ghcr_with_the_jobs_token(
    env: dict[str, str], dockerd: Dockerd, ghcr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    job = {**env, "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_ACTOR": "octocat"}
    result = login(job, tmp_path, [{"server": ghcr_registry.server, "type": "ghcr"}])
    assert result.code == 0, result.err
    assert result.out.splitlines()[1].split() == [
        ghcr_registry.server,
        "octocat",
        "ghcr",
        "end",
        "of",
        "the",
        "job",
    ]
    assert auths(tmp_path)[ghcr_registry.server] == {"auth": b64(f"octocat:{GITHUB_TOKEN}")}
    assert GITHUB_TOKEN not in result.text
    assert pull_fresh(dockerd, ghcr_registry.reference, tmp_path / "docker").returncode == 0


def test_ghcr_with_a_wrong_or_expired_token(
    env: dict[str, str], ghcr_registry: PrivateRegistry, tmp_path: Path
) -> None:
    job = {**env, "GITHUB_TOKEN": "ghs_expiredToken", "GITHUB_ACTOR": "octocat"}
    result = login(job, tmp_path, [{"server": ghcr_registry.server, "type": "ghcr"}])
    assert result.code == 1
    assert (
        f"{ghcr_registry.server}: credential rejected by the token endpoint (401 Unauthorized)" in result.err
    )
    assert "the GitHub token was refused" in result.err and "packages: read" in result.err
    assert "ghs_expiredToken" not in result.text


def test_ghcr_without_any_token(env: dict[str, str], ghcr_registry: PrivateRegistry, tmp_path: Path) -> None:
    result = login(env, tmp_path, [{"server": ghcr_registry.server, "type": "ghcr"}])
    assert result.code == 1
    assert f"no token for {ghcr_registry.server}" in result.err


def test_identity_token_entries(
    env: dict[str, str], dockerd: Dockerd, registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    """`<token>` as the username: the password is a refresh token, traded at the realm by POST."""
    refresh = "refresh-canary-3141"
    tokens = TokenServer(
        service="acr-like", users={"pusher": "pw-pusher"}, refresh_tokens={refresh: "pusher"}
    )
    registry = registry_factory(token_server=tokens)
    push(dockerd, f"{registry.server}/id/app:1", "pusher", "pw-pusher", tmp_path)
    result = login(env, tmp_path, [{"server": registry.server, "username": "<token>", "password": refresh}])
    assert result.code == 0, result.err
    assert any("form" in r and r["form"]["grant_type"] == "refresh_token" for r in tokens.requests)
    assert auths(tmp_path)[registry.server] == {"auth": b64("<token>:"), "identitytoken": refresh}
    assert refresh not in result.text
    assert pull_fresh(dockerd, f"{registry.server}/id/app:1", tmp_path / "docker").returncode == 0


def test_docker_hub_pull_quota_is_shown(env: dict[str, str], tmp_path: Path) -> None:
    hub = FaultyRegistry(
        username="hubuser", password="hub-pw", bearer=True, rate_limit=("100;w=21600", "76;w=21600")
    )
    try:
        entry = {"server": hub.address, "type": "dockerhub", "username": "hubuser", "password": "hub-pw"}
        result = login(env, tmp_path, [entry])
    finally:
        hub.stop()
    assert result.code == 0, result.err
    assert f"{hub.address}: 76 of 100 pulls left per 6 h" in result.out


def test_ecr_images_are_exchanged_unasked_only_with_aws_credentials() -> None:
    """A public ECR image needs no credentials: with none in the environment, nothing is exchanged.
    An entry held wins over the ambient credential; the rest is anonymous."""
    from private_registries.config import make_registry
    from private_registries.context import Context, github_token_from
    from private_registries.keychain import Keychain
    from private_registries.transport import Transport

    def ambient(servers: list[str], env: dict[str, str], **context: str) -> list[str]:
        token = github_token_from(env)
        made = Context(env=env, transport=Transport(), github_token=token, **context)  # type: ignore[arg-type]
        with Keychain([], made) as keychain:
            return [r.server for r in keychain.entries(servers)]

    servers = ["public.ecr.aws", f"{ECR_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com", "registry.example.org"]
    assert ambient(servers, {}) == []
    assert ambient(servers, {"AWS_ACCESS_KEY_ID": "AKIA"}) == servers[:2]
    assert ambient(servers, {}, aws_role_to_assume=ROLE) == servers[:2]
    assert ambient(["ghcr.io"], {"GITHUB_TOKEN": "ghs_x"}) == ["ghcr.io"]
    assert ambient(["ghcr.io"], {}) == []
    held = make_registry("registry.example.org", "bob", "pw-held", where="test")
    with Keychain([held], Context(env={}, transport=Transport())) as keychain:
        assert keychain.entry("registry.example.org") is held
        assert keychain.entry("ghcr.io") is None
        assert keychain.registry("ghcr.io").username is None
