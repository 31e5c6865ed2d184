"""`registries inject FILE...`: add imagePullSecrets to the workloads of these manifests, in place."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from private_registries import views
from private_registries.commands import common
from private_registries.console import Console
from private_registries.deploy import kubernetes
from private_registries.errors import InputError
from private_registries.services.inject import InjectOptions, inject


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    name = kubernetes.check_name(args.name)
    servers: list[str] | None = None
    if not args.all:
        servers = [r.server for r in common.registries(args, env, console, with_passwords=False)]
        if not servers:
            raise InputError(
                "no registries held, so no workload needs the pull secret",
                hint="add one (registries add SERVER USERNAME -), pass --registries FILE, or --all",
            )
    options = InjectOptions(
        files=[Path(p) for p in args.files],
        name=name,
        servers=servers,
        service_accounts=args.service_account,
        kinds=args.kinds,
        dry_run=args.dry_run,
    )
    views.injected(console, inject(options), options, verbose=args.verbose)
    return 0
