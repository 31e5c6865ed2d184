"""The keychain: which credential for each server, decided here and nowhere else.

1. explicit: an entry the user holds (the store, `--registries`, the action's inputs);
2. ambient: ghcr.io with the GitHub token; an ECR host with the environment's AWS credentials or
   the job's role (only when there are some: a public ECR image pulls anonymously); a GAR or ACR
   host with the job's default Google or Azure identity (when one is given);
3. anonymous: nothing.

Each server's credential is resolved once, when first asked for, and kept; servers asked for
together are resolved together, each kind by its module under registries/ (imported only then:
boto3 is slow to import), so ECR makes one call per region. A registry client made here asks the
keychain for its credential only when the registry challenges it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from private_registries.auth.client import RegistryClient
from private_registries.config import Registry
from private_registries.context import Context, Outcome, Resolver
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.hosts import RegistryType, detect_type

_MODULES = {
    RegistryType.BASIC: "basic",
    RegistryType.DOCKERHUB: "basic",
    RegistryType.GHCR: "ghcr",
    RegistryType.ECR: "ecr",
    RegistryType.ECR_PUBLIC: "ecr",
    RegistryType.GCP: "gcp",
    RegistryType.ACR: "acr",
}
_ECR_TYPES = frozenset({RegistryType.ECR, RegistryType.ECR_PUBLIC})


def module_of(registry: Registry) -> str:
    """The module under registries/ that resolves this entry."""
    if registry.dockerhub_oidc_connection_id and registry.password is None:
        return "dockerhub_oidc"
    return _MODULES[registry.type]


class Keychain:
    """Credentials for servers, by the rule above. Use it as a context manager (it owns a thread pool)."""

    def __init__(self, held: Iterable[Registry], context: Context) -> None:
        self.context = context
        self.held = list(held)
        self.endpoints = context.endpoints
        self._explicit = {registry.server: registry for registry in self.held}
        self._outcomes: dict[str, Future[Outcome]] = {}
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()
        # Resolutions run here, never on a caller's pool: callers wait on them.
        self._pool = ThreadPoolExecutor(max_workers=len(set(_MODULES.values())) + 1)

    def __enter__(self) -> Keychain:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the rule ---------------------------------------------------------------------------------

    def entry(self, server: str) -> Registry | None:
        """The registry entry that gives `server` its credential, or None: it is pulled anonymously."""
        return self._explicit.get(server) or self._ambient(server)

    def entries(self, servers: Iterable[str]) -> list[Registry]:
        """The entries of those servers that have one, each once, in order."""
        found = (self.entry(server) for server in dict.fromkeys(servers))
        return [registry for registry in found if registry is not None]

    def registry(self, server: str) -> Registry:
        return self.entry(server) or Registry(server, None, None, detect_type(server))

    def _ambient(self, server: str) -> Registry | None:
        kind = detect_type(server)
        if kind == RegistryType.GHCR and self.context.github_token:
            return Registry(server, None, None, kind, source="automatic (GitHub token)")
        if kind in _ECR_TYPES and self.context.has_aws_credentials:
            return Registry(server, None, None, kind, source="automatic (AWS credentials)")
        if kind == RegistryType.GCP and self.context.has_gcp_identity:
            return Registry(server, None, None, kind, source="automatic (gcp-workload-identity-provider)")
        if kind == RegistryType.ACR and self.context.has_azure_identity:
            return Registry(server, None, None, kind, source="automatic (azure-client-id)")
        return None

    # --- resolution -------------------------------------------------------------------------------

    def prefetch(self, servers: Iterable[str]) -> None:
        """Start resolving these servers' credentials, together (one ECR call per region)."""
        with self._lock:
            new = [r for r in self.entries(servers) if r.server not in self._outcomes]
            for registry in new:
                self._outcomes[registry.server] = Future()
        groups: dict[str, list[Registry]] = {}
        for registry in new:
            groups.setdefault(module_of(registry), []).append(registry)
        for module_name, registries in groups.items():
            self._pool.submit(self._resolve, module_name, registries)

    def _resolve(self, module_name: str, registries: Sequence[Registry]) -> None:
        futures = [self._outcomes[registry.server] for registry in registries]
        try:
            module = importlib.import_module(f"private_registries.registries.{module_name}")
            resolver: Resolver = module.resolve
            outcomes = resolver(registries, self.context)
        except BaseException as exc:  # a bug, not a user's error: every waiter gets it
            for future in futures:
                future.set_exception(exc)
            raise
        for future, outcome in zip(futures, outcomes, strict=True):
            future.set_result(outcome)

    def outcome(self, server: str) -> Outcome | None:
        """The server's credential or the reason there is none, waited for; None: anonymous."""
        if self.entry(server) is None:
            return None
        self.prefetch([server])
        return self._outcomes[server].result()

    def credential(self, server: str) -> Credential | None:
        """The server's credential (None: anonymous); raises the reason when one was due but failed."""
        outcome = self.outcome(server)
        if isinstance(outcome, RegistriesError):
            raise outcome
        return outcome

    def credentials(self, servers: Iterable[str]) -> tuple[list[Credential], list[RegistriesError]]:
        """The credentials of these servers that have an entry, and the failures, in order."""
        servers = list(dict.fromkeys(servers))
        self.prefetch(servers)
        outcomes = [outcome for outcome in map(self.outcome, servers) if outcome is not None]
        good = [outcome for outcome in outcomes if isinstance(outcome, Credential)]
        return good, [outcome for outcome in outcomes if isinstance(outcome, RegistriesError)]

    def client(self, server: str) -> RegistryClient:
        """The one client of `server` (so its ping and tokens serve every request to it)."""
        with self._lock:
            client = self._clients.get(server)
            if client is None:
                client = RegistryClient(
                    self.endpoints, self.registry(server), lambda: self.credential(server)
                )
                self._clients[server] = client
        return client
