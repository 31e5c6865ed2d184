"""imagePullSecrets into the workloads of Kubernetes manifests, edited in place (every other byte kept)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from private_registries.deploy import kubernetes
from private_registries.deploy.manifests import FileResult, inject_files, relative
from private_registries.errors import Caveat, Location


@dataclass(frozen=True, kw_only=True)
class InjectOptions:
    files: Sequence[Path]
    name: str = kubernetes.DEFAULT_NAME
    servers: Sequence[str] | None = None  # the workloads whose images come from these; None: every one
    service_accounts: bool = False
    kinds: Sequence[str] = ()  # more workload kinds: KIND[.GROUP]=path.to.podSpec
    dry_run: bool = False


@dataclass(frozen=True)
class InjectResult:
    files: tuple[FileResult, ...]
    warnings: tuple[Caveat, ...] = ()

    @property
    def added(self) -> int:
        return sum(len(result.added) for result in self.files)

    @property
    def changed_files(self) -> list[Path]:
        return [result.path for result in self.files if result.changed]


def inject(options: InjectOptions) -> InjectResult:
    kubernetes.check_name(options.name)
    results = inject_files(
        options.files,
        options.name,
        options.servers or [],
        every_workload=options.servers is None,
        service_accounts=options.service_accounts,
        dry_run=options.dry_run,
        extra_kinds=options.kinds,
    )
    warnings = [
        Caveat(
            f"{relative(result.path)}: {item.title} ({item.api_version}) was left alone: {item.reason}, "
            f"though it seems to hold a pod spec; to patch it: --kind {item.hint}",
            Location(str(result.path)),
        )
        for result in results
        for item in result.custom_left_alone
        if item.hint
    ]
    if not any(result.changes for result in results):
        warnings.append(Caveat("no pod template in these files: nothing to do"))
    return InjectResult(tuple(results), tuple(warnings))
