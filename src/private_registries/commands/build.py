"""`registries build`: pre-flight, then an authenticated build (and push)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries import views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.services.build import BuildOptions, build


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = BuildOptions(
        dockerfile=common.dockerfile_options(args, env),
        tags=args.tag or [],
        labels=common.build_args(args.label, env, "--label"),
        target=args.target,
        pull=args.pull,
        no_cache=args.no_cache,
        push=args.push,
        check=not args.no_check,
    )
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        result = build(options, keychain, views.BuildLog(console))
    if result.failures:
        console.failures(result.failures)
        return 1
    console.echo(f"Built {result.image_id}" + (f" ({', '.join(result.tags)})" if result.tags else ""))
    for tag, digest in result.pushed.items():
        console.echo(f"Pushed {tag}@{digest}")
    return 0
