"""The Kubernetes pull Secret: the one `kubectl create secret docker-registry` makes, for every registry.

The `.dockerconfigjson` is serialised as Go's encoding/json does (compact, map keys sorted, `<>&`
escaped, empty fields left out), so the Secret is byte for byte what kubectl would have made. A
Secret built from short-lived credentials says when it stops working, in an annotation and a warning.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from private_registries.credential import Credential
from private_registries.deploy import names
from private_registries.dockerconfig import dockerconfigjson
from private_registries.errors import InputError, UsageError
from private_registries.hosts import RegistryType
from private_registries.secret import Secret

SECRET_TYPE = "kubernetes.io/dockerconfigjson"
SECRET_KEY = ".dockerconfigjson"
DEFAULT_NAME = names.DEFAULT_SECRET_NAME
SERVICEACCOUNT_DIR = names.SERVICEACCOUNT_DIR
EXPIRES_AT = "private-registries/expires-at"  # the earliest end, RFC 3339 (machines)
EXPIRES = "private-registries/expires"  # each short-lived server and its end (people)
FORMATS = ("yaml", "json")

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def check_name(name: str, option: str = "--name") -> str:
    """A Secret name is a DNS-1123 subdomain; the API server refuses anything else."""
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise UsageError(
            f"{option} {name!r} is not a valid Kubernetes Secret name",
            hint="use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit "
            f"(at most 253 characters), e.g. {_suggest(name)!r}",
        )
    return name


def check_namespace(namespace: str, option: str = "--namespace") -> str:
    """A namespace is a DNS-1123 label."""
    if len(namespace) > 63 or not _LABEL.match(namespace):
        raise UsageError(
            f"{option} {namespace!r} is not a valid Kubernetes namespace",
            hint="use lower-case letters, digits and '-', starting and ending with a letter or digit "
            f"(at most 63 characters), e.g. {_suggest(namespace).replace('.', '-')[:63]!r}",
        )
    return namespace


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return cleaned[:253] or DEFAULT_NAME


def usable(credentials: Iterable[Credential]) -> tuple[list[Credential], list[Credential]]:
    """Split off credentials the kubelet cannot use: an identity (refresh) token has no password."""
    good: list[Credential] = []
    bad: list[Credential] = []
    for credential in credentials:
        (bad if credential.identity_token else good).append(credential)
    return good, bad


def config_json(credentials: Iterable[Credential]) -> Secret:
    """`.dockerconfigjson`, serialised as kubectl (Go's encoding/json) serialises it; itself a secret."""
    return serialize(dockerconfigjson(credentials)["auths"])


def serialize(auths: Mapping[str, Mapping[str, str]]) -> Secret:
    """`{"auths": ...}` as Go writes it: compact, keys sorted, empty fields left out, `<>&` escaped."""
    compact = {key: {k: v for k, v in entry.items() if v} for key, entry in sorted(auths.items())}
    text = json.dumps({"auths": compact}, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return Secret(text)


def encoded(credentials: Iterable[Credential]) -> Secret:
    """base64 of `.dockerconfigjson`, as the Secret's data (and the action's output) carries it."""
    return b64(config_json(credentials))


def b64(value: Secret) -> Secret:
    return Secret(base64.b64encode(value.reveal().encode()).decode())


def build_secret(
    credentials: Sequence[Credential],
    name: str = DEFAULT_NAME,
    namespace: str | None = None,
    *,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Secret as a dict, fields in kubectl's order (kind, apiVersion, metadata, data, type)."""
    check_name(name)
    if namespace:
        check_namespace(namespace)
    if not credentials:
        raise InputError("no registries for the pull secret", hint="add one: registries add SERVER USER -")
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    notes = {**expiry_annotations(credentials), **(annotations or {})}
    if notes:
        metadata["annotations"] = notes
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": metadata,
        "data": {SECRET_KEY: encoded(credentials).reveal()},
        "type": SECRET_TYPE,
    }


def render(secret: Mapping[str, Any], fmt: str = "yaml") -> str:
    """As `kubectl ... -o yaml` (keys sorted) or `-o json` (4-space indent) prints it."""
    if fmt == "json":
        return json.dumps(secret, indent=4, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    import yaml

    return yaml.safe_dump(dict(secret), sort_keys=True, default_flow_style=False, width=1 << 16)


def render_all(documents: Sequence[Mapping[str, Any]], fmt: str = "yaml") -> str:
    """Several objects: a multi-document YAML stream, or a JSON `List` as kubectl prints one."""
    if fmt == "json":
        return render({"apiVersion": "v1", "kind": "List", "items": list(documents)}, "json")
    import yaml

    return yaml.safe_dump_all(
        [dict(d) for d in documents], sort_keys=False, default_flow_style=False, width=1 << 16
    )


def expiry_annotations(credentials: Iterable[Credential]) -> dict[str, str]:
    """When a Secret of these credentials stops working, for whoever looks at it in the cluster."""
    credentials = list(credentials)
    ends = [c.expires_at for c in credentials if c.expires_at]
    ends_in_words = [f"{c.server}: {c.expires_text()}" for c in credentials if c.expires_at or c.lifetime]
    notes = {}
    if ends:
        notes[EXPIRES_AT] = rfc3339(min(ends))
    if ends_in_words:
        notes[EXPIRES] = "; ".join(ends_in_words)
    return notes


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_warnings(credentials: Iterable[Credential], *, runtime: str = "kubernetes") -> list[str]:
    """One plain warning per short-lived credential: when it stops working and what to use instead.

    `runtime` is where the credential goes: "kubernetes" (a refresher can renew ECR tokens there) or
    "convox" (the deploy step must run again).
    """
    warnings = []
    for credential in credentials:
        if not (credential.expires_at or credential.lifetime):
            continue
        server, when = credential.server, credential.expires_text()
        kind = credential.registry.type
        if kind in (RegistryType.ECR, RegistryType.ECR_PUBLIC):
            fix = (
                "renew it in the cluster every 6 hours: "
                "registries pull-secret --refresher | kubectl apply -f -"
                if runtime == "kubernetes"
                else "deploy again within 12 hours, or let the nodes pull from ECR with their own IAM role"
            )
            warnings.append(
                f"{server}: the pull secret holds an ECR token that stops working at {when} (ECR tokens "
                f"last 12 hours); pods that pull after that fail with ImagePullBackOff. {fix}"
            )
        elif kind == RegistryType.GHCR or credential.lifetime:
            warnings.append(
                f"{server}: the pull secret holds the job's GitHub token, which stops working at the {when}; "
                "pods that pull after that fail with ImagePullBackOff. Store a personal access token with "
                f"read:packages (or a GitHub App token your deploy renews) instead: "
                f"registries add {server} USER - (or password-env in the entry)"
            )
        else:
            warnings.append(f"{server}: the pull secret stops working at {when}")
    return warnings
