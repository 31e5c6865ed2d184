"""The registry record, and its parsing from every source (store, `--registries FILE`, action inputs).

One entry has the same shape everywhere (see the README):

    - server: registry.example.org
      username: bob
      password: hunter2            # or password-env: NAME
      type: auto                   # auto | basic | dockerhub | ghcr | ecr | ecr-public
      aws-region / aws-account / aws-role-to-assume   (ecr)
      workload-identity-provider / service-account    (gcp: the job's OIDC token, no password)
      azure-client-id / azure-tenant-id               (acr: the job's OIDC token, no password)
      dockerhub-oidc-connection-id                    (docker.io: the organisation as username)
      insecure: false              # allow plain HTTP to a registry that is not on loopback
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from private_registries import fixes, gha
from private_registries.errors import InputError
from private_registries.hosts import RegistryType, detect_type, parse_ecr, parse_server, refuse_credentials
from private_registries.secret import MASKER, Secret
from private_registries.text import ENV_NAME, control_character, cut

FIELDS = (
    "server",
    "username",
    "password",
    "password-env",
    "type",
    "aws-region",
    "aws-account",
    "aws-role-to-assume",
    "workload-identity-provider",
    "service-account",
    "azure-client-id",
    "azure-tenant-id",
    "dockerhub-oidc-connection-id",
    "insecure",
)
# Types whose password comes from a token exchange, so an entry may leave it out.
EXCHANGED = frozenset(
    {RegistryType.ECR, RegistryType.ECR_PUBLIC, RegistryType.GHCR, RegistryType.GCP, RegistryType.ACR}
)
# The keyless fields, and the one type each belongs to.
_KEYLESS_FIELDS = {
    "workload-identity-provider": RegistryType.GCP,
    "service-account": RegistryType.GCP,
    "azure-client-id": RegistryType.ACR,
    "azure-tenant-id": RegistryType.ACR,
    "dockerhub-oidc-connection-id": RegistryType.DOCKERHUB,
}
HUB_CONNECTION_VARIABLE = "DOCKERHUB_OIDC_CONNECTIONID"
PROVIDER = re.compile(
    r"^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$"
)
SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
# What a password-env that is not a name is told (never its value: that is often the secret itself).
PASSWORD_ENV_HINT = (
    "password-env names the variable that holds the password (letters, digits and underscores, not "
    "starting with a digit), e.g.\n  password-env: HARBOR_TOKEN\nwith the step's\n  env:\n"
    "    HARBOR_TOKEN: ${{ secrets.HARBOR_TOKEN }}"
)


@dataclass(frozen=True)
class Registry:
    server: str
    username: str | None
    password: Secret | None
    type: RegistryType
    password_env: str | None = None
    aws_region: str | None = None
    aws_account: str | None = None
    aws_role_to_assume: str | None = None
    workload_identity_provider: str | None = None
    service_account: str | None = None
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    dockerhub_oidc_connection_id: str | None = None
    insecure: bool = False
    source: str = ""

    @property
    def keyless(self) -> bool:
        """Whether its password is minted from the job's OIDC token (Google, Azure, Docker Hub): set
        when it holds no password of its own."""
        if self.password is not None:
            return False
        return self.type in (RegistryType.GCP, RegistryType.ACR) or bool(self.dockerhub_oidc_connection_id)

    def public(self) -> dict[str, str]:
        """What may be shown: never the password."""
        return {"server": self.server, "username": self.username or "", "type": str(self.type)}

    def to_entry(self) -> dict[str, Any]:
        """The stored form (with the password: for the 0600 store and for sealed GitHub secrets only)."""
        entry: dict[str, Any] = {"server": self.server, "username": self.username}
        if self.password_env:
            entry["password-env"] = self.password_env
        elif self.password is not None:
            entry["password"] = self.password.reveal()
        if self.type != detect_type(self.server):
            entry["type"] = str(self.type)
        for key, value in (
            ("aws-region", self.aws_region),
            ("aws-account", self.aws_account),
            ("aws-role-to-assume", self.aws_role_to_assume),
            ("workload-identity-provider", self.workload_identity_provider),
            ("service-account", self.service_account),
            ("azure-client-id", self.azure_client_id),
            ("azure-tenant-id", self.azure_tenant_id),
            ("dockerhub-oidc-connection-id", self.dockerhub_oidc_connection_id),
        ):
            if value:
                entry[key] = value
        if self.insecure:
            entry["insecure"] = True
        return {k: v for k, v in entry.items() if v is not None}


def parse_entry(data: object, where: str, env: Mapping[str, str]) -> Registry:
    """Validate one entry. `where` names it in errors ("registries.yml: entry 2")."""
    if not isinstance(data, Mapping):
        raise InputError(
            f"{where}: expected a mapping with server, username and password, got {_kind(data)}",
            hint="an entry looks like:\n  - server: registry.example.org\n    username: bob\n"
            "    password-env: REGISTRY_PASSWORD",
        )
    unknown = [str(key) for key in data if key not in FIELDS]
    if unknown:
        close = difflib.get_close_matches(unknown[0].replace("_", "-").lower(), FIELDS, n=1)
        raise InputError(
            f"{where}: unknown key {cut(unknown[0])}",
            hint=f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(FIELDS)}",
        )
    if isinstance(data.get("server"), str):  # before anything quotes it
        refuse_credentials(data["server"].strip(), where)
    server = parse_server(_text(data, "server", where, required=True) or "", where)
    where = f"{where} ({server})"
    kind = _parse_type(data.get("type"), server, where)
    _check_keyless_types(data, kind, where)
    connection = _text(data, "dockerhub-oidc-connection-id", where)
    unset = (None, "")
    if kind == RegistryType.DOCKERHUB and data.get("password") in unset and data.get("password-env") in unset:
        connection = connection or env.get(HUB_CONNECTION_VARIABLE, "").strip() or None  # login-action's
    hub_oidc = bool(connection)
    username = _text(data, "username", where, required=kind not in EXCHANGED)
    password, password_env = _password(
        data, server, where, env, required=kind not in EXCHANGED and not hub_oidc
    )
    registry = Registry(
        server=server,
        username=username,
        password=password,
        type=kind,
        password_env=password_env,
        aws_region=_text(data, "aws-region", where),
        aws_account=_text(data, "aws-account", where),
        aws_role_to_assume=_text(data, "aws-role-to-assume", where),
        workload_identity_provider=_text(data, "workload-identity-provider", where),
        service_account=_text(data, "service-account", where),
        azure_client_id=_text(data, "azure-client-id", where),
        azure_tenant_id=_text(data, "azure-tenant-id", where),
        dockerhub_oidc_connection_id=connection,
        insecure=_flag(data, "insecure", where),
        source=where,
    )
    _check_aws(registry, where)
    _check_keyless(data, registry, where)
    reason = oidc_withheld(registry, env)
    if reason:
        raise OidcWithheld(where, server, reason)
    return registry


def oidc_withheld(registry: Registry, env: Mapping[str, str]) -> str | None:
    """Why a keyless entry cannot be logged in to in this run (GitHub gives it no OIDC token), or None."""
    needs_token = registry.keyless or bool(registry.aws_role_to_assume)
    return gha.oidc_withheld(env) if needs_token else None


class Withheld(InputError):
    """An entry GitHub gives this run nothing to log in with (a fork's pull request, Dependabot's):
    the readers that are given a `withheld` list leave the entry out and put this there, for a notice
    (its message); the others raise it as the error it also is."""

    def __init__(self, message: str, *, server: str, reason: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.server, self.reason = server, reason


class PasswordWithheld(Withheld):
    """An entry's password-env is not set in a run GitHub gives no secrets (gha.secrets_withheld)."""

    def __init__(self, where: str, server: str, variable: str, reason: str) -> None:
        super().__init__(
            fixes.password_withheld(where, server, variable, reason),
            server=server,
            reason=reason,
            hint="name this registry only in runs that GitHub gives secrets (a push, a pull request "
            "from this repository)",
        )
        self.variable = variable


