"""convox.yml `imagePullSecrets`: Convox's own validation, the entries a held registry still lacks, and
the `passwordEnv` values the deploy step needs.

Validation follows Convox's rules in Convox's order and words its errors as Convox does
(`service NAME imagePullSecrets[i]: ...`), one error per entry, then duplicates. A username is taken
literally (`$oauthtoken` stays as written); only `${VAR}` is substituted, as Convox does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml.nodes import MappingNode

from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.deploy import manifests, yamledit
from private_registries.errors import InputError
from private_registries.hosts import DOCKER_HUB, DOCKER_HUB_ALIASES, HOSTNAME, RegistryType
from private_registries.images import image_server
from private_registries.secret import MASKER, Secret
from private_registries.sources import slug
from private_registries.text import ENV_NAME, cut

KEY = "imagePullSecrets"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Entry:
    """One valid imagePullSecrets entry."""

    service: str
    index: int
    registry: str
    username: str
    password_env: str | None
    line: int

    @property
    def where(self) -> str:
        return f"service {self.service} {KEY}[{self.index}]"


@dataclass(frozen=True)
class Missing:
    """A service whose image comes from a registry we hold, with no entry for that registry."""

    service: str
    image: str
    server: str


@dataclass
class Manifest:
    path: Path
    text: str
    document: yamledit.Document
    services: dict[str, Any]


def load(path: Path) -> Manifest:
    text = manifests.read(path)
    documents = yamledit.parse(text, str(path))
    data = documents[0].data if documents else None
    if len(documents) != 1 or not isinstance(data, Mapping):
        raise InputError(f"{path}: expected one YAML mapping (a convox.yml), got {len(documents)} documents")
    services = data.get("services")
    if not isinstance(services, Mapping) or not services:
        raise InputError(
            f"{path}: has no services",
            hint="a convox.yml lists its services:\n"
            "services:\n  web:\n    image: registry.example.org/team/web:1",
        )
    return Manifest(path, text, documents[0], dict(services))


def check_entry(entry: object) -> str | None:  # noqa: PLR0911 (one return per rule, in Convox's order)
    """The first of Convox's rules that `entry` breaks, in Convox's order; None if it is valid."""
    if not isinstance(entry, Mapping):
        return "expected a mapping with registry, username and passwordEnv"
    registry = _text(entry.get("registry"))
    if not registry:
        return "registry is required"
    if "://" in registry:
        return f"registry {cut(registry)} must not include a scheme (write the host alone)"
    if "/" in registry:
        return f"registry {cut(registry)} must not include a path (credentials apply to the whole registry)"
    if registry != registry.lower():
        return f"registry {cut(registry)} must be lowercase"
    if not HOSTNAME.fullmatch(registry):
        return f"registry {cut(registry)} is not a valid hostname[:port]"
    if not _text(entry.get("username")):
        return "username is required"
    has_password, has_env = bool(_text(entry.get("password"))), bool(_text(entry.get("passwordEnv")))
    if has_password and has_env:
        return "password and passwordEnv are mutually exclusive"
    if not (has_password or has_env):
        return "one of password or passwordEnv is required"
    password_env = _text(entry.get("passwordEnv"))
    if has_env and not ENV_NAME.fullmatch(password_env):
        # Never quoted, and masked: a value that is no name is often the secret itself.
        MASKER.register(str(entry["passwordEnv"]), password_env)
        return (
            f"passwordEnv ({len(password_env)} characters, not shown: it may be a secret) must be a valid "
            "environment variable name (letters, digits and underscores, not starting with a digit, "
            "e.g. HARBOR_TOKEN)"
        )
    return None


class Problem(NamedTuple):
    """An error Convox would report, and the line of convox.yml it is about (None: not known)."""

    message: str
    line: int | None = None


def validate(manifest: Manifest) -> tuple[list[Entry], list[Problem]]:
    """The valid entries and Convox's error for each invalid one (`service NAME imagePullSecrets[i]: ...`)."""
    entries: list[Entry] = []
    errors: list[Problem] = []

    def line(*path: str | int) -> int | None:
        node = yamledit.node_at(manifest.document.node, ("services", *path))
        return yamledit.line_of(node) if node is not None else None

    for service, config in manifest.services.items():
        listed = config.get(KEY) if isinstance(config, Mapping) else None
        if listed is None:
            continue
        if not isinstance(listed, list):
            errors.append(
                Problem(f"service {service} {KEY}: expected a list of registry entries", line(service, KEY))
            )
            continue
        seen: dict[str, int] = {}
        for index, item in enumerate(listed):
            problem = check_entry(item)
            if problem:
                errors.append(
                    Problem(f"service {service} {KEY}[{index}]: {problem}", line(service, KEY, index))
                )
                continue
            registry = _text(item["registry"])
            if registry.lower() in seen:
                errors.append(
                    Problem(
                        f"service {service} {KEY}[{index}]: duplicate registry {_go_quote(registry)} "
                        f"(also declared at index {seen[registry.lower()]}); "
                        "each registry may be declared at most once per service",
                        line(service, KEY, index),
                    )
                )
                continue
            seen[registry.lower()] = index
            node = yamledit.node_at(manifest.document.node, ("services", str(service), KEY, index))
            entries.append(
                Entry(
                    str(service),
                    index,
                    registry,
                    _text(item["username"]),
                    _text(item.get("passwordEnv")) or None,
                    yamledit.line_of(node) if node is not None else 0,
                )
            )
    return entries, errors


