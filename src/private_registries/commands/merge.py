"""`registries merge -t TAG... SOURCE...`: the multi-platform index of images pushed by digest."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries import views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.services.merge import MergeOptions, merge, sources_of


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = MergeOptions(tags=args.tag, sources=args.sources)
    sources_of(options)  # refused before any registry is asked
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        result = merge(options, keychain, views.BuildLog(console))
    console.echo(f"Merged {len(result.sources)} images into {result.digest}")
    for tag, digest in result.pushed.items():
        console.echo(f"Pushed {tag}@{digest}")
    return 0
