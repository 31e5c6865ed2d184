"""convox.yml's imagePullSecrets: Convox's own validation, the entries a held registry lacks (added with
`write`), and each passwordEnv's value for the deploy step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from private_registries.deploy import convox as convoxyml
from private_registries.deploy import kubernetes, manifests
from private_registries.deploy.convox import Entry, Missing, Problem
from private_registries.errors import Caveat, InputError, Location, RegistriesError
from private_registries.keychain import Keychain
from private_registries.secret import Secret


@dataclass(frozen=True, kw_only=True)
class ConvoxOptions:
    file: Path
    write: bool = False  # add the entries that registries we hold lack (with a passwordEnv each)


@dataclass(frozen=True)
class Added:
    missing: Missing
    username: str
    password_env: str


@dataclass(frozen=True)
class ConvoxResult:
    path: Path
    services: int
    entries: tuple[Entry, ...]
    missing: tuple[Missing, ...] = ()  # left missing (without `write`)
    added: tuple[Added, ...] = ()
    exports: Mapping[str, Secret] = field(default_factory=dict)  # passwordEnv -> the password we hold
    errors: tuple[RegistriesError, ...] = ()  # Convox would refuse these entries
    warnings: tuple[Caveat, ...] = ()

    def registry_of(self, password_env: str) -> str:
        return next(entry.registry for entry in self.entries if entry.password_env == password_env)


def convox(options: ConvoxOptions, keychain: Keychain) -> ConvoxResult:
    path = options.file
    manifest = convoxyml.load(path)
    entries, problems = convoxyml.validate(manifest)
    if problems:
        return ConvoxResult(path, len(manifest.services), tuple(entries), errors=_errors(path, problems))
    held = keychain.held
    missing = convoxyml.missing(manifest, entries, [registry.server for registry in held])
    added: list[Added] = []
    if missing and options.write:
        by_server = {registry.server: registry for registry in held}
        env = keychain.context.env
        added = [
            Added(
                item,
                convoxyml.default_username(by_server[item.server], env),
                convoxyml.password_env_name(item.server),
            )
            for item in missing
        ]
        additions = [(a.missing, a.username, a.password_env) for a in added]
        manifests.write(path, convoxyml.add_entries(manifest, additions))
        manifest = convoxyml.load(path)
        entries, problems = convoxyml.validate(manifest)
        missing = []
        if problems:
            return ConvoxResult(path, len(manifest.services), tuple(entries), errors=_errors(path, problems))
    held_servers = {registry.server for registry in held}
    referenced = [convoxyml.registry_server(e.registry) for e in entries if e.password_env]
    credentials, failures = keychain.credentials(s for s in referenced if s in held_servers)
    exports, problems = convoxyml.convox_exports(manifest, entries, credentials, keychain.context.env)
    warnings = [
        Caveat(
            f"{path}: service {item.service}: image {item.image} comes from {item.server}, which we "
            "hold, but no imagePullSecrets entry names it; add one with: registries convox --write",
            Location(str(path)),
        )
        for item in missing
    ]
    warnings += [Caveat(w) for w in kubernetes.expiry_warnings(credentials, runtime="convox")]
    return ConvoxResult(
        path,
        len(manifest.services),
        tuple(entries),
        tuple(missing),
        tuple(added),
        exports,
        (*failures, *_errors(path, problems)),
        tuple(warnings),
    )


def _errors(path: Path, problems: list[Problem]) -> tuple[RegistriesError, ...]:
    return tuple(
        InputError(f"{path}: {message}", where=Location(str(path), line)) for message, line in problems
    )
