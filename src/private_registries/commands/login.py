"""`registries login`: check every registry's credential, all at once, and merge the good ones into
docker's config.json."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from private_registries import dockerconfig, fixes, views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.errors import InputError
from private_registries.services.login import LoginOptions, login


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    held = common.registries(args, env, console, with_passwords=True)
    if not held:
        raise InputError("no registries to log in to", hint=fixes.add_registry())
    directory = Path(args.docker_config) if args.docker_config else dockerconfig.default_dir(env)
    with common.keychain(args, env, held) as keychain:
        result = login(LoginOptions(servers=[r.server for r in held], docker_config=directory), keychain)
    if result.logins:
        views.logins(console, result)
    console.warn_all(result.warnings)
    if result.config:
        console.echo(
            f"Login Succeeded: {len(result.logins)} of {len(held)} registries written to {result.config.path}"
        )
    console.failures(result.failures)
    return 1 if result.failures else 0
