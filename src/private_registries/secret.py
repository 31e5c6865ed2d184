"""Secret values and the masker that keeps them (and every form derived from them) out of output.

A `Secret` never prints its value: `str()`, `repr()` and f-strings give `***`, so a secret that slips
into an exception or a log line is harmless. Code that needs the value calls `reveal()`.

Every secret is registered with the process-wide `MASKER` when it is made. Everything this program
prints goes through `MASKER.redact()`, and in GitHub Actions each value is also announced with
`::add-mask::` (the `on_register` hook) before anything else reaches the log.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

REDACTED = "***"

# Values this short would mask half the log ("a", "1") and cannot be secret anyway.
_MIN_MASKED_LENGTH = 3


class Masker:
    """The set of secret strings known to this process, and the means to scrub them from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []

    def register(self, *values: str) -> None:
        for value in values:
            for form in _forms(value):
                with self._lock:
                    if form in self._values:
                        continue
                    self._values.add(form)
                    listeners = list(self._listeners)
                for listener in listeners:
                    listener(form)

    def on_register(self, listener: Callable[[str], None]) -> None:
        """Call `listener` for every value known now and registered later (the action's `::add-mask::`)."""
        with self._lock:
            self._listeners.append(listener)
            known = sorted(self._values)
        for value in known:
            listener(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def known(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._listeners.clear()


def _forms(value: str) -> list[str]:
    """The value, and each of its lines (a multi-line secret is masked line by line too)."""
    forms = [value] if len(value) >= _MIN_MASKED_LENGTH else []
    if "\n" in value or "\r" in value:
        forms += [line for line in value.splitlines() if len(line.strip()) >= _MIN_MASKED_LENGTH]
    return forms


MASKER = Masker()


class Secret:
    """A string that will not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        MASKER.register(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def basic_auth(username: str, password: Secret) -> Secret:
    """base64(user:pass), the form docker's config.json and Basic auth carry: itself a secret."""
    encoded = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode()
    return Secret(encoded)
