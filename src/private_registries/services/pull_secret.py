"""The Kubernetes pull Secret of some credentials (as `kubectl create secret docker-registry` makes it),
and the registries a set of manifests needs one for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from private_registries import fixes
from private_registries.config import Registry
from private_registries.credential import Credential
from private_registries.deploy import kubernetes, manifests
from private_registries.errors import Caveat, InputError
from private_registries.fsutil import atomic_write
from private_registries.images import servers_of
from private_registries.secret import Secret


@dataclass(frozen=True, kw_only=True)
class PullSecretOptions:
    name: str = kubernetes.DEFAULT_NAME
    namespace: str | None = None
    format: str = "yaml"  # or json
    output: Path | None = None  # write the Secret there (mode 0600, atomically); None: only return it


@dataclass(frozen=True)
class PullSecretResult:
    secret: Mapping[str, Any] | None  # None: no credential the kubelet can use
    text: str  # the Secret rendered in `format` ("" with no Secret); it holds the credentials
    credentials: tuple[Credential, ...]  # in the Secret
    left_out: tuple[Credential, ...]  # identity (refresh) tokens: the kubelet cannot use them
    warnings: tuple[Caveat, ...]
    written: Path | None = None

    @property
    def dockerconfigjson(self) -> Secret:
        """base64 of the Secret's `.dockerconfigjson` (the action's `dockerconfigjson` output)."""
        return kubernetes.encoded(self.credentials)


def pull_secret(options: PullSecretOptions, credentials: Sequence[Credential]) -> PullSecretResult:
    usable, left_out = kubernetes.usable(credentials)
    warnings = [
        Caveat(
            f"{credential.server}: left out: it holds an identity (refresh) token, which the kubelet "
            "cannot use; store a username and password (or an access token) for runtime pulls"
        )
        for credential in left_out
    ]
    if not usable:
        return PullSecretResult(None, "", (), tuple(left_out), tuple(warnings))
    secret = kubernetes.build_secret(usable, options.name, options.namespace)
    text = kubernetes.render(secret, options.format)
    warnings += [Caveat(warning) for warning in kubernetes.expiry_warnings(usable)]
    if options.output is not None:
        try:
            atomic_write(options.output, text.encode(), mode=0o600)
        except OSError as exc:
            raise InputError(f"cannot write {options.output}: {exc.strerror}") from None
    return PullSecretResult(secret, text, tuple(usable), tuple(left_out), tuple(warnings), options.output)


def registries_for(
    held: Sequence[Registry], files: Sequence[Path], *, kinds: Sequence[str] = ()
) -> list[Registry]:
    """The registries held that the images of these manifests' pod templates (and image volumes) come
    from; `kinds` add workload kinds (KIND[.GROUP]=path.to.podSpec)."""
    if not held:
        raise InputError("no registries for the pull secret", hint=fixes.add_registry(stdin=True))
    needed = servers_of(manifests.held_images(files, extra_kinds=kinds))
    chosen = [registry for registry in held if registry.server in needed]
    if not chosen:
        names = ", ".join(str(path) for path in files)
        raise InputError(
            f"no image in {names} comes from a registry we hold",
            hint=f"their images come from: {', '.join(needed) or 'nowhere (no pod templates)'}; "
            f"we hold: {', '.join(r.server for r in held)}",
        )
    return chosen
