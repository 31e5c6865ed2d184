"""What the keyless exchanges share: a cloud's JSON answer read safely, its refusal in few words, and a
library's HTTP sent through our transport.

A token endpoint may be anyone's (an endpoint variable, a proxy): its words are cut short before
they are quoted, and the console makes them inert; its JSON may be anything.
"""

from __future__ import annotations

from typing import Any

import requests

from private_registries.text import cut

QUOTED = 200  # characters of a server's own words quoted in an error


def json_of(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is none."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def refusal(response: requests.Response) -> str:
    """A refusal in a user's words: `400 invalid_grant: The audience ... does not match`.

    OAuth's `{"error": code, "error_description": text}`, Google's `{"error": {"status", "message"}}`,
    a registry's `{"errors": [{"code", "message"}]}`, or the status alone."""
    data = json_of(response)
    error = data.get("error")
    code, text = "", ""
    if isinstance(error, dict):
        code, text = str(error.get("status") or error.get("code") or ""), str(error.get("message") or "")
    elif isinstance(error, str):
        code, text = error, str(data.get("error_description") or "")
    elif isinstance(data.get("errors"), list) and data["errors"] and isinstance(data["errors"][0], dict):
        first = data["errors"][0]
        code, text = str(first.get("code") or ""), str(first.get("message") or "")
    words = ": ".join(cut(part, QUOTED) for part in (code, text.splitlines()[0] if text else "") if part)
    return f"{response.status_code} {words}".strip()


def error_code(response: requests.Response) -> str:
    """The refusal's code alone (`invalid_grant`, `PERMISSION_DENIED`, `AADSTS70021`), "" if none."""
    data = json_of(response)
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("status") or "")
    description = str(data.get("error_description") or "")
    if description.startswith("AADSTS"):
        return description.split(":", 1)[0]
    return str(error or "")
