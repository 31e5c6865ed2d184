"""Writing the pull Secret from inside the cluster (the refresher's CronJob): the Kubernetes API, no kubectl.

The pod's service-account token authenticates; the Secret is read, the renewed entries replace their
old ones (every other registry in it is kept), and the result is written with server-side apply, so
the Role needs only `get`, `patch` and `create` on this one Secret's name.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from private_registries.credential import Credential
from private_registries.deploy import kubernetes
from private_registries.dockerconfig import dockerconfigjson
from private_registries.errors import InputError, RegistriesError
from private_registries.secret import Secret
from private_registries.transport import NetworkFailure, Transport, TransportOptions

FIELD_MANAGER = "private-registries"


@dataclass(frozen=True)
class InCluster:
    """The API server as a pod sees it: KUBERNETES_SERVICE_HOST/PORT and the mounted service account."""

    url: str
    token: Secret
    namespace: str | None
    transport: Transport

    @classmethod
    def from_env(cls, env: Mapping[str, str], account_dir: Path) -> InCluster:
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT") or "443"
        if not host:
            raise InputError(
                "--apply works only inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)",
                hint="outside the cluster, pipe the Secret to kubectl:\n"
                "registries pull-secret | kubectl apply -f -",
            )
        try:
            token = Secret((account_dir / "token").read_text().strip())
            ca = account_dir / "ca.crt"
            ca.stat()
        except OSError as exc:
            raise InputError(
                f"no service-account credentials in {account_dir}: {exc.strerror}",
                hint="the pod needs its service account token mounted (automountServiceAccountToken: true)",
            ) from None
        try:
            namespace: str | None = (account_dir / "namespace").read_text().strip() or None
        except OSError:
            namespace = None
        options = replace(TransportOptions.from_env(env), ca_bundle=str(ca))
        address = f"[{host}]" if ":" in host else host
        return cls(f"https://{address}:{port}", token, namespace, Transport(options, pool_size=2))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token.reveal()}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        try:
            return self.transport.request(method, self.url + path, headers=headers, **kwargs)
        except NetworkFailure as failure:
            raise RegistriesError(f"the Kubernetes API at {self.url}: {failure.reason}") from None


@dataclass(frozen=True)
class Renewed:
    namespace: str
    name: str
    servers: list[str]
    kept: list[str]  # other registries already in the Secret, left as they were
    created: bool


def renew(cluster: InCluster, credentials: Sequence[Credential], name: str, namespace: str | None) -> Renewed:
    """Put these credentials into Secret `name`, keeping its other registries; create it if missing."""
    namespace = namespace or cluster.namespace
    if not namespace:
        raise InputError("no namespace: give --namespace (the service account did not tell one)")
    path = f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}"
    response = cluster.request("GET", path)
    _check(response, "read", namespace, name)
    auths: dict[str, Any] = {}
    if response.status_code == 200:
        auths = _existing_auths(response.json(), namespace, name)
    ours = dockerconfigjson(credentials)["auths"]
    kept = [key for key in auths if key not in ours]
    auths.update(ours)
    blob = kubernetes.b64(kubernetes.serialize(auths))
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": kubernetes.expiry_annotations(credentials),
        },
        "type": kubernetes.SECRET_TYPE,
        "data": {kubernetes.SECRET_KEY: blob.reveal()},
    }
    applied = cluster.request(
        "PATCH",
        f"{path}?fieldManager={FIELD_MANAGER}&force=true",
        data=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    _check(applied, "write", namespace, name)
    return Renewed(namespace, name, list(ours), kept, response.status_code == 404)


def _existing_auths(secret: Any, namespace: str, name: str) -> dict[str, Any]:
    if secret.get("type") != kubernetes.SECRET_TYPE:
        raise InputError(
            f"Secret {namespace}/{name} is of type {secret.get('type')!r}, not {kubernetes.SECRET_TYPE}; "
            "it was left as it is",
            hint="give the refresher another --name",
        )
    raw = (secret.get("data") or {}).get(kubernetes.SECRET_KEY)
    if not raw:
        return {}
    try:
        auths = json.loads(base64.b64decode(raw)).get("auths")
    except (ValueError, AttributeError):
        auths = None
    if not isinstance(auths, dict):
        raise InputError(
            f"Secret {namespace}/{name}: {kubernetes.SECRET_KEY} is not a docker config; left as it is"
        )
    for entry in auths.values():  # they are secrets too: keep them out of any message
        if isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, str):
                    Secret(value)
    return auths


def _check(response: Any, verb: str, namespace: str, name: str) -> None:
    status = response.status_code
    if status in (200, 201) or (verb == "read" and status == 404):
        return
    if status in (401, 403):
        raise RegistriesError(
            f"the Kubernetes API refused to {verb} Secret {namespace}/{name} ({status})",
            hint="the refresher's Role must allow get, patch and create on this Secret's name; "
            "apply the manifests of: registries pull-secret --refresher",
        )
    raise RegistriesError(f"the Kubernetes API answered {status} to {verb} Secret {namespace}/{name}")
