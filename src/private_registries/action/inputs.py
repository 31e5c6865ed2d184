"""The action's inputs, read once from an explicit environment mapping into a frozen record, and
turned into the services' options (the same ones the CLI's flags become)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from private_registries.action.runner import WORKSPACE
from private_registries.action.state import PULL_SECRET_FILE
from private_registries.builders import BuildSpec
from private_registries.deploy.kubernetes import DEFAULT_NAME, check_name, check_namespace
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import Caveat, InputError, RegistriesError
from private_registries.fsutil import inside
from private_registries.gitcontext import RemoteContext, remote_context
from private_registries.secret import Secret
from private_registries.services.build import BuildOptions
from private_registries.services.inject import InjectOptions
from private_registries.services.merge import MergeOptions
from private_registries.services.pull_secret import PullSecretOptions
from private_registries.text import cut

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


def _records(env: Mapping[str, str], name: str) -> list[list[str]]:
    """A list input as docker/actions-toolkit's Util.getList reads it for build-push-action: CSV, so
    a quoted item keeps its commas and line breaks (a multi-line secret: `"KEY=${{ secrets.PEM }}"`)
    and `""` is a quote in it; a quote inside an unquoted item is kept as it is; empty lines are left
    out. What is not CSV (`KEY={"a":1,"b":2}`, where getList fails) is taken a line an item, as it is."""
    import csv
    import io

    text = raw(env, name)
    try:
        return [row for row in csv.reader(io.StringIO(text), strict=True) if row]
    except csv.Error:
        return [[line] for line in text.splitlines() if line.strip()]


def items(env: Mapping[str, str], name: str) -> list[str]:
    """A list input: one item a line, or comma-separated (a quoted item is split at its commas too,
    as getList splits it)."""
    found = [part for row in _records(env, name) for field in row for part in field.split(",")]
    return [item.strip() for item in found if item.strip()]


def lines(env: Mapping[str, str], name: str) -> list[str]:
    """A list input whose items hold commas (type=registry,ref=...): one item a line, or a quoted
    item over several (getList's ignoreComma)."""
    return [line.strip() for line in (",".join(row) for row in _records(env, name)) if line.strip()]


def pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """NAME=VALUE an item, as `lines` reads them (values may hold commas and further `=`)."""
    values: dict[str, str] = {}
    for number, text in enumerate(lines(env, name), 1):
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise InputError(
                f"input {name}, line {number}: expected NAME=VALUE",
                hint=f"e.g.\n  {name}: |\n    VERSION=1.2.3",
            )
        values[key.strip()] = value
    return values


def secret_pairs(values: Sequence[str], name: str, example: str) -> dict[str, str]:
    """build-push-action's `secret-envs` (ID=ENV) and `secret-files` (ID=PATH) items."""
    found: dict[str, str] = {}
    for value in values:
        key, eq, rest = value.partition("=")
        if not eq or not key.strip() or not rest.strip():
            raise InputError(
                f"input {name}: {cut(value)!r} is not ID=VALUE", hint=f"e.g.\n  {name}: {example}"
            )
        found[key.strip()] = rest.strip()
    return found


OCI = "org.opencontainers.image."


def oci_labels(env: Mapping[str, str], tags: Sequence[str]) -> dict[str, str]:
    """The labels docker/metadata-action gives an image, from the GitHub context of the environment:
    source and url (the repository's page), revision (the commit), created (now, RFC 3339 UTC, or
    SOURCE_DATE_EPOCH), title (the repository's name), version (the first tag's tag part). None
    without a GitHub context (no GITHUB_REPOSITORY: a stage run by hand builds as the CLI does)."""
    repository = env.get("GITHUB_REPOSITORY", "").strip()
    if not repository:
        return {}
    page = f"{(env.get('GITHUB_SERVER_URL') or 'https://github.com').rstrip('/')}/{repository}"
    labels = {f"{OCI}source": page, f"{OCI}url": page, f"{OCI}title": repository.rsplit("/", 1)[-1]}
    if env.get("GITHUB_SHA", "").strip():
        labels[f"{OCI}revision"] = env["GITHUB_SHA"].strip()
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    labels[f"{OCI}created"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    version = _tag_part(tags[0]) if tags else ""
    if version:
        labels[f"{OCI}version"] = version
    return labels


def _tag_part(reference: str) -> str:
    """A reference's tag (`latest` when it names none), as metadata-action's version of one tag; "" for
    a reference by digest alone."""
    name = reference.split("@", 1)[0]
    if "@" in reference and ":" not in name.rsplit("/", 1)[-1]:
        return ""
    last = name.rsplit("/", 1)[-1]
    return last.partition(":")[2] or "latest"


def identity_defaults(env: Mapping[str, str]) -> dict[str, str | None]:
    """The keyless clouds' job-wide defaults, checked as an entry's fields are."""
    from private_registries.config import check_identity_defaults

    found = {
        name: raw(env, name.replace("_", "-")).strip() or None
        for name in (
            "gcp_workload_identity_provider",
            "gcp_service_account",
            "azure_client_id",
            "azure_tenant_id",
        )
    }
    check_identity_defaults(found, "input ")
    return found


@dataclass(frozen=True, kw_only=True)
class ActionInputs:
    registries: str = ""
    secrets: str = ""
    github_token: Secret | None = None
    aws_region: str | None = None
    aws_role_to_assume: str | None = None
    gcp_workload_identity_provider: str | None = None
    gcp_service_account: str | None = None
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    runner_temp: str = ""  # the HOST path of runner.temp (from the action's args)
    workspace: str = ""  # the HOST path of the workspace (the action's second arg)
    # the workspace as this stage sees it (nothing is read or written outside it through a link);
    # None: unknown (a stage run by hand), so nothing is checked
    workspace_root: Path | None = None
    context: str = ""
    remote: RemoteContext | None = None  # context: git, or a Git URL (None: a folder here)
    file: str = ""
    tags: Sequence[str] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    pull: bool = False
    push: bool = False
    check: bool = True
    build: bool = True  # false: the pre-flight alone (a pull request's check; no daemon needed)
    # build-push-action's names for BuildKit's options (its `secrets` is our build-secrets)
    platforms: Sequence[str] = ()
    cache_from: Sequence[str] = ()
    cache_to: Sequence[str] = ()
    build_secrets: Sequence[str] = ()
    ssh: Sequence[str] = ()
    build_contexts: Mapping[str, str] = field(default_factory=dict)
    outputs: Sequence[str] = ()
    load: bool = False
    no_cache: bool = False
    provenance: str | None = None
    sbom: str | None = None
    annotations: Sequence[str] = ()
    network: str | None = None
    builder: str | None = None
    add_hosts: Sequence[str] = ()
    allow: Sequence[str] = ()
    attests: Sequence[str] = ()
    call: str | None = None
    cgroup_parent: str | None = None
    no_cache_filters: Sequence[str] = ()
    secret_envs: Mapping[str, str] = field(default_factory=dict)  # ID -> ENV
    secret_files: Mapping[str, str] = field(default_factory=dict)  # ID -> PATH
    shm_size: str | None = None
    ulimits: Sequence[str] = ()
    push_by_digest: bool = False  # one platform of an image built across runners, for merge-digests
    # the digests (or references) of images pushed by digest, merged into one index at `tags`
    merge_digests: Sequence[str] = ()
    # the OCI labels docker/metadata-action gives, from the GitHub context (oci-labels: false: none)
    oci_labels: Mapping[str, str] = field(default_factory=dict)
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
            **identity_defaults(env),
            runner_temp=(args[0] if args else "") or raw(env, "runner-temp"),
            workspace=args[1] if len(args) > 1 else "",
            workspace_root=workspace_root(env),
            context=raw(env, "context"),
            remote=remote_context(raw(env, "context"), env, keyword=True),
            file=raw(env, "file"),
            tags=items(env, "tags"),
            build_args=pairs(env, "build-args"),
            target=raw(env, "target") or None,
            platform=raw(env, "platform") or None,
            labels=pairs(env, "labels"),
            pull=flag(env, "pull", False),
            push=flag(env, "push", False),
            check=flag(env, "check", True),
            build=flag(env, "build", True),
            platforms=items(env, "platforms"),
            cache_from=lines(env, "cache-from"),
            cache_to=lines(env, "cache-to"),
            build_secrets=lines(env, "build-secrets"),
            ssh=lines(env, "ssh"),
            build_contexts=pairs(env, "build-contexts"),
            outputs=lines(env, "outputs"),
            load=flag(env, "load", False),
            no_cache=flag(env, "no-cache", False),
            provenance=raw(env, "provenance") or None,
            sbom=raw(env, "sbom") or None,
            annotations=lines(env, "annotations"),
            network=raw(env, "network") or None,
            builder=raw(env, "builder") or None,
            add_hosts=items(env, "add-hosts"),
            allow=items(env, "allow"),
            attests=lines(env, "attests"),
            call=raw(env, "call") or None,
            cgroup_parent=raw(env, "cgroup-parent") or None,
            no_cache_filters=items(env, "no-cache-filters"),
            secret_envs=secret_pairs(items(env, "secret-envs"), "secret-envs", "GIT_AUTH_TOKEN=MY_TOKEN_VAR"),
            secret_files=secret_pairs(lines(env, "secret-files"), "secret-files", "npmrc=./.npmrc"),
            shm_size=raw(env, "shm-size") or None,
            ulimits=lines(env, "ulimit"),
            push_by_digest=flag(env, "push-by-digest", False),
            merge_digests=items(env, "merge-digests"),
            oci_labels=oci_labels(env, items(env, "tags")) if flag(env, "oci-labels", True) else {},
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
        options = DockerfileOptions(
            context=Path(self.context),
            file=Path(self.file) if self.file else None,
            build_args=self.build_args,
            platform=",".join(self.platforms) or self.platform,
            target=self.target,
            build_contexts=self.build_contexts,
        )
        if self.remote is not None:  # the file input is a path in the repository, none here
            return replace(options, context=Path("."))
        what = "input file" if self.file else "input context's Dockerfile"
        in_workspace(options.path, what, self.workspace_root)
        return options

    def build_options(self, dockerfile: DockerfileOptions) -> BuildOptions:
        platforms = list(self.platforms) or ([self.platform] if self.platform else [])
        secrets = [
            *self.build_secrets,
            *(f"id={name},env={variable}" for name, variable in self.secret_envs.items()),
            *(f"id={name},src={path}" for name, path in self.secret_files.items()),
        ]
        spec = BuildSpec(
            tags=self.tags,
            labels={**self.oci_labels, **self.labels},  # the user's labels win
            platforms=platforms,
            pull=self.pull,
            no_cache=self.no_cache,
            push=self.push,
            load=self.load,
            cache_from=self.cache_from,
            cache_to=self.cache_to,
            secrets=secrets,
            ssh=self.ssh,
            build_contexts=self.build_contexts,
            outputs=self.outputs,
            provenance=self.provenance,
            sbom=self.sbom,
            annotations=self.annotations,
            network=self.network,
            builder=self.builder,
            add_hosts=self.add_hosts,
            allow=self.allow,
            attests=self.attests,
            call=self.call,
            cgroup_parent=self.cgroup_parent,
            no_cache_filters=self.no_cache_filters,
            shm_size=self.shm_size,
            ulimits=self.ulimits,
            push_by_digest=self.push_by_digest,
        )
        return BuildOptions(dockerfile=dockerfile, spec=spec, check=self.check, remote=self.remote)

    def merge_options(self) -> MergeOptions | None:
        """The index to make of `merge-digests` at `tags` (None: no merge); refused with a build in the
        same step: the index is made of earlier builds' digests, after them."""
        if not self.merge_digests:
            return None
        if self.context:
            raise InputError(
                "input merge-digests: a step that merges builds nothing (the context input is set)",
                hint="merge in a job of its own that needs the builds (needs: build), without context",
            )
        return MergeOptions(tags=self.tags, sources=self.merge_digests, annotations=self.annotations)

    def ignored(self) -> list[Caveat]:
        """Build inputs given without `context`: there is no build for them to change."""
        if self.context:
            return []
        given = [name for name, value in _build_inputs(self).items() if value]
        if self.merge_digests:  # where the merge's index goes, and what it says
            given = [name for name in given if name not in ("tags", "annotations")]
        if not given:
            return []
        return [Caveat(f"input {', '.join(given)}: no build without the context input, so ignored")]

    def pull_secret_options(self, folder: Path) -> PullSecretOptions:
        return PullSecretOptions(
            name=self.pull_secret_name, namespace=self.namespace or None, output=folder / PULL_SECRET_FILE
        )

    def inject_options(self, servers: Sequence[str]) -> InjectOptions:
        """The manifests the `manifests` globs match, for the workloads pulling from `servers`."""
        paths = sorted(
            {path for pattern in self.manifests for path in workspace_glob(pattern, self.workspace_root)}
        )
        if not paths:
            raise InputError(f"input manifests: no file matches {', '.join(self.manifests)}")
        return InjectOptions(files=paths, name=self.pull_secret_name, servers=servers)


MAX_MATCHES = 10_000  # manifests a `manifests` input may name: far past any real repository


def workspace_root(env: Mapping[str, str]) -> Path | None:
    """The workspace as this stage sees it: the container action's mount; on a host, GITHUB_WORKSPACE,
    or the folder the step was started in when that is elsewhere (act's host mode starts a docker
    action in the checkout, GITHUB_WORKSPACE naming a copy); None when no runner started it."""
    if Path(WORKSPACE).is_dir():
        return Path(WORKSPACE)
    named = env.get("GITHUB_WORKSPACE", "")
    if not named:
        return None
    return Path(named) if inside(Path(named), Path.cwd()) else Path.cwd()


def workspace_glob(pattern: str, root: Path | None) -> list[Path]:
    """The files a glob matches in the workspace (the step's folder). `**` does not descend into a
    linked folder (a committed `k8s/a -> .` would loop), and a match that is a link leading out of the
    workspace is refused, naming it: the action never reads or patches a file there through a link."""
    top = Path.cwd()  # globs are the step's, relative to where it runs (the workspace)
    base, relative = (Path("/"), pattern.lstrip("/")) if os.path.isabs(pattern) else (top, pattern)
    found: list[Path] = []
    try:
        matches = base.glob(relative) if relative else iter(())
        for match in matches:  # pathlib's ** follows no linked folder (glob.glob's does)
            if not match.is_file():
                continue
            if len(found) == MAX_MATCHES:
                raise InputError(f"input manifests: {cut(pattern)} matches more than {MAX_MATCHES:,} files")
            shown = match.relative_to(top) if not os.path.isabs(pattern) else match
            found.append(in_workspace(shown, "input manifests", root))
    except ValueError as exc:  # a pattern pathlib cannot take (an empty segment, `**x`)
        raise InputError(f"input manifests: {cut(pattern)} is not a glob: {exc}") from None
    return found


def in_workspace(path: Path, what: str, root: Path | None) -> Path:
    """`path`, when it (every link followed) is in the workspace `root` (None: unknown, not checked);
    else refused, naming it and where it leads: the action reads and writes nothing outside the
    workspace through a committed link."""
    if root is None:
        return path
    top = Path.cwd()
    if os.path.lexists(top / path) and not inside(root, top / path):
        raise InputError(
            f"{what}: {path} leads out of the workspace (to {cut(os.path.realpath(top / path))}) "
            "through a link: not read, not written",
            hint="copy the file into the workspace, or name another",
        )
    return path


def _build_inputs(inputs: ActionInputs) -> dict[str, object]:
    """The inputs that only a build reads (`check` and `build` default to true: not counted)."""
    return {
        "file": inputs.file,
        "tags": inputs.tags,
        "build-args": inputs.build_args,
        "target": inputs.target,
        "platform": inputs.platform,
        "platforms": inputs.platforms,
        "labels": inputs.labels,
        "pull": inputs.pull,
        "push": inputs.push,
        "cache-from": inputs.cache_from,
        "cache-to": inputs.cache_to,
        "build-secrets": inputs.build_secrets,
        "ssh": inputs.ssh,
        "build-contexts": inputs.build_contexts,
        "outputs": inputs.outputs,
        "load": inputs.load,
        "no-cache": inputs.no_cache,
        "provenance": inputs.provenance,
        "sbom": inputs.sbom,
        "annotations": inputs.annotations,
        "network": inputs.network,
        "builder": inputs.builder,
        "add-hosts": inputs.add_hosts,
        "allow": inputs.allow,
        "attests": inputs.attests,
        "call": inputs.call,
        "cgroup-parent": inputs.cgroup_parent,
        "no-cache-filters": inputs.no_cache_filters,
        "secret-envs": inputs.secret_envs,
        "secret-files": inputs.secret_files,
        "shm-size": inputs.shm_size,
        "ulimit": inputs.ulimits,
        "push-by-digest": inputs.push_by_digest,
    }


# How the CLI's flags, quoted in messages and hints, are called in the action.
_INPUT_NAMES = {
    "-f FILE": "file",
    "--file": "file",
    "--build-arg": "build-args",
    "--target": "target",
    "-t TAG": "tags",
    "-t": "tags",
    "--tag": "tags",
    "--label": "labels",
    "--platform": "platforms",
    "--push": "push",
    "--push-by-digest": "push-by-digest",
    "--load": "load",
    "--pull": "pull",
    "--no-cache": "no-cache",
    "--cache-from": "cache-from",
    "--cache-to": "cache-to",
    "--secret": "build-secrets",
    "--ssh": "ssh",
    "--build-context": "build-contexts",
    "--output": "outputs",
    "--provenance": "provenance",
    "--sbom": "sbom",
    "--annotation": "annotations",
    "--network": "network",
    "--builder": "builder",
    "--add-host": "add-hosts",
    "--allow": "allow",
    "--attest": "attests",
    "--call": "call",
    "--cgroup-parent": "cgroup-parent",
    "--no-cache-filter": "no-cache-filters",
    "--shm-size": "shm-size",
    "--ulimit": "ulimit",
    "--name": "pull-secret-name",
    "--namespace": "namespace",
}
_FLAG = re.compile(
    "|".join(rf"(?<![\w-]){re.escape(flag)}(?![\w-])" for flag in sorted(_INPUT_NAMES, key=len, reverse=True))
)


def as_inputs(error: RegistriesError) -> RegistriesError:
    """The error as the action's user reads it: naming inputs (`file`), not the CLI's flags (`-f FILE`)."""

    def rename(text: str) -> str:
        return _FLAG.sub(lambda match: f"input {_INPUT_NAMES[match[0]]}", text)

    return error.reworded(rename(error.message), rename(error.hint) if error.hint else None)
