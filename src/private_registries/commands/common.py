"""What several commands share: which store, which extra files, the environment."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from private_registries import output
from private_registries.config import Registry, merge
from private_registries.errors import Failures, RegistriesError, UsageError
from private_registries.store import Store, StoreOptions, open_store

if TYPE_CHECKING:
    from private_registries.credential import Credential
    from private_registries.keychain import Context


def store_options(args: argparse.Namespace) -> StoreOptions:
    repo, environment, org = args.repo, args.environment, args.org
    if repo and org:
        raise UsageError("--repo and --org name different stores: give one")
    if environment and not repo:
        raise UsageError("--env needs --repo: environments belong to a repository")
    if repo and (repo.count("/") != 1 or not all(repo.split("/"))):
        raise UsageError(f"--repo {repo!r}: expected OWNER/NAME")
    return StoreOptions(repo=repo, environment=environment, org=org, path=args.store)


def store(args: argparse.Namespace, env: Mapping[str, str]) -> Store:
    return open_store(store_options(args), env)


def registries(args: argparse.Namespace, env: Mapping[str, str], *, with_passwords: bool) -> list[Registry]:
    """The store's registries merged with `--registries FILE`s (later wins, by server)."""
    held = store(args, env)
    sources: list[list[Registry]] = []
    # A GitHub store cannot give passwords back; with files alone there is nothing to ask it.
    if not (with_passwords and held_is_github(args) and args.registries):
        sources.append(held.credentials() if with_passwords else held.entries())
    if args.registries:
        from private_registries.sources import from_file  # YAML: only when a file is given

        sources += [from_file(Path(path), env) for path in args.registries]
    return merge(*sources)


def held_is_github(args: argparse.Namespace) -> bool:
    return bool(args.repo or args.org)


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """`Title... OK`, as `convox registries` prints it; `FAILED` (then the error) if it raises."""
    output.echo(f"{title}... ", end="")
    try:
        yield
    except BaseException:
        output.echo("FAILED")
        raise
    output.echo("OK")


def context(args: argparse.Namespace, env: Mapping[str, str]) -> Context:
    """What resolving credentials needs: HTTP, and the ECR defaults of the command line."""
    from private_registries.keychain import Context
    from private_registries.transport import Transport, TransportOptions

    return Context(
        env=env,
        transport=Transport(TransportOptions.from_env(env)),
        aws_role_to_assume=getattr(args, "aws_role_to_assume", None),
        aws_region=getattr(args, "aws_region", None),
    )


def credentials(held: list[Registry], ctx: Context) -> list[Credential]:
    """Every registry's credential (tokens exchanged); each failure is reported, then all raised."""
    from private_registries.keychain import resolve_all

    outcomes = resolve_all(held, ctx)
    failures = [outcome for outcome in outcomes if isinstance(outcome, RegistriesError)]
    report_all(failures)
    if failures:
        raise Failures(failures)
    return [outcome for outcome in outcomes if not isinstance(outcome, RegistriesError)]


def report_all(failures: list[RegistriesError]) -> None:
    for failure in dict.fromkeys(failures):  # one AWS error may stand for several registries
        output.report(failure)
