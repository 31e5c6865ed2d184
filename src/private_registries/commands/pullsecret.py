"""`registries pull-secret`: the Kubernetes pull Secret of the registries we hold (or of those the
images of some manifests need), its refresher for ECR, and — inside the cluster — its renewal."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from private_registries import gha, output
from private_registries.commands import common
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.deploy import kubernetes, manifests, refresher
from private_registries.errors import InputError
from private_registries.fsutil import atomic_write
from private_registries.images import servers_of

# In a workflow, masks are announced on stderr while the Secret goes to stdout: the runner reads the
# two streams separately, so the data waits this long for the masks to be taken first.
MASK_SETTLE_SECONDS = 0.2


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    name = kubernetes.check_name(args.name)
    namespace = kubernetes.check_namespace(args.namespace) if args.namespace else None
    in_actions = output.in_github_actions()
    to_stdout = not args.output and not args.apply
    if in_actions:
        gha.announce_secrets("stderr" if to_stdout else "stdout")
    held = selected(args, env)
    if args.refresher:
        documents = refresher.manifests(
            held,
            name,
            namespace,
            image=args.image or refresher.default_image(env),
            schedule=args.schedule,
            irsa_role_arn=args.irsa_role_arn,
        )
        emit(args, kubernetes.render_all(documents, args.format), private=False)
        output.warn(refresher.identity_hint(name, namespace, args.irsa_role_arn))
        return 0
    credentials = usable(common.credentials(held, common.context(args, env)))
    if args.apply:
        return apply(args, env, credentials, name, namespace)
    secret = kubernetes.build_secret(credentials, name, namespace)
    text = kubernetes.render(secret, args.format)
    if in_actions and to_stdout:
        time.sleep(MASK_SETTLE_SECONDS)
    emit(args, text, private=True)
    for warning in kubernetes.expiry_warnings(credentials):
        output.warn(warning)
    servers = ", ".join(c.server for c in credentials)
    where = f" to {args.output}" if args.output else ""
    output.echo(f"Secret {name}: {len(credentials)} registries ({servers}){where}", file=sys.stderr)
    return 0


def selected(args: argparse.Namespace, env: Mapping[str, str]) -> list[Registry]:
    """The registries held, or only those the images of `--for` manifests come from."""
    held = common.registries(args, env, with_passwords=not args.refresher)
    if not held:
        raise InputError(
            "no registries for the pull secret",
            hint="add one: registries add SERVER USERNAME - (or pass --registries FILE)",
        )
    if not args.for_files:
        return held
    paths = [Path(p) for p in args.for_files]
    needed = servers_of(manifests.held_images(paths))
    chosen = [r for r in held if r.server in needed]
    if not chosen:
        files = ", ".join(str(p) for p in paths)
        raise InputError(
            f"no image in {files} comes from a registry we hold",
            hint=f"their images come from: {', '.join(needed) or 'nowhere (no pod templates)'}; "
            f"we hold: {', '.join(r.server for r in held)}",
        )
    return chosen


def usable(credentials: list[Credential]) -> list[Credential]:
    good, bad = kubernetes.usable(credentials)
    for credential in bad:
        output.warn(
            f"{credential.server}: left out: it holds an identity (refresh) token, which the kubelet "
            "cannot use; store a username and password (or an access token) for runtime pulls"
        )
    if not good:
        raise InputError(
            "no credential the kubelet can use", hint="store a username and password for a registry"
        )
    return good


def emit(args: argparse.Namespace, text: str, *, private: bool) -> None:
    """To `-o FILE` (0600, atomic), or to stdout, unmasked: the Secret is what the user asked for."""
    if args.output:
        path = Path(args.output)
        try:
            atomic_write(path, text.encode(), mode=0o600 if private else 0o644)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror}") from None
        return
    sys.stdout.write(text)  # not output.echo: the masker would blank the Secret's own data
    sys.stdout.flush()


def apply(
    args: argparse.Namespace,
    env: Mapping[str, str],
    credentials: list[Credential],
    name: str,
    namespace: str | None,
) -> int:
    """Inside the cluster (the refresher's CronJob): renew the Secret through the Kubernetes API."""
    from private_registries.deploy.cluster import InCluster, renew

    cluster = InCluster.from_env(env, Path(args.service_account_dir))
    renewed = renew(cluster, credentials, name, namespace)
    verb = "Created" if renewed.created else "Renewed"
    ends = kubernetes.expiry_annotations(credentials).get(kubernetes.EXPIRES_AT, "never")
    output.echo(
        f"{verb} Secret {renewed.namespace}/{renewed.name}: {', '.join(renewed.servers)} "
        f"(until {ends}); kept {len(renewed.kept)} other registries"
    )
    return 0
