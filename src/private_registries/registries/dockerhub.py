"""Docker Hub extras: the pull quota left to an account, from its RateLimit-* headers."""

from __future__ import annotations

import re

from private_registries.auth.client import RegistryClient
from private_registries.errors import RegistriesError

# Docker's documented probe: a HEAD of this manifest reports the quota and does not count as a pull.
QUOTA_REPOSITORY = "ratelimitpreview/test"


def pull_quota(client: RegistryClient) -> str | None:
    """`76 of 100 pulls left per 6 h`, or None when the registry does not say."""
    try:
        response = client.request(
            "HEAD",
            f"/v2/{QUOTA_REPOSITORY}/manifests/latest",
            scopes=[f"repository:{QUOTA_REPOSITORY}:pull"],
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
    except RegistriesError:
        return None
    limit = _parse(response.headers.get("RateLimit-Limit"))
    remaining = _parse(response.headers.get("RateLimit-Remaining"))
    if limit is None or remaining is None:
        return None
    window = limit[1] or remaining[1]
    per = f" per {_duration(window)}" if window else ""
    return f"{remaining[0]} of {limit[0]} pulls left{per}"


def _parse(header: str | None) -> tuple[int, int | None] | None:
    """`100;w=21600` -> (100, 21600)."""
    match = re.match(r"\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?", header or "")
    if not match:
        return None
    return int(match[1]), int(match[2]) if match[2] else None


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
