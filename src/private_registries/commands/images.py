"""`registries images`: the images a build pulls, read from its Dockerfile (no network, but for a Git
context's Dockerfile, read through the GitHub API)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries.commands import common
from private_registries.console import Console
from private_registries.dockerfile import DockerfileOptions
from private_registries.gitcontext import RemoteContext, remote_context
from private_registries.services.images import DockerfileImages, images


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = common.dockerfile_options(args, env)
    remote = remote_context(args.context or "", env)
    found = images(options) if remote is None else _remote(options, remote, env)
    if args.json:
        console.json([{"image": str(b.image), "instruction": b.source, "line": b.line} for b in found.images])
    else:
        console.table(
            ["IMAGE", "INSTRUCTION", "LINE"], [[str(b.image), b.source, str(b.line)] for b in found.images]
        )
    return 0


def _remote(options: DockerfileOptions, remote: RemoteContext, env: Mapping[str, str]) -> DockerfileImages:
    from private_registries.context import Context, github_token_from
    from private_registries.services.images import read_remote_images
    from private_registries.transport import Transport, TransportOptions

    context = Context(
        env=env, transport=Transport(TransportOptions.from_env(env)), github_token=github_token_from(env)
    )
    return read_remote_images(options, remote, context)
