"""The ECR refresher: a CronJob that renews the pull Secret in the cluster before its 12-hour token ends.

It runs this project's image every 6 hours as `registries pull-secret --apply`, with the cluster's own
AWS identity (IRSA: the ServiceAccount's role annotation; EKS Pod Identity: an association made
outside these manifests), so no AWS key and no password is ever written into them: they can be kept
in git. Its Role may touch only the one Secret, by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from private_registries import __version__
from private_registries.config import ROLE_ARN, Registry
from private_registries.deploy import kubernetes, names
from private_registries.errors import InputError, UsageError
from private_registries.hosts import RegistryType

DEFAULT_OWNER = "private-registries"
SCHEDULE = names.REFRESH_SCHEDULE
CONFIG_DIR = "/etc/private-registries"
CONFIG_FILE = "registries.yml"
TMP = "/tmp"  # noqa: S108 (inside the container: an emptyDir of its own, the only writable folder)
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
RENEWED = frozenset({RegistryType.ECR, RegistryType.ECR_PUBLIC})
_CRONJOB_NAME_MAX = 52  # the Job controller appends 11 characters to a CronJob's name
# What an entry keeps in the cluster: where the registry is, never how the job logged in to it.
_KEPT_FIELDS = ("server", "type", "aws-region", "aws-account", "insecure")


def default_image(env: Mapping[str, str]) -> str:
    """This version's image, as the release workflow publishes it: `ghcr.io/<owner>/private-registries`.

    Inside the action the owner is the one whose action the workflow uses (GITHUB_ACTION_REPOSITORY),
    so a fork's release is found too.
    """
    owner = env.get("GITHUB_ACTION_REPOSITORY", "").partition("/")[0].lower() or DEFAULT_OWNER
    return f"ghcr.io/{owner}/private-registries:{__version__}"


def renewable(registries: Sequence[Registry]) -> list[Registry]:
    return [registry for registry in registries if registry.type in RENEWED]


def refresher_name(secret_name: str) -> str:
    name = f"{secret_name}-refresher"
    if len(name) <= _CRONJOB_NAME_MAX:
        return name
    digest = hashlib.sha256(secret_name.encode()).hexdigest()[:8]
    return f"{name[: _CRONJOB_NAME_MAX - 9].rstrip('-.')}-{digest}"


def manifests(
    registries: Sequence[Registry],
    secret_name: str = kubernetes.DEFAULT_NAME,
    namespace: str | None = None,
    *,
    image: str,
    schedule: str = SCHEDULE,
    irsa_role_arn: str | None = None,
) -> list[dict[str, Any]]:
    """ServiceAccount, Role, RoleBinding, ConfigMap (the ECR entries) and CronJob, in apply order."""
    kubernetes.check_name(secret_name)
    if namespace:
        kubernetes.check_namespace(namespace)
    if irsa_role_arn and not ROLE_ARN.match(irsa_role_arn):
        raise UsageError(
            f"--irsa-role-arn {irsa_role_arn!r} is not an IAM role ARN",
            hint="e.g. arn:aws:iam::123456789012:role/ecr-pull",
        )
    ecr = renewable(registries)
    if not ecr:
        raise InputError(
            "no ECR registry to refresh: only ECR tokens expire while the credentials behind them last",
            hint="add one (registries add 123456789012.dkr.ecr.us-east-1.amazonaws.com AWS -) "
            "or pass --registries FILE",
        )
    name = refresher_name(secret_name)
    labels = {
        "app.kubernetes.io/name": "registries-refresher",
        "app.kubernetes.io/instance": secret_name,
        "app.kubernetes.io/managed-by": "private-registries",
    }

    def metadata(**extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        meta["labels"] = dict(labels)
        meta.update(extra)
        return meta

    import yaml

    entries = [{k: v for k, v in r.to_entry().items() if k in _KEPT_FIELDS} for r in ecr]
    account: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata()}
    if irsa_role_arn:
        account["metadata"]["annotations"] = {IRSA_ANNOTATION: irsa_role_arn}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [secret_name],
                # The job writes with server-side apply (a PATCH to the Secret's own path), never a
                # POST. An apply that creates the Secret is authorized as `patch`, then as `create`
                # with the name from its path (the apiserver's patch handler), so resourceNames holds
                # for both. A POST create has no name yet, and no rule limited by name could grant it.
                "verbs": ["get", "patch", "create"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [
            {"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}
        ],
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(),
        "data": {CONFIG_FILE: yaml.safe_dump(entries, sort_keys=False)},
    }
    args = ["pull-secret", "--apply", "--name", secret_name]
    if namespace:
        args += ["--namespace", namespace]
    args += [
        "--registries",
        f"{CONFIG_DIR}/{CONFIG_FILE}",
        "--service-account-dir",
        kubernetes.SERVICEACCOUNT_DIR,
    ]
    container = {
        "name": "refresh",
        "image": image,
        "command": ["registries"],
        "args": args,
        "env": [
            {"name": "HOME", "value": TMP},
            {"name": "XDG_CONFIG_HOME", "value": f"{TMP}/.config"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        ],
        "volumeMounts": [
            {"name": "registries", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": TMP},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 4,
                    "activeDeadlineSeconds": 900,
                    "template": {
                        "metadata": {"labels": dict(labels)},
                        "spec": {
                            "serviceAccountName": name,
                            "automountServiceAccountToken": True,
                            "restartPolicy": "OnFailure",
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 65532,
                                "runAsGroup": 65532,
                                "fsGroup": 65532,  # the projected token is readable by this group
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "containers": [container],
                            "volumes": [
                                {"name": "registries", "configMap": {"name": name}},
                                {"name": "tmp", "emptyDir": {}},
                            ],
                        },
                    },
                }
            },
        },
    }
    return [account, role, binding, config, cronjob]


def identity_hint(secret_name: str, namespace: str | None, irsa_role_arn: str | None) -> str:
    """What the cluster side still needs: an AWS identity for the refresher's ServiceAccount."""
    account = refresher_name(secret_name)
    ns = namespace or "NAMESPACE"
    if irsa_role_arn:
        where = f"IRSA: the ServiceAccount {account} is annotated with {irsa_role_arn}"
    else:
        where = (
            f"EKS Pod Identity: aws eks create-pod-identity-association --cluster-name CLUSTER "
            f"--namespace {ns} --service-account {account} --role-arn ROLE_ARN (or IRSA: --irsa-role-arn ARN)"
        )
    return (
        f"the refresher pulls ECR tokens with the cluster's AWS identity; its role needs "
        f"ecr:GetAuthorizationToken. {where}. Run it once now: kubectl create job -n {ns} "
        f"--from=cronjob/{account} {account}-first"
    )
