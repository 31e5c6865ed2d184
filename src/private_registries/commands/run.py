"""`registries exec -- CMD ARGS...`: run CMD with the held credentials; its exit status is CMD's."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries import fixes
from private_registries.commands import common
from private_registries.console import Console
from private_registries.errors import InputError
from private_registries.services.run import RunOptions, run_command


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    held = common.registries(args, env, console, with_passwords=True)
    if not held:
        raise InputError("no registries to hand the command", hint=fixes.add_registry())
    with common.keychain(args, env, held) as keychain:
        credentials, failures = keychain.credentials(registry.server for registry in held)
    console.failures(failures)  # the others are still handed on: one registry's failure costs no other
    return run_command(RunOptions(argv=args.argv, env=env), credentials)
