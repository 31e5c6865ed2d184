import pytest

from private_registries.errors import InputError
from private_registries.hosts import (
    DOCKER_HUB_CONFIG_KEY,
    RegistryType,
    api_host,
    config_key,
    detect_type,
    is_loopback,
    parse_ecr,
    parse_server,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry.example.org", "registry.example.org"),
        ("registry.example.org:5000", "registry.example.org:5000"),
        ("  nvcr.io ", "nvcr.io"),
        ("localhost:5000", "localhost:5000"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000"),
        ("docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("https://index.docker.io/v1/", "docker.io"),
    ],
)
def test_servers_are_normalised(text: str, expected: str) -> None:
    assert parse_server(text, "here") == expected


@pytest.mark.parametrize(
    ("text", "problem", "suggestion"),
    [
        ("https://registry.example.org", "has a scheme", "'registry.example.org'"),
        ("registry.example.org/team/app", "has a path", "'registry.example.org'"),
        ("Registry.Example.org", "must be lowercase", "'registry.example.org'"),
        ("registry_example.org", "not a valid hostname", "letters, digits"),
        ("-bad.example.org", "not a valid hostname", ""),
        ("registry.example.org:port", "not a valid hostname", ""),
        ("", "server is empty", ""),
    ],
)
def test_bad_servers_say_what_is_wrong_and_where(text: str, problem: str, suggestion: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_server(text, "registries.yml: entry 3")
    assert str(caught.value).startswith("registries.yml: entry 3: ")
    assert problem in str(caught.value)
    assert suggestion in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("server", "kind", "account", "region", "fips"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            RegistryType.ECR,
            "123456789012",
            "us-east-1",
            False,
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            RegistryType.ECR,
            "123456789012",
            "us-gov-west-1",
            True,
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            RegistryType.ECR,
            "123456789012",
            "cn-north-1",
            False,
        ),
        (
            "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
            RegistryType.ECR,
            "123456789012",
            "eusc-de-east-1",
            False,
        ),
        ("123456789012.dkr-ecr.eu-west-1.on.aws", RegistryType.ECR, "123456789012", "eu-west-1", False),
        (
            "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            RegistryType.ECR,
            "123456789012",
            "us-iso-east-1",
            False,
        ),
        (
            "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
            RegistryType.ECR,
            "123456789012",
            "us-isob-east-1",
            False,
        ),
    ],
)
def test_ecr_hosts_in_every_partition(
    server: str, kind: RegistryType, account: str, region: str, fips: bool
) -> None:
    assert detect_type(server) == kind
    parsed = parse_ecr(server)
    assert parsed is not None
    assert (parsed.account, parsed.region, parsed.fips) == (account, region, fips)


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        ("public.ecr.aws", RegistryType.ECR_PUBLIC),
        ("ghcr.io", RegistryType.GHCR),
        ("docker.io", RegistryType.DOCKERHUB),
        ("nvcr.io", RegistryType.BASIC),
        ("1234.dkr.ecr.us-east-1.amazonaws.com", RegistryType.BASIC),  # not 12 digits
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", RegistryType.BASIC),
    ],
)
def test_type_detection(server: str, kind: RegistryType) -> None:
    assert detect_type(server) == kind


def test_docker_hub_is_one_key_in_config_and_another_host_for_the_api() -> None:
    assert config_key("docker.io") == DOCKER_HUB_CONFIG_KEY == "https://index.docker.io/v1/"
    assert api_host("docker.io") == "registry-1.docker.io"
    assert config_key("ghcr.io") == api_host("ghcr.io") == "ghcr.io"


def test_loopback() -> None:
    assert is_loopback("127.0.0.1:5000")
    assert is_loopback("127.8.9.1")
    assert is_loopback("localhost:5000")
    assert is_loopback("[::1]:5000")
    assert not is_loopback("registry.example.org")
    assert not is_loopback("192.0.2.7:5000")