class OidcWithheld(Withheld):
    """A keyless entry in a run that GitHub gives no OIDC token (gha.oidc_withheld)."""

    def __init__(self, where: str, server: str, reason: str) -> None:
        super().__init__(
            fixes.oidc_withheld(where, server, reason),
            server=server,
            reason=reason,
            hint="log in to it only in runs that get an OIDC token (a push, a pull request from this "
            "repository)",
        )


def parse_kept(
    data: object, where: str, env: Mapping[str, str], withheld: list[Withheld] | None
) -> Registry | None:
    """parse_entry, except that with a `withheld` list an entry whose secret GitHub withholds is
    added to it and left out (None)."""
    try:
        return parse_entry(data, where, env)
    except Withheld as left_out:
        if withheld is None:
            raise
        withheld.append(left_out)
        return None


def parse_entries(
    data: object, where: str, env: Mapping[str, str], *, withheld: list[Withheld] | None = None
) -> list[Registry]:
    """A list of entries (a single mapping is taken as a list of one); see parse_kept for `withheld`."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a list of registry entries, got {_kind(data)}")
    found = (parse_kept(item, f"{where}: entry {index}", env, withheld) for index, item in enumerate(data, 1))
    return [registry for registry in found if registry is not None]


def make_registry(
    server: str,
    username: str | None,
    password: str | None,
    *,
    where: str,
    type: str | None = None,
    **extra: Any,
) -> Registry:
    """A registry from command-line arguments, validated like any entry."""
    entry: dict[str, Any] = {"server": server, "username": username, "password": password, "type": type}
    entry.update({key.replace("_", "-"): value for key, value in extra.items()})
    return parse_entry({k: v for k, v in entry.items() if v not in (None, "", False)}, where, {})


def merge(*sources: Iterable[Registry]) -> list[Registry]:
    """Registries by server, later sources winning; order of first appearance is kept."""
    merged: dict[str, Registry] = {}
    for source in sources:
        for registry in source:
            merged[registry.server] = registry
    return list(merged.values())


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list"}.get(
        type(value), type(value).__name__
    )


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A field's text, stripped; None (or, if `required`, an error) when there is none."""
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise InputError(f"{where}: {key} must be a string, got {_kind(value)}")
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise InputError(f"{where}: {key} is required" + (" (it is blank)" if value else ""))
        return None
    control = control_character(text)
    if control:
        raise InputError(
            f"{where}: {key} {cut(text)} holds a control character ({control})",
            hint=f"write the {key} on one line, without control characters",
        )
    return text


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise InputError(f"{where}: {key} must be true or false, got {cut(value)}")


