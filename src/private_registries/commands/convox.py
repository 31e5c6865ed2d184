"""`registries convox [FILE]`: check convox.yml's imagePullSecrets as Convox will, offer the entries a
held registry lacks (`--write`), and hand the deploy step each passwordEnv value (masked)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from private_registries import gha, output
from private_registries.commands import common
from private_registries.deploy import convox, kubernetes, manifests
from private_registries.errors import Failures, RegistriesError

DEFAULT_FILE = "convox.yml"


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    path = Path(args.file or DEFAULT_FILE)
    manifest = convox.load(path)
    entries, errors = convox.validate(manifest)
    fail([f"{path}: {e}" for e in errors])
    held = common.registries(args, env, with_passwords=True)
    missing = convox.missing(manifest, entries, [r.server for r in held])
    if missing and args.write:
        by_server = {r.server: r for r in held}
        additions = [
            (m, convox.default_username(by_server[m.server], env), convox.password_env_name(m.server))
            for m in missing
        ]
        manifests.write(path, convox.add_entries(manifest, additions))
        for item, user, env_name in additions:
            output.echo(
                f"{path}: service {item.service}: added imagePullSecrets for {item.server} "
                f"(username {user}, passwordEnv {env_name})"
            )
        manifest = convox.load(path)
        entries, errors = convox.validate(manifest)
        fail([f"{path}: {e}" for e in errors])
    else:
        for item in missing:
            output.warn(
                f"{path}: service {item.service}: image {item.image} comes from {item.server}, which we "
                "hold, but no imagePullSecrets entry names it; add one with: registries convox --write"
            )
    referenced = {convox.registry_server(e.registry) for e in entries if e.password_env}
    needed = [r for r in held if r.server in referenced]
    credentials = common.credentials(needed, common.context(args, env)) if needed else []
    exports, problems = convox.convox_exports(manifest, entries, credentials, env)
    fail([f"{path}: {p}" for p in problems])
    for warning in kubernetes.expiry_warnings(credentials, runtime="convox"):
        output.warn(warning)
    if exports and output.in_github_actions():
        gha.export_env(env, exports)
    by_env = {e.password_env: e.registry for e in entries if e.password_env in exports}
    for env_name in exports:
        how = "exported to the next steps" if output.in_github_actions() else "to export in a workflow"
        output.echo(f"{env_name}: the password for {by_env[env_name]} ({how})")
    output.echo(
        f"{path}: {len(manifest.services)} services, {len(entries)} imagePullSecrets entries valid"
        + (f", {len(missing)} missing" if missing and not args.write else "")
    )
    return 0


def fail(messages: list[str]) -> None:
    if not messages:
        return
    for message in messages:
        output.error(message)
    raise Failures([RegistriesError(m) for m in messages])
