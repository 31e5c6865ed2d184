"""`registries add | remove | list`: the store, as `convox registries` shows it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from private_registries.commands.common import registries, store
from private_registries.config import make_registry
from private_registries.console import Console
from private_registries.errors import InputError
from private_registries.hosts import parse_server

# Told once, on stderr (stdout stays `Adding registry... OK`), when the password is an argument.
PASSWORD_ON_COMMAND_LINE = (
    "the password was given on the command line, where other users see it (ps) and the shell's "
    "history keeps it; give - instead and pipe it in: "
    'printf %s "$TOKEN" | registries add SERVER USERNAME -'
)


def add(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    password = args.password
    if password == "-":
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError(
                "no password on standard input", hint='pipe it in: printf %s "$TOKEN" | registries add ...'
            )
    registry = make_registry(
        args.server,
        args.username,
        password,
        where="registries add",
        type=args.type,
        aws_region=args.aws_region,
        aws_account=args.aws_account,
        aws_role_to_assume=args.aws_role_to_assume,
        insecure=args.insecure,
    )
    if args.password != "-":
        console.warn(PASSWORD_ON_COMMAND_LINE, err=True)
    target = store(args, env)
    with console.step("Adding registry"):
        target.add(registry)
    console.warn_all(target.caveats)
    return 0


def remove(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    server = parse_server(args.server, "registries remove")
    target = store(args, env)
    with console.step("Removing registry"):
        target.remove(server)
    console.warn_all(target.caveats)
    return 0


def list_(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    held = registries(args, env, console, with_passwords=False)
    if args.json:
        console.json([registry.public() for registry in held])
    else:
        console.table(["SERVER", "USERNAME"], [[r.server, r.username or ""] for r in held])
    return 0