def missing(manifest: Manifest, entries: Sequence[Entry], servers: Sequence[str]) -> list[Missing]:
    """Services whose `image` comes from one of `servers` but that declare no entry for it."""
    held = set(servers)
    declared = {(e.service, registry_server(e.registry)) for e in entries}
    found = []
    for service, config in manifest.services.items():
        image = config.get("image") if isinstance(config, Mapping) else None
        server = image_server(image)
        if server and server in held and (str(service), server) not in declared:
            found.append(Missing(str(service), str(image), server))
    return found


def registry_server(registry: str) -> str:
    """The server an entry's registry names (Docker Hub's aliases as docker.io)."""
    return DOCKER_HUB if registry.lower() in DOCKER_HUB_ALIASES else registry.lower()


def username(raw: str, env: Mapping[str, str]) -> str | None:
    """The username Convox will use: `${VAR}` substituted from `env` (None if one is unset)."""
    unset = [name for name in _VARIABLE.findall(raw) if name not in env]
    if unset:
        return None
    return _VARIABLE.sub(lambda m: env[m.group(1)], raw)


def password_env_name(server: str) -> str:
    """The default passwordEnv for a server: `NVCR_IO_PASSWORD` (never REGISTRY_*, which holds entries)."""
    name = f"{slug(server)}_PASSWORD"
    return f"REG_{name}" if name[0].isdigit() else name


def default_username(registry: Registry, env: Mapping[str, str]) -> str:
    if registry.username:
        return registry.username
    if registry.type in (RegistryType.ECR, RegistryType.ECR_PUBLIC):
        return "AWS"
    keyless = {
        RegistryType.GCP: "oauth2accesstoken",
        RegistryType.ACR: "00000000-0000-0000-0000-000000000000",
    }
    return keyless.get(registry.type) or env.get("GITHUB_ACTOR") or "x-access-token"


def add_entries(manifest: Manifest, additions: Sequence[tuple[Missing, str, str]]) -> str:
    """convox.yml's text with `{registry, username, passwordEnv}` added for each (missing, user, env name)."""
    style = yamledit.style_of(manifest.document.node, manifest.text)
    edits = []
    for item, user, env_name in additions:
        node = yamledit.node_at(manifest.document.node, ("services", item.service))
        if not isinstance(node, MappingNode):
            raise InputError(f"{manifest.path}: service {item.service} is not a mapping")
        entry = {"registry": item.server, "username": user, "passwordEnv": env_name}
        try:
            edits.append(yamledit.add_to_list(manifest.text, node, KEY, [entry], style))
        except InputError as error:
            raise InputError(
                f"{manifest.path}: service {item.service}: {error.message}", hint=error.hint
            ) from None
    after = yamledit.apply(manifest.text, edits)
    _verify(manifest, after, additions)
    return after


def _verify(manifest: Manifest, after: str, additions: Sequence[tuple[Missing, str, str]]) -> None:
    expected = yamledit.parse(manifest.text, str(manifest.path))[0].data
    for item, user, env_name in additions:
        service = expected["services"][item.service]
        service[KEY] = [
            *(service.get(KEY) or []),
            {"registry": item.server, "username": user, "passwordEnv": env_name},
        ]
    if yamledit.parse(after, str(manifest.path))[0].data != expected:
        raise InputError(
            f"{manifest.path}: the edit did not come out as intended; the file was left as it is",
            hint="this is a bug in private-registries; please report it with the file's layout",
        )


def convox_exports(
    manifest: Manifest, entries: Sequence[Entry], credentials: Sequence[Credential], env: Mapping[str, str]
) -> tuple[dict[str, Secret], list[Problem]]:
    """The passwordEnv values to export (name -> password of the registry we hold), and the problems:
    an unset passwordEnv of a registry we do not hold, a username that is not the one we hold."""
    held = {c.server: c for c in credentials}
    exports: dict[str, Secret] = {}
    problems: list[Problem] = []
    for entry in entries:
        if not entry.password_env:
            continue
        credential = held.get(registry_server(entry.registry))
        if credential is None:
            if not env.get(entry.password_env):
                problems.append(
                    Problem(
                        f"{entry.where}: passwordEnv {entry.password_env} is not set, and {entry.registry} "
                        "is not a registry we hold",
                        entry.line,
                    )
                )
            continue
        user = username(entry.username, env)
        if user is not None and user != credential.username:
            problems.append(
                Problem(
                    f"{entry.where}: username {cut(entry.username)} is not the one held for {entry.registry} "
                    f"({cut(credential.username)}); the pull would be refused",
                    entry.line,
                )
            )
            continue
        previous = exports.get(entry.password_env)
        if previous is not None and previous != credential.password:
            problems.append(
                Problem(
                    f"{entry.where}: passwordEnv {entry.password_env} is used for two registries", entry.line
                )
            )
            continue
        exports[entry.password_env] = credential.password
    return exports, problems


def _text(value: object) -> str:
    if value is None or isinstance(value, bool | Mapping | list):
        return ""
    return str(value).strip()


def _go_quote(value: str) -> str:
    """As Go's %q writes a plain string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
