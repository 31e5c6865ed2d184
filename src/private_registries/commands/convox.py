"""`registries convox [FILE]`: check convox.yml's imagePullSecrets as Convox will, offer the entries a
held registry lacks (`--write`), and hand the deploy step each passwordEnv value (masked)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from private_registries import gha, views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.services.convox import ConvoxOptions, convox

DEFAULT_FILE = "convox.yml"


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    options = ConvoxOptions(file=Path(args.file or DEFAULT_FILE), write=args.write)
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        result = convox(options, keychain)
    if result.exports and console.ci:
        gha.export_env(env, result.exports)
    views.convox(console, result, exported=console.ci)
    return 1 if result.errors else 0
