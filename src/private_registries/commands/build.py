"""`registries build`: pre-flight, then an authenticated build (and push) through the Docker SDK."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from private_registries import output
from private_registries.build import BuildOptions, build, connect, push
from private_registries.commands import common, images
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.dockerfile import BaseImage
from private_registries.errors import InputError
from private_registries.images import parse_image
from private_registries.keychain import Context, automatic
from private_registries.secret import MASKER


@dataclass
class Built:
    """What a build made, for the action's outputs and step summary."""

    image_id: str
    tags: list[str]
    pushed: dict[str, str] = field(default_factory=dict)  # tag -> digest
    base_images: dict[str, str] = field(default_factory=dict)  # base image -> digest

    @property
    def digest(self) -> str:
        return next(iter(self.pushed.values()), "")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    options = BuildOptions(
        context=Path(args.context),
        dockerfile=Path(args.file) if args.file else None,
        tags=args.tag or [],
        build_args=images.build_args(args.build_arg, env),
        labels=images.build_args(args.label, env, "--label"),
        target=args.target,
        platform=args.platform,
        pull=args.pull,
        no_cache=args.no_cache,
    )
    bases = images.base_images(args, env)
    held = common.registries(args, env, with_passwords=True)
    built = build_image(
        options, bases, held, common.context(args, env), env, check=not args.no_check, push_tags=args.push
    )
    output.echo(f"Built {built.image_id}" + (f" ({', '.join(built.tags)})" if built.tags else ""))
    for tag, digest in built.pushed.items():
        output.echo(f"Pushed {tag}@{digest}")
    return 0


def build_image(
    options: BuildOptions,
    bases: Sequence[BaseImage],
    held: Sequence[Registry],
    context: Context,
    env: Mapping[str, str],
    *,
    check: bool = True,
    push_tags: bool = False,
    credentials: Sequence[Credential] = (),
) -> Built:
    """Pre-flight (unless told not to), build with exactly the credentials needed, push if asked.

    `credentials` already resolved (the action's, after its login) are used again, not exchanged anew.
    """
    if options.context and not Path(options.context).is_dir():
        raise InputError(f"build context {options.context} is not a folder")
    if push_tags and not options.tags:
        raise InputError("--push needs at least one -t TAG")
    known = {credential.server: credential for credential in credentials}
    base_digests: dict[str, str] = {}
    if check and bases:
        results = images.preflight(bases, held, context, known)
        base_digests = {str(r.base.image): r.digest or "" for r in results}
        known.update({r.credential.server: r.credential for r in results if r.credential})
    servers = {base.image.server for base in bases}
    tag_servers = {parse_image(tag, f"tag {tag!r}").server for tag in options.tags} if push_tags else set()
    known.update({c.server: c for c in _credentials_for((servers | tag_servers) - set(known), held, context)})
    credentials = list(known.values())
    _refuse_secrets(options)
    client = connect(env)
    log = output.echo
    with output.group(f"Build {', '.join(options.tags) or options.context}"), output.untrusted():
        image_id = build(client, options, [c for c in credentials if c.server in servers], log)
    built = Built(image_id, list(options.tags), base_images=base_digests)
    if push_tags:
        by_server = {c.server: c for c in credentials}
        for tag in options.tags:
            with output.group(f"Push {tag}"), output.untrusted():
                built.pushed[tag] = push(client, tag, by_server.get(parse_image(tag).server), log)
    return built


def _credentials_for(servers: set[str], held: Sequence[Registry], context: Context) -> list[Credential]:
    chosen = [registry for registry in held if registry.server in servers]
    chosen += automatic(sorted(servers - {r.server for r in chosen}), context)
    return common.credentials(chosen, context) if chosen else []


def _refuse_secrets(options: BuildOptions) -> None:
    """Build args and labels are kept in the image for anyone who pulls it: no secret may ride them."""
    known = [value for value in MASKER.known() if len(value) >= 6]
    for kind, values in (("build arg", options.build_args), ("label", options.labels)):
        for name, value in values.items():
            if any(secret in value for secret in known):
                raise InputError(
                    f"{kind} {name} carries a registry secret; the image would keep it (docker history)",
                    hint="registry credentials reach the build's FROM pulls without build args; "
                    "for a secret a RUN step needs, use a BuildKit secret mount instead",
                )
