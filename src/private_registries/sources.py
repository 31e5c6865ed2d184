"""Reading registry entries from files and action inputs (YAML or JSON), with errors that say where.

Each reader takes an optional `withheld` list: given one, an entry GitHub gives this run nothing to log
in with (a fork's pull request, Dependabot's: a password-env not set, a keyless entry with no OIDC
token) is left out and put there, for the caller's notice; without one, it is raised (Withheld, an
InputError that says why). Elsewhere an unset password-env is the plain error it always was."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from private_registries import yamlbounds
from private_registries.config import Registry, Withheld, parse_entries, parse_kept
from private_registries.errors import InputError
from private_registries.secret import MASKER
from private_registries.text import ENV_NAME, cut

SECRET_PREFIX = "REGISTRY_"


def slug(server: str) -> str:
    """The secret-name form of a server: upper case, every run of other characters than A-Z0-9 → `_`."""
    return re.sub(r"[^A-Z0-9]+", "_", server.upper())


def secret_name(server: str) -> str:
    return SECRET_PREFIX + slug(server)


def load_document(text: str, where: str) -> object:
    """Parse YAML (and so JSON), within yamlbounds' bounds. The error names the line and column,
    never the content."""
    yamlbounds.check(text, where)
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InputError(f"{where}: not valid YAML or JSON{at}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML or JSON ({type(exc).__name__})") from None


def from_file(
    path: Path, env: Mapping[str, str], *, withheld: list[Withheld] | None = None
) -> list[Registry]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"registries file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InputError(f"cannot read registries file {path}: {reason}") from None
    return parse_entries(load_document(text, str(path)), str(path), env, withheld=withheld)


def from_text(
    text: str, where: str, env: Mapping[str, str], *, withheld: list[Withheld] | None = None
) -> list[Registry]:
    if not text.strip():
        return []
    return parse_entries(load_document(text, where), where, env, withheld=withheld)


def from_secrets(
    text: str,
    where: str,
    env: Mapping[str, str],
    *,
    withheld: list[Withheld] | None = None,
    skipped: list[str] | None = None,
) -> list[Registry]:
    """The `REGISTRY_*` entries of `${{ toJSON(secrets) }}`; every other secret is ignored. A
    `REGISTRY_*` secret that is not a registry entry (an ordinary `REGISTRY_PASSWORD`: not a JSON
    object, or one without a server) is masked and, given a `skipped` list, left out with a warning
    there that names it (never its value); without one, it is an error."""
    if not text.strip():
        return []
    try:
        secrets = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        at = f" (line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(
            f"{where}: not valid JSON{at}",
            hint="pass the whole secrets context:\n  with:\n    secrets: ${{ toJSON(secrets) }}",
        ) from None
    if not isinstance(secrets, dict):
        raise InputError(f"{where}: expected a JSON object of secrets")
    registries = []
    for name in sorted(secrets):
        if not name.startswith(SECRET_PREFIX):
            continue
        value = secrets[name]
        entry = _entry_of(value)
        if entry is None:
            if isinstance(value, str):
                MASKER.register(value)
            shown = name if ENV_NAME.fullmatch(name) else cut(name)
            message = (
                f"{where}: secret {shown} is not a registry entry (its value is not a JSON object with a "
                'server), so it was skipped; a registry\'s secret holds {"server": ..., "username": ..., '
                '"password": ...} (registries add --repo OWNER/NAME SERVER USERNAME - writes one)'
            )
            if skipped is None:
                raise InputError(message)
            skipped.append(message)
            continue
        registry = parse_kept(entry, f"{where}: secret {name}", env, withheld)
        if registry is not None:
            registries.append(registry)
    return registries


def _entry_of(value: object) -> dict[str, object] | None:
    """A secret's value as a registry entry (a JSON object with a server), or None if it is not one."""
    try:
        entry = json.loads(value) if isinstance(value, str) else value
    except (json.JSONDecodeError, RecursionError):
        return None
    return entry if isinstance(entry, dict) and "server" in entry else None
