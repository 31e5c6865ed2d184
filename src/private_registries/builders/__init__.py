"""The engines a build runs on, and the choice among them.

- buildx: `docker buildx build`, when the docker CLI's buildx plugin answers (every option; remote,
  docker-container and kubernetes builders through `builder`);
- BuildKit built into the CLI: `docker build` with DOCKER_BUILDKIT=1, for a CLI of Docker 18.09 to 22
  without the plugin (Debian's docker.io, say): secrets, ssh, outputs, cache imports, one platform;
- classic: the Engine API's legacy builder, only when neither can.

The CLI is `REGISTRIES_DOCKER_CLI` (a path or a name on PATH), else `docker`. Credentials reach the
CLI's engines through a temporary DOCKER_CONFIG (dockerconfig.temporary), the classic builder
through X-Registry-Config.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from private_registries.builders.spec import Builder, BuildSpec, Built, Engine, Progress
from private_registries.errors import BuildError, InputError, RegistriesError

__all__ = ["BuildSpec", "Builder", "Built", "Engine", "Progress", "ask_early", "check_options", "choose"]

CLI_VARIABLE = "REGISTRIES_DOCKER_CLI"
_PROBE_SECONDS = 20
_VERSION = re.compile(r"Docker version (\d+)\.(\d+)")


def choose(engine: Engine, env: Mapping[str, str]) -> Builder:
    """The engine asked for; with `auto`, the best one this machine's docker CLI can drive."""
    if engine == Engine.CLASSIC:
        return _classic(env)
    cli = _cli(env)
    version = None
    if cli is not None:
        from private_registries.builders.cli import CliBuilder

        # A buildx plugin file where the CLI looks is asked first, as the CLI asks it (its metadata):
        # when it answers, nothing else need be known. Without one, a CLI that has BuildKit of its own
        # is not asked about buildx (the question reaches the daemon on some CLIs); one that has none
        # may still find a plugin elsewhere.
        plugin = _buildx_plugin(env)
        if plugin is not None and _plugin_answers(plugin, env):
            return CliBuilder(cli, env, buildx=True)
        version = _version(cli, env)
        builtin = version is not None and (18, 9) <= version < (23, 0)
        if builtin:
            return CliBuilder(cli, env, buildx=False)
        if plugin is None and _answers(cli, ["buildx", "version"], env, "github.com/docker/buildx"):
            return CliBuilder(cli, env, buildx=True)
    if engine == Engine.BUILDKIT:
        where = f"the docker CLI {cli}" if cli else "no docker CLI (none on PATH)"
        raise BuildError(
            f"no BuildKit to build with: {where} has no buildx plugin, and no BuildKit of its own",
            hint="install the buildx plugin (docker-buildx, or docker/setup-buildx-action in a workflow), "
            f"point {CLI_VARIABLE} at a docker CLI that has it, or use --engine classic",
        )
    return _classic(env, notice=_why_classic(cli, version, env))


def _why_classic(cli: str | None, version: tuple[int, int] | None, env: Mapping[str, str]) -> str:
    """The notice of an `auto` choice that fell back to the legacy builder: why, and what would not."""
    if cli is None:
        name = env.get(CLI_VARIABLE) or "docker"
        reason = f"{name} does not exist" if "/" in name else f"{name} is not on PATH"
        why = f"there is no docker CLI to drive BuildKit with ({reason})"
    elif version is not None and version >= (23, 0):
        why = (
            f"the docker CLI {cli} (Docker {version[0]}.{version[1]}) has no buildx plugin, and no BuildKit "
            "of its own (Docker 23 moved it into buildx)"
        )
    else:
        why = f"the docker CLI {cli} has no buildx plugin, and no BuildKit of its own"
    return (
        f"building with the classic builder (the Engine API's legacy builder): {why}; install the buildx "
        "plugin (docker-buildx, or docker/setup-buildx-action in a workflow) to build with BuildKit"
    )


