"""What the main stage hands the post stage, as one record: saved as JSON in $GITHUB_STATE, loaded
and checked field by field, so a hand-over that does not fit is a warning, not a wrong deletion."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from private_registries import gha
from private_registries.errors import InputError

NAME = "private_registries"  # read back as STATE_private_registries


@dataclass(frozen=True, kw_only=True)
class ActionState:
    logout: bool = True  # post removes what main wrote
    docker_config: str = ""  # the folder main made (its path in the container)
    docker_config_host: str = ""  # the same folder as the host sees it, for messages

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
        types = {field.name: field.type for field in fields(cls)}
        if not isinstance(data, dict) or set(data) != set(types):
            raise InputError(f"the main stage's state (STATE_{NAME}) is not one this version wrote")
        for name, value in data.items():
            if type(value).__name__ != types[name]:
                raise InputError(f"the main stage's state (STATE_{NAME}): {name} is not a {types[name]}")
        return cls(**data)
