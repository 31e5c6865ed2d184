"""Errors a user can act on. Each carries its exit code and, where we know it, the likely fix.

`cli.main` is the one place that turns them into messages; nothing else prints a traceback.
"""

from __future__ import annotations


class RegistriesError(Exception):
    """Something the user can fix. `message` says what failed; `hint` says how to fix it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(RegistriesError):
    """The command line itself is wrong."""

    exit_code = 2


class InputError(RegistriesError):
    """A registry entry, a file or an input value is malformed. The message names where."""


class StoreError(RegistriesError):
    """The credentials store cannot be read or written."""


class NoSuchRegistry(RegistriesError):
    def __init__(self, server: str) -> None:
        super().__init__(f"no such registry: {server}")


class GitHubError(RegistriesError):
    """The GitHub API refused or failed a call."""


class RegistryError(RegistriesError):
    """A registry refused a credential, or could not be reached. The message starts with the server.

    `kind` says which, for callers that sort failures: rejected (401), forbidden (403), not-found,
    unreachable, tls, timeout, protocol (the registry answered something we cannot use), no-credential.
    """

    def __init__(self, server: str, problem: str, *, kind: str, hint: str | None = None) -> None:
        super().__init__(f"{server}: {problem}", hint=hint)
        self.server = server
        self.problem = problem
        self.kind = kind


class DockerConfigError(RegistriesError):
    """config.json cannot be read or written."""


class Failures(RegistriesError):
    """Several independent failures (one per registry); each was already reported."""

    def __init__(self, errors: list[RegistriesError]) -> None:
        super().__init__(f"{len(errors)} of the registries failed")
        self.errors = errors
