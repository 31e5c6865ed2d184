"""`registries login`: resolve every registry, check each credential like `docker login`, all at
once, and merge the good ones into docker's config.json."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from private_registries import dockerconfig, output
from private_registries.auth.client import LoginResult, RegistryClient
from private_registries.commands import common
from private_registries.commands.common import registries
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.errors import Failures, InputError, RegistriesError
from private_registries.hosts import RegistryType
from private_registries.keychain import Context, Outcome, resolve_async

MAX_PARALLEL = 64


@dataclass(frozen=True)
class LoggedIn:
    credential: Credential
    result: LoginResult
    note: str | None = None  # worth telling after the table (Docker Hub's pull quota)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    held = registries(args, env, with_passwords=True)
    if not held:
        raise InputError(
            "no registries to log in to",
            hint="add one: registries add SERVER USERNAME PASSWORD (or pass --registries FILE)",
        )
    directory = Path(args.docker_config) if args.docker_config else dockerconfig.default_dir(env)
    logged_in, failures = login(held, common.context(args, env))
    if logged_in:
        report = dockerconfig.merge(directory, [item.credential for item in logged_in])
        show(logged_in)
        for item in logged_in:
            if item.note:
                output.echo(f"{item.credential.server}: {item.note}")
        for key, helper in report.shadowed.items():
            output.warn(
                f"{report.path}: {helper} wins over auths for {key}, so docker will not use this login; "
                f"use --docker-config with another folder"
            )
        output.echo(f"Login Succeeded: {len(logged_in)} of {len(held)} registries written to {report.path}")
    common.report_all(failures)
    if failures:
        raise Failures(failures)
    return 0


def login(held: Sequence[Registry], context: Context) -> tuple[list[LoggedIn], list[RegistriesError]]:
    """Resolve and check every registry concurrently; the good ones and the failures, in order.

    Each registry's anonymous ping runs while its credential is still being exchanged, and its check
    starts as soon as that credential is there: no registry waits for another.
    """

    def check(registry: Registry, pending: Future[Outcome]) -> LoggedIn | RegistriesError:
        client = RegistryClient(context.transport, registry)
        unreachable: RegistriesError | None = None
        try:
            client.ping()
        except RegistriesError as error:
            unreachable = error
        outcome = pending.result()
        if isinstance(outcome, RegistriesError):
            return outcome  # a missing credential is the first thing to fix
        if unreachable is not None:
            return unreachable
        client.credential = outcome
        try:
            result = client.login()
        except RegistriesError as error:
            return error
        note = None
        if outcome.registry.type == RegistryType.DOCKERHUB:
            from private_registries.registries.dockerhub import pull_quota

            note = pull_quota(client)
        return LoggedIn(outcome, result, note)

    workers = max(1, min(MAX_PARALLEL, len(held)))
    # Two pools: checks wait on resolutions, so they must never take the resolvers' threads.
    with ThreadPoolExecutor(max_workers=4) as resolvers, ThreadPoolExecutor(max_workers=workers) as checkers:
        pending = resolve_async(held, context, resolvers)
        results = list(checkers.map(check, held, pending))
    logged_in = [r for r in results if isinstance(r, LoggedIn)]
    failures = [r for r in results if isinstance(r, RegistriesError)]
    for item in logged_in:
        if item.result.scheme == "none":
            output.warn(f"{item.credential.server}: the registry asks for no credentials; stored them anyway")
    return logged_in, failures


def show(logged_in: Sequence[LoggedIn]) -> None:
    output.table(
        ["SERVER", "USERNAME", "TYPE", "EXPIRES"],
        [
            [
                i.credential.server,
                i.credential.username,
                str(i.credential.registry.type),
                i.credential.expires_text(),
            ]
            for i in logged_in
        ],
    )
