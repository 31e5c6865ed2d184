"""Which store the command line chose: `--repo`/`--env`/`--org` (GitHub), else the local file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreOptions:
    """Which store the command line chose (`--repo`/`--env`/`--org`, else the local file)."""

    repo: str | None = None
    environment: str | None = None
    org: str | None = None
    path: Path | None = None

    @property
    def is_github(self) -> bool:
        return bool(self.repo or self.org)
