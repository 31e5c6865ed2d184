"""What the commands share: turning the command line into a store, registries, a keychain and options."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from private_registries.config import Registry, merge
from private_registries.console import Console
from private_registries.errors import InputError, UsageError
from private_registries.store import Store, open_store
from private_registries.store.options import StoreOptions

if TYPE_CHECKING:  # HTTP and Dockerfile parsing load only for the commands that use them
    from private_registries.context import Context
    from private_registries.dockerfile import DockerfileOptions
    from private_registries.keychain import Keychain


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


def registries(
    args: argparse.Namespace, env: Mapping[str, str], console: Console, *, with_passwords: bool
) -> list[Registry]:
    """The store's registries merged with `--registries FILE`s (later wins, by server). In a run
    without secrets (a fork's pull request, Dependabot's), an entry whose password-env is not set is left out,
    with a notice."""
    held = store(args, env)
    sources: list[list[Registry]] = []
    # A GitHub store cannot give passwords back; with files alone there is nothing to ask it.
    if not (with_passwords and bool(args.repo or args.org) and args.registries):
        sources.append(held.credentials() if with_passwords else held.entries())
        console.warn_all(held.caveats)
    if args.registries:
        from private_registries.config import Withheld
        from private_registries.sources import from_file  # YAML: only when a file is given

        withheld: list[Withheld] = []
        sources += [from_file(Path(path), env, withheld=withheld) for path in args.registries]
        for left_out in withheld:
            console.notice(left_out.message)
    return merge(*sources)


def keychain(args: argparse.Namespace, env: Mapping[str, str], held: Sequence[Registry]) -> Keychain:
    """The held registries, with the command's context (see `context`)."""
    from private_registries.keychain import Keychain

    return Keychain(held, context(args, env))


def context(args: argparse.Namespace, env: Mapping[str, str]) -> Context:
    """HTTP, the job's GitHub token, and the command line's ECR and keyless defaults."""
    from private_registries import gha
    from private_registries.context import Context, github_token_from
    from private_registries.transport import Transport, TransportOptions

    return Context(
        env=env,
        transport=Transport(TransportOptions.from_env(env)),
        github_token=github_token_from(env),
        aws_role_to_assume=getattr(args, "aws_role_to_assume", None),
        aws_region=getattr(args, "aws_region", None),
        fork_pull_request=gha.is_fork_pull_request(env),
        **identity_defaults(args),
    )


def identity_defaults(args: argparse.Namespace) -> dict[str, str | None]:
    """The keyless clouds' defaults on the command line, each validated as an entry's field is."""
    from private_registries.config import check_identity_defaults

    found = {
        name: getattr(args, name, None) or None
        for name in (
            "gcp_workload_identity_provider",
            "gcp_service_account",
            "azure_client_id",
            "azure_tenant_id",
        )
    }
    check_identity_defaults(found, "--")
    return found


def build_args(
    pairs: Sequence[str] | None, env: Mapping[str, str], option: str = "--build-arg"
) -> dict[str, str]:
    """`K=V` pairs; a bare `K` takes its value from the environment, as docker does."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not name:
            raise InputError(f"{option} {pair!r}: expected NAME=VALUE")
        if not eq:
            if name not in env:
                raise InputError(f"{option} {name}: no value given and {name} is not set in the environment")
            value = env[name]
        values[name] = value
    return values


def dockerfile_options(args: argparse.Namespace, env: Mapping[str, str]) -> DockerfileOptions:
    from private_registries.dockerfile import DockerfileOptions

    return DockerfileOptions(
        context=Path(args.context or "."),
        file=Path(args.file) if args.file else None,
        build_args=build_args(args.build_arg, env),
        platform=getattr(args, "platform", None),
        target=args.target,
        all_stages=getattr(args, "all_stages", False),
        build_contexts=build_args(getattr(args, "build_context", None), env, "--build-context"),
    )
