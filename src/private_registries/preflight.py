"""The pre-flight check: can every base image be pulled with the credentials we hold?

For each image, in parallel, the registry is asked for the manifest (HEAD, with the Accept types
of OCI indexes and manifests and Docker manifest lists and v2 manifests), with the credential held
for its registry, or anonymously if none is. A failure says which of: no credential held for the
registry, credential rejected, no access to the repository, tag (or repository) not found,
registry unreachable.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from private_registries.auth.client import RegistryClient
from private_registries.auth.token import REJECTED_HINT
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.dockerfile import BaseImage
from private_registries.errors import RegistriesError, RegistryError
from private_registries.keychain import Context, Outcome, automatic, resolve_async

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
MAX_PARALLEL = 32
RESULTS = {
    "no-credential": "no credential",
    "rejected": "rejected",
    "forbidden": "no access",
    "no-access": "no access",
    "not-found": "not found",
    "unreachable": "unreachable",
    "timeout": "unreachable",
    "tls": "unreachable",
}


@dataclass(frozen=True)
class ImageCheck:
    base: BaseImage
    digest: str | None = None
    problem: RegistriesError | None = None
    credential: Credential | None = None  # what the check used: the build can use it again

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def result(self) -> str:
        if self.problem is None:
            return "ok"
        kind = getattr(self.problem, "kind", "error")
        return RESULTS.get(kind, "error")


class _Registry:
    """One registry's client, shared by all the images on it (so tokens are fetched once a scope)."""

    def __init__(self, client: RegistryClient, pending: Future[Outcome] | None) -> None:
        self.client = client
        self.pending = pending
        self._lock = threading.Lock()
        self._ready = False

    def credential(self) -> Credential | None:
        """The credential, waited for; raises the reason if there is none though one was held."""
        if self.pending is None:
            return None
        outcome = self.pending.result()
        if isinstance(outcome, RegistriesError):
            raise outcome
        with self._lock:
            if not self._ready:
                self.client.credential = outcome
                self._ready = True
        return outcome


def check(
    images: Sequence[BaseImage],
    held: Sequence[Registry],
    context: Context,
    resolved: Mapping[str, Credential] | None = None,
) -> list[ImageCheck]:
    """One ImageCheck per image, in order. `resolved` credentials (by server) are used as they are;
    the others are resolved here, each once."""
    resolved = resolved or {}
    servers = list(dict.fromkeys(base.image.server for base in images))
    by_server = {registry.server: registry for registry in held if registry.server in servers}
    by_server.update({c.server: c.registry for c in resolved.values() if c.server in servers})
    by_server.update({r.server: r for r in automatic([s for s in servers if s not in by_server], context)})
    needed = [registry for server, registry in by_server.items() if server not in resolved]
    with (
        ThreadPoolExecutor(max_workers=4) as resolvers,
        ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(images)))) as checkers,
    ):
        pending = dict(
            zip([r.server for r in needed], resolve_async(needed, context, resolvers), strict=True)
        )
        pending.update({server: _done(credential) for server, credential in resolved.items()})
        registries = {
            server: _Registry(
                RegistryClient(context.transport, by_server.get(server) or anonymous(server)),
                pending.get(server),
            )
            for server in servers
        }
        return list(checkers.map(lambda base: _check_one(base, registries[base.image.server]), images))


def _done(credential: Credential) -> Future[Outcome]:
    future: Future[Outcome] = Future()
    future.set_result(credential)
    return future


def anonymous(server: str) -> Registry:
    from private_registries.hosts import detect_type

    return Registry(server=server, username=None, password=None, type=detect_type(server))


def _check_one(base: BaseImage, registry: _Registry) -> ImageCheck:
    image = base.image
    client = registry.client
    credential: Credential | None = None
    try:
        challenge = client.ping()
        credential = registry.credential()
        response = client.request(
            "HEAD",
            f"/v2/{image.repository}/manifests/{image.reference}",
            scopes=[f"repository:{image.repository}:pull"],
            headers={"Accept": MANIFEST_TYPES},
        )
        if response.status_code == 404:
            # Is the repository missing, or only the tag? Some registries say NAME_UNKNOWN; others
            # (Distribution) only answer 404 to the repository's tag list.
            tags = client.request(
                "GET", f"/v2/{image.repository}/tags/list", scopes=[f"repository:{image.repository}:pull"]
            )
            if tags.status_code == 404:
                return ImageCheck(base, problem=_missing_repository(base))
    except RegistriesError as error:
        return ImageCheck(base, problem=_about(error, credential=registry.pending is not None))
    status = response.status_code
    if status == 200:
        return ImageCheck(base, digest=response.headers.get("Docker-Content-Digest"), credential=credential)
    scheme = challenge.scheme if challenge else "none"
    return ImageCheck(base, problem=_refusal(base, status, credential is not None, scheme))


def _about(error: RegistriesError, *, credential: bool) -> RegistriesError:
    if isinstance(error, RegistryError) and error.kind == "rejected" and not credential:
        return _no_credential(error.server)
    return error


def _no_credential(server: str) -> RegistryError:
    return RegistryError(
        server,
        "no credential held for this registry, and it refuses anonymous pulls",
        kind="no-credential",
        hint=f"add one: registries add {server} USERNAME PASSWORD  (or, in a workflow, a REGISTRY_* secret)",
    )


def _missing_repository(base: BaseImage) -> RegistryError:
    return RegistryError(
        base.image.server,
        f"repository {base.image.repository} not found",
        kind="not-found",
        hint="check the image name",
    )


def _refusal(base: BaseImage, status: int, has_credential: bool, scheme: str) -> RegistryError:
    image, server = base.image, base.image.server
    if status == 401 and not has_credential:
        return _no_credential(server)
    if status == 401 and scheme == "basic":
        return RegistryError(
            server, "credential rejected (401 Unauthorized)", kind="rejected", hint=REJECTED_HINT
        )
    if status in {401, 403}:
        return RegistryError(
            server,
            f"no access to the repository {image.repository} ({status})",
            kind="no-access",
            hint="the credential is good but may not pull this repository: grant it read access",
        )
    if status == 404:
        return RegistryError(
            server,
            f"{image.repository}:{image.reference} not found" if not image.digest else f"{image} not found",
            kind="not-found",
            hint="check the tag: it may not have been pushed yet, or was deleted",
        )
    return RegistryError(server, f"manifest request answered {status}", kind="protocol")
