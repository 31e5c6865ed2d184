"""`registries inject FILE...`: add imagePullSecrets to the workloads of these manifests, in place."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from private_registries import output
from private_registries.commands import common
from private_registries.deploy import kubernetes
from private_registries.deploy.manifests import inject_files, relative
from private_registries.errors import InputError


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    name = kubernetes.check_name(args.name)
    servers: list[str] = []
    if not args.all:
        servers = [r.server for r in common.registries(args, env, with_passwords=False)]
        if not servers:
            raise InputError(
                "no registries held, so no workload needs the pull secret",
                hint="add one (registries add SERVER USERNAME -), pass --registries FILE, or --all",
            )
    results = inject_files(
        [Path(p) for p in args.files],
        name,
        servers,
        every_workload=args.all,
        service_accounts=args.service_account,
        dry_run=args.dry_run,
    )
    added = 0
    for result in results:
        where = relative(result.path)
        if args.dry_run and result.changed:
            output.echo(result.diff(), end="")
        for change in result.changes:
            verb = {"added": "would add" if args.dry_run else "added", "present": "already has"}.get(
                change.action
            )
            text = f"{verb} {name}" if verb else f"skipped ({change.reason})"
            output.echo(f"{where}: {change.target.title}: {text}")
            added += change.action == "added"
        if result.untouched:
            output.echo(f"{where}: left untouched (no pod template): {', '.join(result.untouched)}")
    if not any(r.changes for r in results):
        output.warn("no pod template in these files: nothing to do")
    files = sum(1 for r in results if r.changed)
    verb = "Would add" if args.dry_run else "Added"
    output.echo(f"{verb} {name} to {added} workloads in {files} files")
    return 0
