"""The Kubernetes pull Secret: the one `kubectl create secret docker-registry` makes, for every registry.

The `.dockerconfigjson` is serialised as Go's encoding/json does (compact, map keys sorted, `<>&`
escaped, empty fields left out), and the Secret is printed as kubectl prints it: `-o json` in the
Secret type's field order, 4-space indent, `<>&` escaped; `-o yaml` as sigs.k8s.io/yaml (go-yaml v2)
writes it: keys in go-yaml's order, a string that would read back as another type double-quoted,
long strings folded at 80 columns; `creationTimestamp: null` as a dry run leaves it. So the Secret is
byte for byte what kubectl would have made. A Secret built from short-lived credentials says when it
stops working, in an annotation and a warning.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from private_registries.credential import Credential
from private_registries.deploy import names
from private_registries.dockerconfig import dockerconfigjson
from private_registries.errors import InputError, UsageError
from private_registries.hosts import RegistryType
from private_registries.secret import Secret

if TYPE_CHECKING:
    import yaml

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
    metadata["creationTimestamp"] = None  # as kubectl's dry run leaves it (ObjectMeta's field order)
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
    """As `kubectl ... -o yaml` or `-o json` prints it (json.MarshalIndent: the dict's order, 4-space
    indent, `<>&` escaped; YAML: go-yaml v2's, see `go_yaml`)."""
    if fmt == "json":
        text = json.dumps(secret, indent=4, ensure_ascii=False)
        for char, escaped in _GO_ESCAPES.items():  # only strings can hold them
            text = text.replace(char, escaped)
        return text + "\n"
    if fmt != "yaml":
        raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    return go_yaml(secret)


# --- YAML as kubectl writes it ---------------------------------------------------------------------
# kubectl's `-o yaml` is sigs.k8s.io/yaml: the object's JSON read back by go-yaml v2 and written by its
# emitter, a port of libyaml as PyYAML's is. What differs is go-yaml's own: which strings it quotes
# (those its resolver would read as another type: double-quoted), its map key order, Unicode as is,
# and the 80-column width, which libyaml's emitter applies the same way. (Not followed: go-yaml's
# ways with the Unicode line breaks U+0085, U+2028 and U+2029 inside a string.)

_GO_BOOL = [f for w in ("yes", "true", "on", "no", "false", "off") for f in (w, w.capitalize(), w.upper())]
_GO_INFINITY = [sign + form for sign in ("", "+", "-") for form in (".inf", ".Inf", ".INF")]
_GO_MAP = {
    **dict.fromkeys(["y", "Y", "n", "N", *_GO_BOOL], "bool"),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], "null"),
    **dict.fromkeys([".nan", ".NaN", ".NAN", *_GO_INFINITY], "float"),
}
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")  # strconv.ParseFloat of `.…`
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_GO_TIMESTAMP = re.compile(  # the layouts go-yaml tries: 2006-1-2T15:4:5.999999999Z07:00, ... 2006-1-2
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[-+]([0-9]{2}):([0-9]{2}))"
    r"| ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?)?"
)


def _go_timestamp(text: str) -> bool:
    match = _GO_TIMESTAMP.fullmatch(text)
    if not match:
        return False
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    clock = match.group(4, 5, 6) if match[4] else match.group(9, 10, 11)
    if clock[0] is not None and not (int(clock[0]) < 24 and int(clock[1]) < 60 and int(clock[2]) < 60):
        return False
    return match[7] is None or (int(match[7]) <= 24 and int(match[8]) <= 60)


def _go_int(plain: str) -> bool:
    """strconv.ParseInt(plain, 0, 64), else ParseUint."""
    match = _GO_INT.fullmatch(plain)
    if not match:
        return False
    sign, digits = match.groups()
    octal = len(digits) > 1 and digits[0] == "0" and digits[1] in "01234567"
    value = int(digits, 8) if octal else int(digits, 0)
    return value <= 2**63 if sign == "-" else value < (2**63 if sign == "+" else 2**64)


def go_tag(text: str) -> str:
    """What go-yaml v2's resolver reads a plain scalar as: str, bool, null, int, float or timestamp."""
    first = text[:1]
    if text in _GO_MAP:
        return _GO_MAP[text]
    if first == ".":
        return "float" if _GO_DOT_FLOAT.fullmatch(text) else "str"
    if first and first in "+-0123456789":
        if _go_timestamp(text):
            return "timestamp"
        plain = text.replace("_", "")
        if _go_int(plain):
            return "int"
        if _GO_FLOAT.fullmatch(plain) and not math.isinf(float(plain)):
            return "float"
    return "str"


def go_plain(text: str) -> bool:
    """go-yaml writes a string plain (when the emitter allows) only if it reads back as a string."""
    first = text[:1]
    base60 = first and first in "+-0123456789" and ":" in text and _GO_BASE60.fullmatch(text)
    return go_tag(text) == "str" and not base60


def _go_less(a: str, b: str) -> bool:
    """go-yaml v2's map key order (keyList.Less): a digit run compares by its value, and a letter
    comes after anything else. Not a total order on every set of keys (go-yaml's output then depends
    on Go's map order); it is on the keys of a Secret."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return b_letter
        a_number = b_number = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    a_number = b_number = 1
                    break
                j -= 1
        a_end = i
        while a_end < len(a) and a[a_end].isdecimal():
            a_number = a_number * 10 + ord(a[a_end]) - ord("0")
            a_end += 1
        b_end = i
        while b_end < len(b) and b[b_end].isdecimal():
            b_number = b_number * 10 + ord(b[b_end]) - ord("0")
            b_end += 1
        if a_number != b_number:
            return a_number < b_number
        if a_end != b_end:
            return a_end < b_end
        return a[i] < b[i]
    return len(a) < len(b)


def _go_compare(a: str, b: str) -> int:
    return -1 if _go_less(a, b) else 1 if _go_less(b, a) else 0


_GO_KEY = functools.cmp_to_key(_go_compare)


def _go_ordered(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _go_ordered(value[key]) for key in sorted(value, key=_GO_KEY)}
    if isinstance(value, list | tuple):
        return [_go_ordered(item) for item in value]
    return value


@functools.cache
def _go_dumper() -> type[yaml.SafeDumper]:
    import yaml

    class GoDumper(yaml.SafeDumper):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            """go-yaml's reading of a plain scalar (the emitter writes a string plain only if this
            says str); no other resolvers are registered, so the rest are the default tags."""
            if kind is yaml.ScalarNode:
                if not implicit[0]:
                    return "tag:yaml.org,2002:str"
                tag = go_tag(value)
                return f"tag:yaml.org,2002:{'float' if tag == 'str' and not go_plain(value) else tag}"
            return "tag:yaml.org,2002:seq" if kind is yaml.SequenceNode else "tag:yaml.org,2002:map"

    def string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
        style = "|" if "\n" in text else None if go_plain(text) else '"'
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    GoDumper.add_representer(str, string)
    return GoDumper


def go_yaml(document: Mapping[str, Any]) -> str:
    """One object as `kubectl ... -o yaml` prints it."""
    import yaml

    return yaml.dump(
        _go_ordered(document),
        Dumper=_go_dumper(),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=80,
    )


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
        elif credential.registry.keyless:
            warnings.append(
                f"{server}: the pull secret holds a token minted from the job's OIDC token, which stops "
                f"working at {when}; pods that pull after that fail with ImagePullBackOff. Let the "
                "cluster pull with its own identity instead (GKE Workload Identity or the node's service "
                "account, AKS's kubelet identity with AcrPull), or deploy again before then"
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
