"""Any command, run with the registries' credentials in a temporary docker config: `docker compose
pull`, `helm pull oci://...`, crane, oras, skopeo, podman, buildah. No password on its command line."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from private_registries import dockerconfig, signals
from private_registries.credential import Credential
from private_registries.errors import InputError


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    argv: Sequence[str]
    env: Mapping[str, str]  # the command's environment; DOCKER_CONFIG and REGISTRY_AUTH_FILE are added


def run_command(options: RunOptions, credentials: Sequence[Credential]) -> int:
    """The command's exit status. Its folder of credentials is gone when this returns, however."""
    if not options.argv:
        raise InputError("no command to run", hint="name it after --: registries exec -- docker compose pull")
    user_dir, state = dockerconfig.default_dir(options.env), dockerconfig.buildx_state(options.env)
    with dockerconfig.temporary(credentials, user_dir, buildx_state=state) as folder:
        config = folder / dockerconfig.CONFIG_FILE
        # DOCKER_CONFIG for docker, compose, helm, crane and oras; REGISTRY_AUTH_FILE for skopeo,
        # podman and buildah, which read the same `auths`.
        env = {**options.env, "DOCKER_CONFIG": str(folder), "REGISTRY_AUTH_FILE": str(config)}
        # SIGTERM/SIGINT go to the command (killed if it has not ended within signals.GRACE); its
        # status is ours, and the folder goes when this block ends, whatever ended the command
        with signals.forwarding(partial(_start, options.argv, env)) as (process, _), process:
            try:
                return signals.exit_status(process.wait())
            except BaseException:  # whatever else stops us: the command goes too
                process.kill()
                raise


def _start(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(list(argv), env=dict(env))
    except FileNotFoundError:
        raise InputError(f"{argv[0]}: command not found") from None
    except PermissionError:
        raise InputError(f"{argv[0]}: not allowed to run it") from None
