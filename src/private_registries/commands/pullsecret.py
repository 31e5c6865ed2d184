"""`registries pull-secret`: the Kubernetes pull Secret of the registries we hold (or of those the
images of some manifests need), its refresher for ECR, and — inside the cluster — its renewal."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from pathlib import Path

from private_registries import fixes
from private_registries.commands import common
from private_registries.console import Console
from private_registries.credential import Credential
from private_registries.deploy import kubernetes, refresher
from private_registries.errors import Failures, InputError
from private_registries.fsutil import atomic_write
from private_registries.services.pull_secret import PullSecretOptions, pull_secret, registries_for

# In a workflow, masks are announced on stderr while the Secret goes to stdout: the runner reads the
# two streams separately, so the data waits this long for the masks to be taken first.
MASK_SETTLE_SECONDS = 0.2


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    name = kubernetes.check_name(args.name)
    namespace = kubernetes.check_namespace(args.namespace) if args.namespace else None
    to_stdout = not args.output and not args.apply
    console.announce_masks(on_stderr=to_stdout)
    held = common.registries(args, env, console, with_passwords=not args.refresher)
    if not held:
        raise InputError("no registries for the pull secret", hint=fixes.add_registry(stdin=True))
    if args.for_files:
        held = registries_for(held, [Path(p) for p in args.for_files], kinds=args.kinds)
    if args.refresher:
        documents = refresher.manifests(
            held,
            name,
            namespace,
            image=args.image or refresher.default_image(env),
            schedule=args.schedule,
            irsa_role_arn=args.irsa_role_arn,
        )
        text = kubernetes.render_all(documents, args.format)
        if args.output:
            _write(Path(args.output), text)
        else:
            console.data(text)
        console.warn(refresher.identity_hint(name, namespace, args.irsa_role_arn))
        return 0
    with common.keychain(args, env, held) as keychain:
        credentials, failures = keychain.credentials(r.server for r in held)
    if failures:
        raise Failures(failures)
    output = Path(args.output) if args.output else None
    options = PullSecretOptions(name=name, namespace=namespace, format=args.format, output=output)
    result = pull_secret(options, credentials)
    if result.secret is None:
        console.warn_all(result.warnings)
        raise InputError(
            "no credential the kubelet can use", hint="store a username and password for a registry"
        )
    if args.apply:
        console.warn_all(result.warnings)
        return apply(args, env, console, list(result.credentials), name=name, namespace=namespace)
    if to_stdout:
        if console.ci:
            time.sleep(MASK_SETTLE_SECONDS)
        console.data(result.text)  # unmasked: the Secret is what the user asked for
    console.warn_all(result.warnings)
    servers = ", ".join(c.server for c in result.credentials)
    where = f" to {args.output}" if args.output else ""
    console.echo(f"Secret {name}: {len(result.credentials)} registries ({servers}){where}", err=True)
    return 0


def _write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text.encode(), mode=0o644)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


def apply(
    args: argparse.Namespace,
    env: Mapping[str, str],
    console: Console,
    credentials: list[Credential],
    *,
    name: str,
    namespace: str | None,
) -> int:
    """Inside the cluster (the refresher's CronJob): renew the Secret through the Kubernetes API."""
    from private_registries.deploy.cluster import InCluster, renew

    cluster = InCluster.from_env(env, Path(args.service_account_dir))
    renewed = renew(cluster, credentials, name, namespace)
    verb = "Created" if renewed.created else "Renewed"
    ends = kubernetes.expiry_annotations(credentials).get(kubernetes.EXPIRES_AT, "never")
    console.echo(
        f"{verb} Secret {renewed.namespace}/{renewed.name}: {', '.join(renewed.servers)} "
        f"(until {ends}); kept {len(renewed.kept)} other registries"
    )
    return 0
