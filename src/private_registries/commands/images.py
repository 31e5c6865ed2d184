"""What `check` and `build` share: the Dockerfile's base images, and checking them."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

from private_registries import dockerfile, output
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.dockerfile import BaseImage
from private_registries.errors import Failures, InputError
from private_registries.keychain import Context
from private_registries.preflight import ImageCheck


def build_args(
    pairs: Sequence[str] | None, env: Mapping[str, str], option: str = "--build-arg"
) -> dict[str, str]:
    """`K=V` pairs; a bare `K` takes its value from the environment, as docker does."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, eq, value = pair.partition("=")
        if not name:
            raise InputError(f"{option} {pair!r}: expected NAME=VALUE")
        if not eq:
            if name not in env:
                raise InputError(f"{option} {name}: no value given and {name} is not set in the environment")
            value = env[name]
        values[name] = value
    return values


def dockerfile_path(context: str | None, file: str | None) -> Path:
    if file:
        return Path(file)
    return Path(context or ".") / "Dockerfile"


def base_images(args: argparse.Namespace, env: Mapping[str, str]) -> list[BaseImage]:
    path = dockerfile_path(args.context, args.file)
    text = dockerfile.read(path)
    # Every stage: the build runs the classic builder, which pulls them all (BuildKit: target=...).
    return dockerfile.base_images(
        text, str(path), build_args(args.build_arg, env), args.platform, all_stages=True
    )


def preflight(
    images: Sequence[BaseImage],
    held: Sequence[Registry],
    context: Context,
    resolved: Mapping[str, Credential] | None = None,
) -> list[ImageCheck]:
    """Check every base image, show the table, and raise if any cannot be pulled."""
    from private_registries.preflight import check

    results = check(images, held, context, resolved)
    show(results)
    failures = [r for r in results if not r.ok]
    for result in failures:
        problem = result.problem
        if problem is None:
            continue
        hint = f"\n  {problem.hint}" if problem.hint else ""
        where = f"{result.base.image} ({result.base.source}, line {result.base.line})"
        output.error(f"{where}: {problem.message}{hint}")
    if failures:
        raise Failures([r.problem for r in failures if r.problem is not None])
    return results


def show(results: Sequence[ImageCheck]) -> None:
    output.table(
        ["IMAGE", "REGISTRY", "RESULT", "DIGEST"],
        [[str(r.base.image), r.base.image.server, r.result, r.digest or ""] for r in results],
    )
