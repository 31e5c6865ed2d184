"""Secret values and the masker that keeps them (and every form derived from them) out of output.

A `Secret` never prints its value: `str()`, `repr()` and f-strings give `***`, so a secret that slips
into an exception or a log line is harmless. Code that needs the value calls `reveal()`.

Every secret is registered with the process-wide `MASKER` when it is made. Everything this program
prints goes through `MASKER.redact()`, and in GitHub Actions each value is also announced with
`::add-mask::` (the `on_register` hook) before anything else reaches the log.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"

# Values this short would mask half the log ("a", "1") and cannot be secret anyway.
_MIN_MASKED_LENGTH = 3


class Masker:
    """The set of secret strings known to this process, and the means to scrub them from text.

    `redact` costs about the same for ten secrets or ten thousand: one regular expression of the
    secrets' first few characters (a trie, rebuilt when a secret is added) finds where one may start,
    and only there are the secrets that start so compared with the text.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        self._index: _Index | None = None  # None: to build again

    def register(self, *values: str) -> None:
        for value in values:
            for form in _forms(value):
                with self._lock:
                    if form in self._values:
                        continue
                    self._values.add(form)
                    self._index = None
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
            if not self._values:
                return text
            if self._index is None:
                self._index = _Index(self._values)
            index = self._index
        return index.redact(text)

    def known(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._listeners.clear()
            self._index = None


def _forms(value: str) -> list[str]:
    """The value, each of its lines and each part between other control characters (a multi-line
    secret is masked line by line too; a NUL cannot be announced raw), and the forms it travels in:
    base64 (a Basic header, a config.json, a Kubernetes Secret's data) and URL-encoded (a query
    string, a form)."""
    forms = []
    if len(value) >= _MIN_MASKED_LENGTH:
        forms = [value, base64.b64encode(value.encode()).decode(), quote(value, safe=""), quote_plus(value)]
    parts = _BREAKS.split(value)
    if len(parts) > 1:
        forms += [part for part in parts if len(part.strip()) >= _MIN_MASKED_LENGTH]
    return list(dict.fromkeys(forms))


# Where a secret is split into parts masked on their own: line breaks and every control character
# but tab that a workflow command writes as an escape (text._CONTROLS: C0, C1, bidirectional marks).
_BREAKS = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+"
)


# How many first characters of each secret the index's pattern holds.
_KEY = 4


class _Index:
    """The secrets by their first `_KEY` characters (or all of them, when shorter), longest first, and
    one pattern that finds where any of those keys starts."""

    def __init__(self, values: set[str]) -> None:
        self.by_key: dict[str, list[str]] = {}
        for value in sorted(values, key=len, reverse=True):
            self.by_key.setdefault(value[:_KEY], []).append(value)
        self.pattern = re.compile(_trie(self.by_key))

    def redact(self, text: str) -> str:
        parts: list[str] = []
        done = at = 0
        while (found := self.pattern.search(text, at)) is not None:
            start = found.start()
            value = self._at(text, start)
            if value is None:
                at = start + 1
                continue
            parts += [text[done:start], REDACTED]
            done = at = start + len(value)
        return "".join([*parts, text[done:]]) if parts else text

    def _at(self, text: str, start: int) -> str | None:
        """The longest secret that starts at `start`, if one does."""
        for length in range(_KEY, _MIN_MASKED_LENGTH - 1, -1):
            for value in self.by_key.get(text[start : start + length], ()):
                if text.startswith(value, start):
                    return value
        return None


def _trie(keys: Iterable[str]) -> str:
    """A pattern that matches any of `keys` (all short), written as a trie so that matching does not slow
    down with their number."""
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}  # a key ends here
    return _node(root)


def _node(node: dict[str, Any]) -> str:
    branches = [re.escape(char) + _node(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    if len(branches) == 1 and "" not in node:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if "" in node else group


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
