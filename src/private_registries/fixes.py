"""The fixes that several failures share, each written once: what to change, with the YAML to paste.

A failure's message says what went wrong; its hint (one of these) says what to do about it. Where a
pull request from a fork changes the answer (GitHub gives such jobs neither secrets nor an OIDC
token), the template has a variant for it.
"""

from __future__ import annotations

ROLE_EXAMPLE = "arn:aws:iam::123456789012:role/ecr-pull"


def no_secrets(reason: str) -> str:
    """The notice of a run without secrets (`reason`: gha.secrets_withheld's) and no REGISTRY_* secret."""
    return (
        f"{reason[:1].upper()}{reason[1:]}, so only the registries that need none (the job's GITHUB_TOKEN "
        "for ghcr.io, `registries` entries whose password is given) are used."
    )


def password_withheld(where: str, server: str, variable: str, reason: str) -> str:
    """The notice of an entry left out: its password-env is not set in a run without secrets."""
    return (
        f"{where}: password-env names {variable}, which is not set ({reason}), so {server} is skipped: "
        "no login to it, and its images are checked without its credentials (a private one fails "
        "the pre-flight)"
    )


NO_AWS_CREDENTIALS = (
    "let the job assume a role with its OIDC token:\n"
    "  permissions:\n    id-token: write\n"
    f"  ...\n  with:\n    aws-role-to-assume: {ROLE_EXAMPLE}\n"
    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (e.g. with aws-actions/configure-aws-credentials)"
)

ROLE_TRUST = (
    "the role's trust policy must trust token.actions.githubusercontent.com with audience "
    "sts.amazonaws.com and a `sub` condition matching this repository and ref, e.g.\n"
    '  "StringLike": {"token.actions.githubusercontent.com:sub": "repo:OWNER/NAME:*"}'
)

GITHUB_TOKEN_REFUSED = (
    "the GitHub token was refused: it may have expired (the job's GITHUB_TOKEN lives only as long as the "
    "job) or lack access to the packages; give the job\n  permissions:\n    packages: read\n"
    "or use a personal access token with read:packages"
)

NO_GITHUB_TOKEN = (
    "give the action github-token (the default is the job's token), set GITHUB_TOKEN, "
    "or add a password-env naming a personal access token with read:packages"
)

UNREACHABLE = "check the server name and that this runner can reach it (firewall, VPN, proxy)"
SLOW = "the registry is slow or unreachable; REGISTRIES_TIMEOUT raises the limit (seconds)"

PRIVATE_CA = (
    "if the registry uses a private CA, point REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) at a PEM bundle "
    "that holds it; for a registry that speaks plain HTTP, mark its entry insecure: true"
)


def id_token(*, fork: bool) -> str:
    """The job cannot ask for its OIDC token: the permission is missing, or GitHub withholds it."""
    if fork:
        return (
            "this is a pull request from a fork: GitHub gives its jobs no OIDC token (and no secrets), "
            "so no AWS role can be assumed here. Pull from ECR only in pushes and in pull requests "
            "from this repository, e.g.\n"
            "  if: github.event.pull_request.head.repo.full_name == github.repository"
        )
    return "give the job the permission:\n  permissions:\n    id-token: write\n    contents: read"


def add_registry(server: str = "SERVER", *, stdin: bool = False) -> str:
    """How to hold a registry we lack: the store here, a REGISTRY_* secret in a workflow."""
    password = "-" if stdin else "PASSWORD"
    return (
        f"add one: registries add {server} USERNAME {password} (or pass --registries FILE; "
        "in a workflow, a REGISTRY_* secret)"
    )
