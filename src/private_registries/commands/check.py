"""`registries check`: can every base image of the Dockerfile be pulled with what we hold?"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from private_registries.commands import common, images


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    bases = images.base_images(args, env)
    held = common.registries(args, env, with_passwords=True)
    images.preflight(bases, held, common.context(args, env))
    return 0
