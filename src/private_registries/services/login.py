"""Log in: check each registry's credential as `docker login` does, all at once, and merge the good
ones into a docker config.json."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from private_registries import dockerconfig
from private_registries.credential import Credential
from private_registries.dockerconfig import MergeReport
from private_registries.errors import Caveat, ErrorKind, Location, RegistriesError, internal_error
from private_registries.hosts import RegistryType
from private_registries.keychain import Keychain

MAX_PARALLEL = 64


# What to do when config.json's credsStore or credHelpers hides a login, in the command line's terms.
SHADOWED_FIX = "use --docker-config with another folder"


@dataclass(frozen=True, kw_only=True)
class LoginOptions:
    servers: Sequence[str]
    docker_config: Path | None = None  # the folder of the config.json to merge into; None: write nothing
    shadowed_fix: str = SHADOWED_FIX  # the face's own words (the action has no --docker-config)


@dataclass(frozen=True)
class RegistryLogin:
    """One registry's credential, checked: `scheme` is basic, bearer, or none (the registry is open)."""

    credential: Credential
    scheme: str
    expires_at: datetime | None = None
    note: str | None = None  # worth telling after the table (Docker Hub's pull quota)


@dataclass(frozen=True)
class LoginResult:
    logins: tuple[RegistryLogin, ...]
    failures: tuple[RegistriesError, ...]
    config: MergeReport | None = None  # None: nothing was written
    warnings: tuple[Caveat, ...] = ()

    @property
    def credentials(self) -> list[Credential]:
        return [login.credential for login in self.logins]


def login(options: LoginOptions, keychain: Keychain) -> LoginResult:
    """Each registry's anonymous ping runs while its credential is still being exchanged, and its check
    starts as soon as that credential is there: no registry waits for another."""
    servers = list(dict.fromkeys(options.servers))
    keychain.prefetch(servers)
    workers = max(1, min(MAX_PARALLEL, len(servers)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda server: _check(server, keychain), servers))
    logins = tuple(r for r in results if isinstance(r, RegistryLogin))
    failures = tuple(r for r in results if isinstance(r, RegistriesError))
    warnings = [
        Caveat(f"{item.credential.server}: the registry asks for no credentials; stored them anyway")
        for item in logins
        if item.scheme == "none"
    ]
    report = None
    if logins and options.docker_config is not None:
        report = dockerconfig.merge(options.docker_config, [item.credential for item in logins])
        warnings += [
            Caveat(
                f"{report.path}: {helper} wins over auths for {key}, so docker will not use this login; "
                f"{options.shadowed_fix}",
                Location(str(report.path)),
            )
            for key, helper in report.shadowed.items()
        ]
    return LoginResult(logins, failures, report, tuple(warnings))


def _check(server: str, keychain: Keychain) -> RegistryLogin | RegistriesError:
    try:
        return _check_one(server, keychain)
    except Exception as exc:  # a bug met with one registry costs that registry only
        return internal_error(server, exc)


def _check_one(server: str, keychain: Keychain) -> RegistryLogin | RegistriesError:
    client = keychain.client(server)
    unreachable: RegistriesError | None = None
    try:
        client.ping()
    except RegistriesError as error:
        unreachable = error
    outcome = keychain.outcome(server)
    if outcome is None:
        return RegistriesError(f"{server}: no credential held", kind=ErrorKind.NO_CREDENTIAL)
    if isinstance(outcome, RegistriesError):
        return outcome  # a missing credential is the first thing to fix
    if unreachable is not None:
        return unreachable
    try:
        checked = client.login()
    except RegistriesError as error:
        return error
    note = None
    if outcome.registry.type == RegistryType.DOCKERHUB:
        from private_registries.registries.dockerhub import pull_quota

        note = pull_quota(client)
    return RegistryLogin(outcome, checked.scheme, checked.expires_at, note)
