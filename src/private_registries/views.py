"""How the faces show the services' results: the tables and lines both the CLI and the action print."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from private_registries.console import Console

if TYPE_CHECKING:  # each face imports only the services it runs
    from private_registries.credential import Credential
    from private_registries.deploy.manifests import FileResult
    from private_registries.services.check import CheckResult
    from private_registries.services.convox import ConvoxResult
    from private_registries.services.inject import InjectOptions, InjectResult
    from private_registries.services.login import LoginResult


def logins(console: Console, result: LoginResult) -> None:
    """SERVER USERNAME TYPE EXPIRES of each good login, then what is worth telling about them."""
    console.table(
        ["SERVER", "USERNAME", "TYPE", "EXPIRES"],
        [
            [
                item.credential.server,
                item.credential.username,
                str(item.credential.registry.type),
                item.credential.expires_text(),
            ]
            for item in result.logins
        ],
    )
    for item in result.logins:
        if item.note:  # Docker Hub's pull quota
            console.echo(f"{item.credential.server}: {item.note}")


def checks(console: Console, result: CheckResult) -> None:
    console.table(
        ["IMAGE", "REGISTRY", "RESULT", "DIGEST"],
        [[str(c.base.image), c.base.image.server, c.result, c.digest or ""] for c in result.checks],
    )


class BuildLog:
    """A build's progress on the console: the pre-flight's table, then each part of the daemon's log
    in a group of its own, unable to issue workflow commands."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def checked(self, result: CheckResult) -> None:
        checks(self.console, result)

    def notice(self, text: str) -> None:
        self.console.notice(text)

    @contextlib.contextmanager
    def section(self, title: str) -> Iterator[None]:
        with self.console.group(title), self.console.untrusted():
            yield

    def line(self, text: str) -> None:
        self.console.echo(text)


def registries_json(credentials: Sequence[Credential]) -> list[dict[str, str]]:
    """The registries in a form to hand on (no secrets): the action's `registries` output."""
    return [
        {
            "server": c.server,
            "username": c.username,
            "type": str(c.registry.type),
            "expires-at": c.expires_at.isoformat() if c.expires_at else (c.lifetime or ""),
        }
        for c in credentials
    ]


def injected(
    console: Console, result: InjectResult, options: InjectOptions, *, verbose: bool = False
) -> None:
    """Each workload changed (the diff too, on a dry run), a count of what was left untouched (each of
    them, and why, with `verbose`), then the total."""
    from private_registries.deploy.manifests import relative

    for file in result.files:
        where = relative(file.path)
        if options.dry_run and file.changed:
            console.echo(file.diff(), end="")
        for change in file.changes if verbose else file.added:
            verb = {"added": "would add" if options.dry_run else "added", "present": "already has"}.get(
                change.action
            )
            text = f"{verb} {options.name}" if verb else f"skipped ({change.reason})"
            at = f" at {change.target.where}" if verbose and change.action == "added" else ""
            console.echo(f"{where}: {change.target.title}: {text}{at}")
        if verbose:
            for item in file.left_alone:
                console.echo(f"{where}: {item.title}: left untouched ({item.reason})")
        elif file.kept or file.left_alone:
            console.echo(f"{where}: left untouched: {_untouched(file)} (--verbose lists them)")
    console.warn_all(result.warnings)
    verb = "Would add" if options.dry_run else "Added"
    console.echo(f"{verb} {options.name} to {result.added} workloads in {len(result.changed_files)} files")


def _untouched(file: FileResult) -> str:
    """`2 workloads that pull from no registry we hold, 50 objects with no pod template, ...`"""
    custom = len(file.custom_left_alone)
    counts = [
        (
            sum(c.action == "present" for c in file.kept),
            "workload that has it already",
            "workloads that have it already",
        ),
        (
            sum(c.action == "skipped" for c in file.kept),
            "workload that pulls from no registry we hold",
            "workloads that pull from no registry we hold",
        ),
        (len(file.left_alone) - custom, "object with no pod template", "objects with no pod template"),
        (custom, "custom resource", "custom resources"),
    ]
    return ", ".join(f"{count} {one if count == 1 else many}" for count, one, many in counts if count)


def convox(console: Console, result: ConvoxResult, *, exported: bool) -> None:
    """What was added, the warnings, what each exported passwordEnv is for, the failures, the count."""
    for item in result.added:
        service, server = item.missing.service, item.missing.server
        console.echo(
            f"{result.path}: service {service}: added imagePullSecrets for {server} "
            f"(username {item.username}, passwordEnv {item.password_env})"
        )
    console.warn_all(result.warnings)
    how = "exported to the next steps" if exported else "to export in a workflow"
    for env_name in result.exports:
        console.echo(f"{env_name}: the password for {result.registry_of(env_name)} ({how})")
    console.failures(result.errors)
    if not result.errors:
        console.echo(
            f"{result.path}: {result.services} services, {len(result.entries)} imagePullSecrets entries valid"
            + (f", {len(result.missing)} missing" if result.missing else "")
        )
