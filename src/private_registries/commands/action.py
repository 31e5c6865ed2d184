"""`registries action main|post`: the action's stages, as its entrypoint calls them."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries.console import Console


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    if args.stage == "post":
        from private_registries.action import post

        return post.run(env, console)
    from private_registries.action import main

    return main.run(env, console, args.args)
