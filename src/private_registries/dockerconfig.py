"""Docker's config.json: merge credentials in (or take them out) without losing anything else.

Every other key and entry is kept; the file is replaced atomically, mode 0600, under a lock so
that two logins at once both land. A file we cannot parse is reported and left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from private_registries.credential import Credential
from private_registries.errors import DockerConfigError
from private_registries.fsutil import atomic_write, ensure_private_dir, locked

CONFIG_FILE = "config.json"


def default_dir(env: Mapping[str, str]) -> Path:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME") or os.path.expanduser("~")) / ".docker"


def auth_entry(credential: Credential) -> dict[str, str]:
    """As `docker login` writes it; with an identity token, the password is left empty."""
    entry = {"auth": credential.auth().reveal()}
    if credential.identity_token:
        entry["identitytoken"] = credential.identity_token.reveal()
    return entry


@dataclass
class MergeReport:
    path: Path
    written: list[str] = field(default_factory=list)
    # The entries that were there before under the keys we wrote (to put back: `restore`).
    previous: dict[str, Any] = field(default_factory=dict)
    # Keys whose credHelpers/credsStore win over `auths`: docker will not see what we wrote there.
    shadowed: dict[str, str] = field(default_factory=dict)


def merge(directory: Path, credentials: Iterable[Credential]) -> MergeReport:
    path = directory / CONFIG_FILE
    report = MergeReport(path)
    credentials = list(credentials)
    try:
        ensure_private_dir(directory)
        with locked(path):
            config = read(path)
            auths = _auths(config, path)
            for credential in credentials:
                if credential.config_key in auths and credential.config_key not in report.written:
                    report.previous[credential.config_key] = auths[credential.config_key]
                auths[credential.config_key] = auth_entry(credential)
                report.written.append(credential.config_key)
                helper = _helper_for(config, credential.config_key)
                if helper:
                    report.shadowed[credential.config_key] = helper
            _write(path, config)
    except OSError as exc:
        raise DockerConfigError(f"cannot write {path}: {exc.strerror}") from None
    return report


def remove(directory: Path, keys: Iterable[str]) -> list[str]:
    """Take these keys out of `auths`; returns the ones that were there. A missing file is fine."""
    path = directory / CONFIG_FILE
    if not path.exists():
        return []
    try:
        with locked(path):
            config = read(path)
            auths = _auths(config, path)
            removed = [key for key in keys if auths.pop(key, None) is not None]
            if removed:
                _write(path, config)
    except OSError as exc:
        raise DockerConfigError(f"cannot write {path}: {exc.strerror}") from None
    return removed


# What the CLI keeps in its config folder besides config.json, that a temporary config must still reach.
SHARED_FOLDERS = ("buildx", "contexts", "cli-plugins")
# Where credentials come from besides `auths`: dropped from a temporary config, so that only ours count.
CREDENTIAL_KEYS = ("auths", "credsStore", "credHelpers")


def buildx_state(env: Mapping[str, str]) -> Path:
    """Where buildx keeps its state for our temporary configs when the user's config has no buildx/
    of its own: a cache of ours (`${XDG_CACHE_HOME:-~/.cache}/private-registries/buildx`)."""
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or os.path.expanduser("~")) / ".cache")
    return Path(cache) / "private-registries" / "buildx"


@contextlib.contextmanager
def temporary(
    credentials: Iterable[Credential], user_dir: Path, *, buildx_state: Path | None = None
) -> Iterator[Path]:
    """A private folder (0700) whose config.json holds exactly these credentials and the user's other
    settings, with the user's buildx/, contexts/ and cli-plugins/ linked in; removed when done,
    however it ends. Nothing is written to the user's folder.

    When the user has no buildx/, `buildx_state` (made, 0700) is linked in its place: buildx keeps
    there the node ID that BuildKit knows a build's context by, so that the next build sends only
    what changed (a new ID each time sends the whole context again, every build)."""
    user_config = read(user_dir / CONFIG_FILE)
    config = {key: value for key, value in user_config.items() if key not in CREDENTIAL_KEYS}
    config["auths"] = {credential.config_key: auth_entry(credential) for credential in credentials}
    folder = Path(tempfile.mkdtemp(prefix="registries-docker-"))  # 0700 from the start
    try:
        _write(folder / CONFIG_FILE, config)
        for name in SHARED_FOLDERS:
            shared = user_dir / name
            if not shared.is_dir() and name == "buildx" and buildx_state is not None:
                shared = _own_state(buildx_state)
            if shared.is_dir():
                (folder / name).symlink_to(shared.resolve(), target_is_directory=True)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # removes the links, never what they point to


def _own_state(folder: Path) -> Path:
    """Our own buildx state folder, made private if it is new; one that cannot be made is left out."""
    with contextlib.suppress(OSError):  # then buildx makes one in the temporary folder, as before
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@dataclass
class Restored:
    removed: list[str] = field(default_factory=list)  # keys we had added, taken out
    restored: list[str] = field(default_factory=list)  # keys we had replaced, given their old entry back
    changed: list[str] = field(default_factory=list)  # keys rewritten by someone else since: left alone


def restore(directory: Path, written: Mapping[str, Any], previous: Mapping[str, Any]) -> Restored:
    """Undo a `merge`: each key whose entry is still the one we `written` gets its `previous` entry
    back, or is removed when there was none. An entry changed since (a later login) is left as it is;
    every other key and entry too. A missing file is fine."""
    path = directory / CONFIG_FILE
    result = Restored()
    if not path.exists():
        return result
    try:
        with locked(path):
            config = read(path)
            auths = _auths(config, path)
            for key, entry in written.items():
                if key not in auths:
                    continue
                if auths[key] != entry:
                    result.changed.append(key)
                elif key in previous:
                    auths[key] = previous[key]
                    result.restored.append(key)
                else:
                    del auths[key]
                    result.removed.append(key)
            if result.removed or result.restored:
                _write(path, config)
    except OSError as exc:
        raise DockerConfigError(f"cannot write {path}: {exc.strerror}") from None
    return result


def read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DockerConfigError(f"cannot read {path}: {exc.strerror}") from None
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise DockerConfigError(
            f"{path} is not valid JSON{where}; it was left as it is",
            hint="fix it, or point --docker-config (or DOCKER_CONFIG) at another folder",
        ) from None
    if not isinstance(config, dict):
        raise DockerConfigError(f"{path} is not a JSON object; it was left as it is")
    return config


def _auths(config: dict[str, Any], path: Path) -> dict[str, Any]:
    auths = config.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise DockerConfigError(f'{path}: "auths" is not an object; the file was left as it is')
    return auths


def _helper_for(config: Mapping[str, Any], key: str) -> str | None:
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(key):
        return f"credHelpers ({helpers[key]})"
    if config.get("credsStore"):
        return f"credsStore ({config['credsStore']})"
    return None


def _write(path: Path, config: Mapping[str, Any]) -> None:
    atomic_write(path, (json.dumps(config, indent="\t") + "\n").encode(), mode=0o600)


def dockerconfigjson(credentials: Iterable[Credential]) -> dict[str, Any]:
    """The `.dockerconfigjson` of a Kubernetes Secret, as `kubectl create secret docker-registry`
    makes it: username, password and auth for each server (Docker Hub under its v1 key)."""
    auths: dict[str, Any] = {}
    for credential in credentials:
        auths[credential.config_key] = {
            "username": credential.username,
            "password": credential.password.reveal(),
            "auth": credential.auth().reveal(),
        }
    return {"auths": auths}
