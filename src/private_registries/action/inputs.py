"""The action's inputs, read once from an explicit environment mapping into a frozen record, and
turned into the services' options (the same ones the CLI's flags become)."""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from private_registries.deploy.kubernetes import DEFAULT_NAME, check_name, check_namespace
from private_registries.errors import InputError
from private_registries.secret import Secret
from private_registries.services.build import BuildOptions
from private_registries.services.images import DockerfileOptions
from private_registries.services.inject import InjectOptions
from private_registries.services.pull_secret import PullSecretOptions

TRUE = frozenset({"true", "True", "TRUE"})
FALSE = frozenset({"false", "False", "FALSE"})


def raw(env: Mapping[str, str], name: str) -> str:
    """INPUT_<NAME> as the runner sets it (upper case, spaces as _, dashes kept), trimmed."""
    return env.get(f"INPUT_{name.replace(' ', '_').upper()}", "").strip()


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = raw(env, name)
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InputError(
        f"input {name}: {value!r} is not a boolean",
        hint=f"write `{name}: true` or `{name}: false`",
    )


def items(env: Mapping[str, str], name: str) -> list[str]:
    """A list input: one item a line, or comma-separated."""
    return [item.strip() for item in re.split(r"[\n,]", raw(env, name)) if item.strip()]


def pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """NAME=VALUE a line (values may hold commas and further `=`)."""
    values: dict[str, str] = {}
    for number, text in enumerate(raw(env, name).splitlines(), 1):
        if not text.strip():
            continue
        key, eq, value = text.strip().partition("=")
        if not eq or not key.strip():
            raise InputError(
                f"input {name}, line {number}: expected NAME=VALUE",
                hint=f"e.g.\n  {name}: |\n    VERSION=1.2.3",
            )
        values[key.strip()] = value
    return values


@dataclass(frozen=True, kw_only=True)
class ActionInputs:
    registries: str = ""
    secrets: str = ""
    github_token: Secret | None = None
    aws_region: str | None = None
    aws_role_to_assume: str | None = None
    runner_temp: str = ""  # the HOST path of runner.temp (from the action's args)
    context: str = ""
    file: str = ""
    tags: Sequence[str] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    pull: bool = False
    push: bool = False
    check: bool = True
    manifests: Sequence[str] = ()
    pull_secret_name: str = DEFAULT_NAME
    namespace: str = ""
    convox_file: str = ""
    export_docker_config: bool = True
    logout: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str], args: Sequence[str] = ()) -> ActionInputs:
        token = raw(env, "github-token")
        return cls(
            registries=raw(env, "registries"),
            secrets=raw(env, "secrets"),
            github_token=Secret(token) if token else None,
            aws_region=raw(env, "aws-region") or None,
            aws_role_to_assume=raw(env, "aws-role-to-assume") or None,
            runner_temp=(args[0] if args else "") or raw(env, "runner-temp"),
            context=raw(env, "context"),
            file=raw(env, "file"),
            tags=items(env, "tags"),
            build_args=pairs(env, "build-args"),
            target=raw(env, "target") or None,
            platform=raw(env, "platform") or None,
            labels=pairs(env, "labels"),
            pull=flag(env, "pull", False),
            push=flag(env, "push", False),
            check=flag(env, "check", True),
            manifests=items(env, "manifests"),
            pull_secret_name=check_name(
                raw(env, "pull-secret-name") or DEFAULT_NAME, "input pull-secret-name"
            ),
            namespace=check_namespace(raw(env, "namespace"), "input namespace")
            if raw(env, "namespace")
            else "",
            convox_file=raw(env, "convox-file"),
            export_docker_config=flag(env, "export-docker-config", True),
            logout=flag(env, "logout", True),
        )

    def dockerfile(self) -> DockerfileOptions | None:
        """The Dockerfile to build (None: no `context`, no build)."""
        if not self.context:
            return None
        return DockerfileOptions(
            context=Path(self.context),
            file=Path(self.file) if self.file else None,
            build_args=self.build_args,
            platform=self.platform,
        )

    def build_options(self, dockerfile: DockerfileOptions) -> BuildOptions:
        return BuildOptions(
            dockerfile=dockerfile,
            tags=self.tags,
            labels=self.labels,
            target=self.target,
            pull=self.pull,
            push=self.push,
            check=self.check,
        )

    def pull_secret_options(self, folder: Path) -> PullSecretOptions:
        return PullSecretOptions(
            name=self.pull_secret_name, namespace=self.namespace or None, output=folder / "pull-secret.yaml"
        )

    def inject_options(self, servers: Sequence[str]) -> InjectOptions:
        """The manifests the `manifests` globs match, for the workloads pulling from `servers`."""
        paths = sorted({Path(p) for pattern in self.manifests for p in glob.glob(pattern, recursive=True)})
        if not paths:
            raise InputError(f"input manifests: no file matches {', '.join(self.manifests)}")
        return InjectOptions(files=paths, name=self.pull_secret_name, servers=servers)
