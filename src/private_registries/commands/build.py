"""`registries build`: pre-flight, then an authenticated build (BuildKit by default) and push."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from private_registries import builders, views
from private_registries.builders import BuildSpec, Engine
from private_registries.commands import common
from private_registries.console import Console
from private_registries.errors import InputError
from private_registries.fsutil import atomic_write

if TYPE_CHECKING:
    from private_registries.services.build import BuildResult


def run(args: argparse.Namespace, env: Mapping[str, str], console: Console) -> int:
    if args.engine != Engine.CLASSIC:
        builders.ask_early(env)  # its answer comes while the pre-flight's HTTP stack loads
    from private_registries import gitcontext
    from private_registries.services.build import BuildOptions, build

    spec = BuildSpec(
        tags=args.tag,
        labels=common.build_args(args.label, env, "--label"),
        platforms=[p.strip() for value in args.platforms for p in value.split(",") if p.strip()],
        pull=args.pull,
        no_cache=args.no_cache,
        push=args.push,
        load=args.load,
        cache_from=args.cache_from,
        cache_to=args.cache_to,
        secrets=args.secret,
        ssh=args.ssh,
        build_contexts=common.build_args(args.build_context, env, "--build-context"),
        outputs=args.output,
        provenance=args.provenance,
        sbom=args.sbom,
        annotations=args.annotation,
        network=args.network,
        builder=args.builder,
        add_hosts=args.add_host,
        allow=args.allow,
        attests=args.attest,
        call=args.call,
        cgroup_parent=args.cgroup_parent,
        no_cache_filters=args.no_cache_filter,
        shm_size=args.shm_size,
        ulimits=args.ulimit,
        push_by_digest=args.push_by_digest,
        extra_args=args.extra_args,
    )
    options = BuildOptions(
        dockerfile=common.dockerfile_options(args, env),
        spec=spec,
        engine=Engine(args.engine),
        check=not args.no_check,
        remote=gitcontext.remote_context(args.context or "", env),
    )
    held = common.registries(args, env, console, with_passwords=True)
    with common.keychain(args, env, held) as keychain:
        result = build(options, keychain, views.BuildLog(console))
    summarize(result, env, console)
    if result.failures:
        console.failures(result.failures)
        return 1
    if args.metadata_file:
        try:
            atomic_write(Path(args.metadata_file), json.dumps(result.metadata, indent=2).encode(), mode=0o644)
        except OSError as exc:
            raise InputError(f"cannot write {args.metadata_file}: {exc.strerror}") from None
    if spec.evaluates:
        console.echo(f"Evaluated (call {spec.call})")
    elif result.image_id:
        named = [f"{spec.digest_repository}, by digest"] if spec.push_by_digest else result.tags
        console.echo(f"Built {result.image_id}" + (f" ({', '.join(named)})" if named else ""))
    else:  # files only (a local or tar output): no image
        console.echo(f"Built, no image ID (output {', '.join(spec.outputs)})")
    for tag, digest in result.pushed.items():
        console.echo(f"Pushed {tag}@{digest}")
    return 0


def summarize(result: BuildResult, env: Mapping[str, str], console: Console) -> None:
    """In a workflow, the build's part of the step summary, as the action writes it: what was built,
    or the failing step and the log's tail (none with DOCKER_BUILD_SUMMARY=false)."""
    if not console.ci:
        return
    from private_registries.action import summary

    wanted, warning = summary.build_summary_wanted(env)
    if warning:
        console.warn(warning)
    if wanted and result.ran:
        console.summary(summary.build(result, heading="###"))
