"""What the main stage hands the post stage, as one record: saved as JSON in $GITHUB_STATE, loaded
and checked field by field, so a hand-over that does not fit is a warning, not a wrong deletion.

No secret travels here (the state reaches post as an env variable): the entries main replaced in a
config.json, and the ones it wrote, are kept in UNDO_FILE inside main's own folder (0600).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from private_registries import gha
from private_registries.errors import InputError

NAME = "private_registries"  # read back as STATE_private_registries
UNDO_FILE = "undo.json"  # in `folder`: {"written": {key: entry}, "replaced": {key: entry}}
PULL_SECRET_FILE = "pull-secret.yaml"  # in `folder`, when main made the pull secret


@dataclass(frozen=True, kw_only=True)
class ActionState:
    logout: bool = True  # post removes what main wrote
    folder: str = ""  # main's own folder under runner.temp (its path in the container): post removes it
    docker_config: str = ""  # the folder of the config.json main merged into (== folder when it made it)
    docker_config_host: str = ""  # the same folder as the host sees it, for messages
    merged: bool = False  # docker_config is the job's own DOCKER_CONFIG, left set as it was
    added: tuple[str, ...] = ()  # the auths keys main added ...
    replaced: tuple[str, ...] = ()  # ... and the ones it replaced (post restores them)

    def save(self, env: Mapping[str, str]) -> None:
        gha.save_state(env, {NAME: json.dumps(asdict(self))})

    @classmethod
    def load(cls, env: Mapping[str, str]) -> ActionState | None:
        """The main stage's state; None when it left none (it wrote nothing)."""
        text = env.get(f"STATE_{NAME}")
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        types = {field.name: str(field.type) for field in fields(cls)}
        if not isinstance(data, dict) or set(data) != set(types):
            raise InputError(f"the main stage's state (STATE_{NAME}) is not one this version wrote")
        for name, value in data.items():
            if types[name] == "tuple[str, ...]":  # a JSON list of strings
                fits = isinstance(value, list) and all(isinstance(item, str) for item in value)
                data[name] = tuple(value) if fits else value
            else:
                fits = type(value).__name__ == types[name]
            if not fits:
                raise InputError(f"the main stage's state (STATE_{NAME}): {name} is not a {types[name]}")
        return cls(**data)
