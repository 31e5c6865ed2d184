"""`registries images`: the images a build pulls, read from its Dockerfile (no network, but for a Git
context's Dockerfile, read through the GitHub API)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries.commands import common
from private_registries.console import Console
from private_registries.gitcontext import remote_context
from private_registries.services.images import images, read_remote_images


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = common.dockerfile_options(args, env)
    remote = remote_context(args.context or "", env)
    if remote is None:
        found = images(options)
    else:
        found = read_remote_images(options, remote, common.context(args, env))
    if args.json:
        console.json([{"image": str(b.image), "instruction": b.source, "line": b.line} for b in found.images])
    else:
        console.table(
            ["IMAGE", "INSTRUCTION", "LINE"], [[str(b.image), b.source, str(b.line)] for b in found.images]
        )
    return 0
