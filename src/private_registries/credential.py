"""A resolved credential: what a registry entry becomes once its tokens are exchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from private_registries.config import Registry
from private_registries.hosts import api_host, config_key
from private_registries.secret import Secret, basic_auth


@dataclass(frozen=True)
class Credential:
    registry: Registry
    username: str
    password: Secret
    identity_token: Secret | None = None  # an OAuth refresh token, for registries that hand them out
    expires_at: datetime | None = None  # None: until it is revoked, or `lifetime` says
    lifetime: str | None = None  # when the end is known only in words ("end of the job")
    rejected_hint: str | None = None  # what to check when the registry refuses it, if not the password

    @property
    def server(self) -> str:
        return self.registry.server

    @property
    def api_host(self) -> str:
        return api_host(self.registry.server)

    @property
    def config_key(self) -> str:
        return config_key(self.registry.server)

    def auth(self) -> Secret:
        """base64(user:pass) as config.json carries it (itself masked)."""
        return basic_auth(self.username, self.password)

    def expires_text(self) -> str:
        if self.expires_at:
            return self.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        return self.lifetime or "never"
