"""`WWW-Authenticate` challenges: `Basic realm="..."` or `Bearer realm="...",service="...",scope="..."`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*,?')
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


def parse(header: str) -> list[Challenge]:
    """Every challenge in one header value; parameters may be quoted (with escapes) or bare tokens."""
    challenges: list[Challenge] = []
    rest = header.strip()
    while rest:
        scheme = _SCHEME.match(rest)
        if not scheme:
            break
        rest = rest[scheme.end() :]
        params: dict[str, str] = {}
        while True:
            param = _PARAM.match(rest)
            if not param:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            rest = rest[param.end() :]
        challenges.append(Challenge(scheme.group(1).lower(), params))
        rest = rest.lstrip(", ")
    return challenges


def preferred(header: str | None) -> Challenge | None:
    """Bearer if offered (it scopes access), else Basic, else None."""
    challenges = parse(header or "")
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None
