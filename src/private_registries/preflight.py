"""The pre-flight check: can every base image be pulled with the credentials we hold?

For each image, in parallel, the registry is asked for the manifest (HEAD, with the Accept types
of OCI indexes and manifests and Docker manifest lists and v2 manifests), with the credential the
keychain gives its registry, or anonymously. A failure says which of: no credential held for the
registry, credential rejected, no access to the repository, tag (or repository) not found,
registry unreachable; and it points at the line that names the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from private_registries import fixes
from private_registries.auth.token import REJECTED_HINT
from private_registries.dockerfile import BaseImage
from private_registries.errors import ErrorKind, Location, RegistriesError, RegistryError, internal_error
from private_registries.images import is_digest
from private_registries.keychain import Keychain
from private_registries.text import cut

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
MAX_PARALLEL = 32


@dataclass(frozen=True)
class ImageCheck:
    base: BaseImage
    digest: str | None = None
    problem: RegistriesError | None = None  # pointing at the Dockerfile line (`where`)
    local: bool = False  # its registry could not give it, but the daemon's image store holds it

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def result(self) -> str:
        if self.local:
            return "local"
        return "ok" if self.problem is None else self.problem.kind.label


def check(images: Sequence[BaseImage], keychain: Keychain, dockerfile: str) -> list[ImageCheck]:
    """One ImageCheck per image, in order; each registry's credential is resolved once, all at once."""
    keychain.prefetch(base.image.server for base in images)
    workers = max(1, min(MAX_PARALLEL, len(images)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        checks = pool.map(lambda base: _check_safely(base, keychain), images)
        return [_located(result, dockerfile) for result in checks]


def _located(result: ImageCheck, dockerfile: str) -> ImageCheck:
    """A problem names the image and the line that asks for it, and points there."""
    if result.problem is None:
        return result
    base = result.base
    problem = result.problem.at(Location(dockerfile, base.line))
    problem.message = f"{base.image} ({base.source}, line {base.line}): {problem.message}"
    return ImageCheck(base, problem=problem)


def _check_safely(base: BaseImage, keychain: Keychain) -> ImageCheck:
    try:
        return _check_one(base, keychain)
    except Exception as exc:  # a bug met with one image costs that image only
        return ImageCheck(base, problem=internal_error(base.image.server, exc))


def _check_one(base: BaseImage, keychain: Keychain) -> ImageCheck:
    image = base.image
    client = keychain.client(image.server)
    held = keychain.entry(image.server) is not None
    scope = [f"repository:{image.repository}:pull"]
    try:
        challenge = client.ping()
        keychain.credential(image.server)  # a credential that could not be had is the first thing to fix
        response = client.request(
            "HEAD",
            f"/v2/{image.repository}/manifests/{image.reference}",
            scopes=scope,
            headers={"Accept": MANIFEST_TYPES},
        )
        if response.status_code == 404:
            # Is the repository missing, or only the tag? Some registries say NAME_UNKNOWN; others
            # (Distribution) only answer 404 to the repository's tag list.
            tags = client.request("GET", f"/v2/{image.repository}/tags/list", scopes=scope, body=False)
            if tags.status_code == 404:
                return ImageCheck(base, problem=_missing_repository(base))
    except RegistriesError as error:
        if isinstance(error, RegistryError) and error.kind == ErrorKind.REJECTED and not held:
            error = _no_credential(image.server)
        return ImageCheck(base, problem=error)
    status = response.status_code
    if status == 200:
        digest = response.headers.get("Docker-Content-Digest")
        if digest is not None and not is_digest(digest):
            return ImageCheck(base, problem=_bad_digest(image.server, digest))
        return ImageCheck(base, digest=digest)
    scheme = challenge.scheme if challenge else "none"
    return ImageCheck(base, problem=_refusal(base, status, held, scheme))


def _bad_digest(server: str, digest: str) -> RegistryError:
    return RegistryError(
        server,
        f"the manifest's Docker-Content-Digest is not a digest (algorithm:hex): {cut(digest)}",
        kind=ErrorKind.PROTOCOL,
        hint="the registry answered something no registry should; pin the image by a digest you trust",
    )


def _no_credential(server: str) -> RegistryError:
    return RegistryError(
        server,
        "no credential held for this registry, and it refuses anonymous pulls",
        kind=ErrorKind.NO_CREDENTIAL,
        hint=fixes.add_registry(server),
    )


def _missing_repository(base: BaseImage) -> RegistryError:
    return RegistryError(
        base.image.server,
        f"repository {base.image.repository} not found",
        kind=ErrorKind.NOT_FOUND,
        hint="check the image name",
    )


def _refusal(base: BaseImage, status: int, has_credential: bool, scheme: str) -> RegistryError:
    image, server = base.image, base.image.server
    if status == 401 and not has_credential:
        return _no_credential(server)
    if status == 401 and scheme == "basic":
        return RegistryError(
            server, "credential rejected (401 Unauthorized)", kind=ErrorKind.REJECTED, hint=REJECTED_HINT
        )
    if status in {401, 403}:
        return RegistryError(
            server,
            f"no access to the repository {image.repository} ({status})",
            kind=ErrorKind.NO_ACCESS,
            hint="the credential is good but may not pull this repository: grant it read access",
        )
    if status == 404:
        return RegistryError(
            server,
            f"{image.repository}:{image.reference} not found" if not image.digest else f"{image} not found",
            kind=ErrorKind.NOT_FOUND,
            hint="check the tag: it may not have been pushed yet, or was deleted",
        )
    return RegistryError(server, f"manifest request answered {status}", kind=ErrorKind.PROTOCOL)