def _parse_type(value: object, server: str, where: str) -> RegistryType:
    if value in (None, "", "auto"):
        return detect_type(server)
    names = ", ".join(t.value for t in RegistryType)
    if not isinstance(value, str):
        raise InputError(f"{where}: type must be a string, got {_kind(value)}", hint=f"use one of: {names}")
    try:
        return RegistryType(value.strip().lower())
    except ValueError:
        raise InputError(f"{where}: unknown type {cut(value)}", hint=f"use one of: {names}") from None


def _password(
    data: Mapping[str, Any], server: str, where: str, env: Mapping[str, str], *, required: bool
) -> tuple[Secret | None, str | None]:
    has_password = data.get("password") not in (None, "")
    has_env = data.get("password-env") not in (None, "")
    if has_password and has_env:
        raise InputError(
            f"{where}: has both password and password-env",
            hint="keep one: password-env names an environment variable that holds the password",
        )
    if has_env:
        name = _password_env(data.get("password-env"), where, env)
        value = env.get(name)
        reason = None if value else gha.secrets_withheld(env)
        if reason:
            raise PasswordWithheld(where, server, name, reason)
        if not value:
            raise InputError(
                f"{where}: password-env names {name}, which is not set",
                hint=f"set it for this step, e.g.\n  env:\n    {name}: ${{{{ secrets.{name} }}}}",
            )
        return Secret(value), name
    if has_password:
        value = data["password"]
        if not isinstance(value, str):
            # A password YAML read as a number or a boolean has lost its original spelling.
            raise InputError(f"{where}: password must be a string", hint='quote it in YAML: password: "..."')
        return Secret(value), None
    if required:
        raise InputError(
            f"{where}: needs a password or a password-env",
            hint="add password-env: NAME and set NAME in the step's env from a secret",
        )
    return None, None


