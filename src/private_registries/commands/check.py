"""`registries check`: can every base image of the Dockerfile be pulled with what we hold?"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries import views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.gitcontext import remote_context
from private_registries.services.check import check, check_images


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = common.dockerfile_options(args, env)
    remote = remote_context(args.context or "", env)  # a Git URL: its Dockerfile from the GitHub API
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        if remote is None:
            result = check(options, keychain)
        else:
            from private_registries.services.images import read_remote_images

            result = check_images(read_remote_images(options, remote, keychain.context), keychain)
    views.checks(console, result)
    console.failures(result.failures)
    return 0 if result.ok else 1