# Where the docker CLI looks for its plugins on Linux, after $DOCKER_CONFIG/cli-plugins.
_PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def _buildx_plugin(env: Mapping[str, str]) -> Path | None:
    """The buildx plugin file the CLI would run: the first one in its config's extra folders, its
    config folder's cli-plugins/, then the system's folders (the CLI's own order)."""
    from private_registries import dockerconfig

    config_dir = dockerconfig.default_dir(env)
    try:
        extra = dockerconfig.read(config_dir / dockerconfig.CONFIG_FILE).get("cliPluginsExtraDirs") or []
    except RegistriesError:  # a config the CLI itself would refuse: it says so when it runs
        extra = []
    extra = extra if isinstance(extra, list) else []
    folders = [*(d for d in extra if isinstance(d, str)), str(config_dir / "cli-plugins"), *_PLUGIN_DIRS]
    for folder in folders:
        path = Path(folder, "docker-buildx")
        if path.is_file():
            return path
    return None


# The plugin's metadata, asked early (ask_early) by the plugin's path: the process and its env.
_EARLY: dict[str, tuple[subprocess.Popen[str], dict[str, str]]] = {}
_METADATA = "docker-cli-plugin-metadata"


def ask_early(env: Mapping[str, str]) -> None:
    """Ask the buildx plugin the engine question now, in a process of its own, so that `choose` finds
    the answer ready: the command loads what it needs meanwhile (some 30 ms of a build's start)."""
    plugin = _buildx_plugin(env)
    if plugin is None or str(plugin) in _EARLY:
        return
    try:
        process = subprocess.Popen(
            [str(plugin), _METADATA], env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    except OSError:
        return
    _EARLY[str(plugin)] = (process, dict(env))


def _plugin_answers(plugin: Path, env: Mapping[str, str]) -> bool:
    """Whether the plugin gives the metadata the CLI asks a plugin for before it runs it."""
    early = _EARLY.pop(str(plugin), None)
    if early is not None and early[1] == dict(env):
        process = early[0]
        try:
            out, _ = process.communicate(timeout=_PROBE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return False
        code = process.returncode
    else:
        answer = _run(str(plugin), [_METADATA], env)
        if answer is None:
            return False
        out, code = answer.stdout, answer.returncode
    if code != 0:
        return False
    try:
        metadata = json.loads(out)
    except ValueError:
        return False
    return isinstance(metadata, dict) and bool(metadata.get("SchemaVersion"))


def _classic(env: Mapping[str, str], notice: str = "") -> Builder:
    from private_registries.builders.classic import ClassicBuilder

    return ClassicBuilder(env, notice)


def _cli(env: Mapping[str, str]) -> str | None:
    name = env.get(CLI_VARIABLE) or "docker"
    if "/" in name:
        return name if Path(name).exists() else None
    return shutil.which(name, path=env.get("PATH"))


def _run(cli: str, args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [cli, *args], env=dict(env), capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _answers(cli: str, args: list[str], env: Mapping[str, str], expected: str) -> bool:
    answer = _run(cli, args, env)
    return answer is not None and answer.returncode == 0 and expected in answer.stdout


def _version(cli: str, env: Mapping[str, str]) -> tuple[int, int] | None:
    """The CLI's Docker version. 18.09 to 22 built BuildKit into `docker build` (DOCKER_BUILDKIT=1);
    23 moved it into buildx."""
    answer = _run(cli, ["--version"], env)
    match = _VERSION.search(answer.stdout) if answer else None
    return (int(match[1]), int(match[2])) if match else None


def check_options(builder: Builder, spec: BuildSpec) -> None:
    """Refuse, before anything runs, what `builder` cannot do, naming the engine that could."""
    refused = builder.refuses(spec)
    if not refused:
        return
    able = "buildx" if "buildx" in refused.values() else "BuildKit"
    how = (
        "install the docker CLI's buildx plugin (docker/setup-buildx-action in a workflow), "
        f"or point {CLI_VARIABLE} at a docker CLI that has it"
        if able == "buildx"
        else f"build with BuildKit: --engine buildkit ({CLI_VARIABLE} names the docker CLI to drive)"
    )
    these = "these" if len(refused) > 1 else "this"
    raise InputError(f"{', '.join(refused)}: the {builder.name} cannot do {these}; {able} can", hint=how)