def _password_env(value: object, where: str, env: Mapping[str, str]) -> str:
    """The variable `password-env` names. A value that is no name, or an unset one that looks like a
    token (`ghp_...`), is never quoted, and is masked before anything is printed: it is often the
    secret itself (`password-env: ${{ secrets.X }}`)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"{where}: password-env must be a string, got {_kind(value)}", hint=PASSWORD_ENV_HINT
        )
    name = str(value).strip()
    if ENV_NAME.fullmatch(name) and (name in env or not _looks_like_a_token(name)):
        return name
    MASKER.register(str(value), name)
    shown = f"{len(name)} characters" if name else "blank"
    if ENV_NAME.fullmatch(name):
        raise InputError(
            f"{where}: password-env ({shown}, not shown: it looks like a token) names no variable "
            "that is set",
            hint=PASSWORD_ENV_HINT,
        )
    raise InputError(
        f"{where}: password-env ({shown}, not shown: it may be a secret) is not an environment variable name",
        hint=PASSWORD_ENV_HINT,
    )


def _looks_like_a_token(name: str) -> bool:
    """A token's shape, not a variable's: a known token prefix, or long, with lower case and digits
    (variables are named in words: HARBOR_TOKEN, NGC_API_KEY)."""
    if name.startswith(_TOKEN_PREFIXES):
        return True
    return len(name) >= _TOKEN_LENGTH and any(c.islower() for c in name) and any(c.isdigit() for c in name)


# GitHub's tokens (personal, OAuth, user, server, refresh, fine-grained) and Docker Hub's.
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "dckr_pat_")
_TOKEN_LENGTH = 24


def _check_keyless_types(data: Mapping[str, Any], kind: RegistryType, where: str) -> None:
    """Each keyless field on its own type (before anything else is asked of the entry)."""
    for key, own in _KEYLESS_FIELDS.items():
        if data.get(key) not in (None, "") and kind != own:
            raise InputError(
                f"{where}: {key} is for {own} registries, and this one is {kind}",
                hint=f"remove {key}, or add type: {own} if this host is one",
            )


def _check_keyless(data: Mapping[str, Any], registry: Registry, where: str) -> None:
    """Each keyless field well formed, and with what it needs beside it."""
    checks = (
        ("workload-identity-provider", registry.workload_identity_provider, PROVIDER, fixes.PROVIDER_EXAMPLE),
        ("service-account", registry.service_account, SERVICE_ACCOUNT, fixes.SERVICE_ACCOUNT_EXAMPLE),
        ("azure-client-id", registry.azure_client_id, UUID, fixes.AZURE_ID_EXAMPLE),
        ("dockerhub-oidc-connection-id", registry.dockerhub_oidc_connection_id, UUID, fixes.AZURE_ID_EXAMPLE),
    )
    for key, value, pattern, example in checks:
        if value and not pattern.match(value):
            raise InputError(f"{where}: {key} {cut(value)} is not well formed", hint=f"e.g. {key}: {example}")
    tenant = registry.azure_tenant_id
    if tenant and not (UUID.match(tenant) or _TENANT_DOMAIN.match(tenant)):
        raise InputError(
            f"{where}: azure-tenant-id {cut(tenant)} is neither a tenant id nor a domain",
            hint=f"e.g. azure-tenant-id: {fixes.AZURE_ID_EXAMPLE}",
        )
    if registry.dockerhub_oidc_connection_id and registry.password is not None:
        raise InputError(
            f"{where}: has both a password and dockerhub-oidc-connection-id",
            hint="keep one: with the connection id, the job's OIDC token is the only credential",
        )
    if registry.dockerhub_oidc_connection_id and not registry.username:
        raise InputError(
            f"{where}: dockerhub-oidc-connection-id needs the organisation as username",
            hint="add username: YOUR_ORGANISATION",
        )


def check_identity_defaults(values: Mapping[str, str | None], prefix: str) -> None:
    """The job-wide keyless defaults (flags `--gcp-...`, inputs `gcp-...`), checked as an entry's fields
    are; `prefix` names where they came from (`--`, `input `)."""
    patterns = {
        "gcp_workload_identity_provider": (PROVIDER, fixes.PROVIDER_EXAMPLE),
        "gcp_service_account": (SERVICE_ACCOUNT, fixes.SERVICE_ACCOUNT_EXAMPLE),
        "azure_client_id": (UUID, fixes.AZURE_ID_EXAMPLE),
        "azure_tenant_id": (None, fixes.AZURE_ID_EXAMPLE),
    }
    for name, (pattern, example) in patterns.items():
        value = values.get(name)
        if not value:
            continue
        good = pattern.match(value) if pattern else UUID.match(value) or _TENANT_DOMAIN.match(value)
        if not good or control_character(value):
            option = f"{prefix}{name.replace('_', '-')}"
            raise InputError(f"{option} {cut(value)} is not well formed", hint=f"e.g. {option} {example}")


def _check_aws(registry: Registry, where: str) -> None:
    if registry.aws_account and not _ACCOUNT.match(registry.aws_account):
        raise InputError(f"{where}: aws-account must be 12 digits, got {cut(registry.aws_account)}")
    if registry.aws_region and not _REGION.match(registry.aws_region):
        raise InputError(f"{where}: aws-region {cut(registry.aws_region)} is not an AWS region name")
    if registry.aws_role_to_assume and not ROLE_ARN.match(registry.aws_role_to_assume):
        raise InputError(
            f"{where}: aws-role-to-assume must be an IAM role ARN",
            hint="e.g. arn:aws:iam::123456789012:role/ecr-pull",
        )
    has_location = registry.aws_region and registry.aws_account
    if registry.type == RegistryType.ECR and not parse_ecr(registry.server) and not has_location:
        raise InputError(
            f"{where}: cannot tell the AWS account and region of this ECR host",
            hint='add aws-account: "123456789012" and aws-region: us-east-1 to the entry',
        )
