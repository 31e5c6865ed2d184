"""`registries merge -t TAG... SOURCE...`: the multi-platform index of images pushed by digest."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries import views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.services.merge import MergeOptions, merge, merge_annotations, sources_of


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = MergeOptions(tags=args.tag, sources=args.sources, annotations=args.annotation)
    sources_of(options)  # refused before any registry is asked
    merge_annotations(options.annotations)
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        result = merge(options, keychain, views.BuildLog(console))
    console.echo(f"Merged {len(result.sources)} images into {result.digest}")
    for tag, digest in result.pushed.items():
        console.echo(f"Pushed {tag}@{digest}")
    if console.ci:  # in a workflow, the merge's part of the step summary, as the action writes it
        from private_registries.action import summary

        console.summary(summary.merge(result, heading="###"))
    return 0
