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


def oidc_withheld(where: str, server: str, reason: str) -> str:
    """The notice of a keyless entry left out: the run gets no OIDC token."""
    return (
        f"{where}: GitHub gives this run no OIDC token ({reason}), so {server} is skipped: no login "
        "to it, and its images are checked without its credentials (a private one fails the pre-flight)"
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
            "so no cloud role or identity can be used here. Log in to such registries only in pushes and "
            "in pull requests from this repository, e.g.\n"
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


# --- keyless logins: Google, Azure, Docker Hub ------------------------------------------------------

PROVIDER_EXAMPLE = "projects/123456789012/locations/global/workloadIdentityPools/github/providers/my-repo"
SERVICE_ACCOUNT_EXAMPLE = "puller@my-project.iam.gserviceaccount.com"
AZURE_ID_EXAMPLE = "00000000-0000-0000-0000-000000000000"

NO_PROVIDER = (
    "name the workload identity provider that trusts this repository, on the entry or for the job:\n"
    "  permissions:\n    id-token: write\n  ...\n  with:\n"
    f"    gcp-workload-identity-provider: {PROVIDER_EXAMPLE}\n"
    "or give the entry a password (a service account key as username _json_key)"
)

NO_AZURE_IDENTITY = (
    "name the app registration (or managed identity) whose federated credential trusts this "
    "repository, on the entry or for the job:\n  permissions:\n    id-token: write\n  ...\n  with:\n"
    f"    azure-client-id: {AZURE_ID_EXAMPLE}\n    azure-tenant-id: {AZURE_ID_EXAMPLE}\n"
    "or give the entry a username and password (a repository-scoped token or the admin user)"
)


def provider_refused(provider: str, said: str) -> str:
    """Google STS refused the job's token: the provider's audience or attribute condition."""
    return (
        f"the provider must accept this job's token ({said or 'see its claims in the job log'}): its "
        "allowed audiences must hold https://iam.googleapis.com/" + provider + " (the default) and its "
        "attribute condition must match this repository, e.g.\n"
        "  gcloud iam workload-identity-pools providers update-oidc PROVIDER ... "
        "--attribute-condition=\"assertion.repository == 'OWNER/NAME'\""
    )


def impersonation_refused(service_account: str, provider: str) -> str:
    pool = provider.rsplit("/providers/", 1)[0]
    return (
        f"let the pool's identities for this repository impersonate {service_account}:\n"
        f"  gcloud iam service-accounts add-iam-policy-binding {service_account} "
        "--role=roles/iam.workloadIdentityUser "
        f"--member=principalSet://iam.googleapis.com/{pool}/attribute.repository/OWNER/NAME"
    )


GCP_READER = (
    "the identity may not read this registry: grant it roles/artifactregistry.reader on the repository "
    "(the service account, or the pool's principalSet without one)"
)


def federated_credential(client_id: str, said: str) -> str:
    return (
        f"add a federated credential to the app {client_id} for issuer "
        "https://token.actions.githubusercontent.com, audience api://AzureADTokenExchange and the "
        f"subject this job's token carries ({said or 'see the job log'}), e.g.\n"
        f"  az ad app federated-credential create --id {client_id} --parameters "
        '\'{"name": "github", "issuer": "https://token.actions.githubusercontent.com", '
        '"subject": "repo:OWNER/NAME:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}\''
    )


ACR_PULL = (
    "the identity may not pull from this registry: give it the AcrPull role on it, e.g.\n"
    "  az role assignment create --assignee CLIENT_ID --role AcrPull --scope REGISTRY_RESOURCE_ID"
)

DOCKERHUB_OIDC = (
    "check the organisation's OIDC connection on Docker Hub (Settings > OIDC connections): its id, that "
    "it trusts this repository, and that the username is the organisation's name"
)
