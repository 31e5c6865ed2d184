"""Errors a user can act on: what failed (its kind), where, and the fix. Each carries its exit code.

Services raise these, or return them in their results, and print nothing; a face (the CLI or the
action) prints each through `Console.failure`, and `cli.main` turns the ones nobody caught into that
same message. Warnings travel as `Caveat` records in results, printed by the faces too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self


class ErrorKind(StrEnum):
    """What went wrong, shared by network failures, registry answers and pre-flight results."""

    ERROR = "error"  # nothing more specific is known
    INPUT = "input"  # a flag, file, entry or input value is wrong
    NO_CREDENTIAL = "no-credential"  # nothing held for a registry that refuses anonymous pulls
    REJECTED = "rejected"  # 401: the credential itself was refused
    FORBIDDEN = "forbidden"  # 403: the credential is good, the account may not use the registry
    NO_ACCESS = "no-access"  # the credential may not pull this repository
    NOT_FOUND = "not-found"
    UNREACHABLE = "unreachable"  # refused, no route, name not known
    TLS = "tls"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # still 429 or 5xx after the retries
    PROTOCOL = "protocol"  # the server answered something we cannot use

    @property
    def label(self) -> str:
        """As a result column shows it (the pre-flight table)."""
        return _LABELS.get(self, "error")


_LABELS = {
    ErrorKind.NO_CREDENTIAL: "no credential",
    ErrorKind.REJECTED: "rejected",
    ErrorKind.FORBIDDEN: "no access",
    ErrorKind.NO_ACCESS: "no access",
    ErrorKind.NOT_FOUND: "not found",
    ErrorKind.UNREACHABLE: "unreachable",
    ErrorKind.TIMEOUT: "unreachable",
    ErrorKind.TLS: "unreachable",
    ErrorKind.UNAVAILABLE: "unavailable",
}


@dataclass(frozen=True)
class Location:
    """A place in a file the user wrote (a Dockerfile line, a manifest): where a failure points."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Caveat:
    """A warning, as data: a service returns these; the face prints them."""

    message: str
    where: Location | None = None


class RegistriesError(Exception):
    """Something the user can fix. `message` says what failed; `hint` says how to fix it."""

    exit_code = 1
    default_kind = ErrorKind.ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        kind: ErrorKind | None = None,
        where: Location | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind = kind or self.default_kind
        self.where = where

    def __str__(self) -> str:
        return self.message

    def at(self, where: Location) -> Self:
        """The same failure, pointing at `where` (the line that asked for what failed)."""
        located = self._copy()
        located.where = where
        return located

    def reworded(self, message: str, hint: str | None) -> Self:
        """The same failure, told in other words (a face's names for things)."""
        copy = self._copy()
        copy.message, copy.hint = message, hint
        copy.args = (message,)
        return copy

    def _copy(self) -> Self:
        copy = type(self).__new__(type(self))  # not copy.copy: it would call __init__ with args
        copy.__dict__.update(self.__dict__)
        copy.args = self.args
        return copy


class UsageError(RegistriesError):
    """The command line itself is wrong."""

    exit_code = 2
    default_kind = ErrorKind.INPUT


class InputError(RegistriesError):
    """A registry entry, a file or an input value is malformed. The message names where."""

    default_kind = ErrorKind.INPUT


class StoreError(RegistriesError):
    """The credentials store cannot be read or written."""


class NoSuchRegistry(RegistriesError):
    default_kind = ErrorKind.NOT_FOUND

    def __init__(self, server: str) -> None:
        super().__init__(f"no such registry: {server}")


class GitHubError(RegistriesError):
    """The GitHub API refused or failed a call."""


class AwsError(RegistriesError):
    """AWS refused or failed a call; the message says which call and why, never a key."""


class RegistryError(RegistriesError):
    """A registry refused a credential, or could not be reached. The message starts with the server."""

    def __init__(self, server: str, problem: str, *, kind: ErrorKind, hint: str | None = None) -> None:
        super().__init__(f"{server}: {problem}", hint=hint, kind=kind)
        self.server = server
        self.problem = problem


class DockerConfigError(RegistriesError):
    """config.json cannot be read or written."""


class BuildError(RegistriesError):
    """The daemon refused or failed the build or the push."""


class Failures(RegistriesError):
    """Several independent failures (one per registry or image), none printed yet."""

    def __init__(self, errors: list[RegistriesError]) -> None:
        super().__init__(f"{len(errors)} of the registries failed")
        self.errors = errors


BUG_HINT = "this is a bug in private-registries; please report it with the command you ran"


def internal_error(server: str, exc: Exception) -> RegistriesError:
    """An exception nobody expected, met while working on one registry: that registry's failure alone."""
    from private_registries.secret import MASKER

    return RegistriesError(
        f"{server}: internal error ({type(exc).__name__}): {MASKER.redact(str(exc))[:300]}", hint=BUG_HINT
    )
