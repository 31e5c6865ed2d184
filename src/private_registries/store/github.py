"""GitHub Actions secrets as a store: `--repo OWNER/NAME` (with `--env ENVIRONMENT`) or `--org ORG`.

GitHub never gives a secret's value back, so each registry is kept twice: its whole entry (with the
password) sealed into the Actions secret `REGISTRY_<SLUG>`, which a workflow hands to the action with
`secrets: ${{ toJSON(secrets) }}`, and its server and username in the plain Actions variable
`PRIVATE_REGISTRIES`, which is what `list` can read.

PyGithub's requests go through our Transport, with its bounds and a budget for a whole command
(store/github_http.py): REGISTRIES_TIMEOUT and REGISTRIES_RETRIES apply as to every other server.

PyGithub (and requests, urllib3) are imported inside the methods, so the local store never loads them.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from private_registries import __version__
from private_registries.config import Registry
from private_registries.errors import Caveat, ErrorKind, GitHubError, NoSuchRegistry, StoreError
from private_registries.hosts import detect_type, parse_server
from private_registries.secret import Secret
from private_registries.sources import secret_name
from private_registries.store.options import StoreOptions

if TYPE_CHECKING:
    from github.Environment import Environment
    from github.GithubException import GithubException
    from github.MainClass import Github
    from github.Organization import Organization
    from github.Repository import Repository
    from github.Variable import Variable
    from requests import RequestException

    from private_registries.transport import NetworkFailure, Transport

    Scope: TypeAlias = Repository | Environment | Organization

DEFAULT_API_URL = "https://api.github.com"
VARIABLE = "PRIVATE_REGISTRIES"
TOKEN_HINT = "set a token in GH_TOKEN or GITHUB_TOKEN, e.g.\n  export GH_TOKEN=$(gh auth token)"
WORKFLOW_HINT = (
    "in a workflow, hand the secrets to the action instead:\n"
    "  with:\n"
    "    secrets: ${{ toJSON(secrets) }}\n"
    "here, pass the credentials with --registries FILE, or keep them in the local store (no --repo/--org)"
)
API_HINT = (
    "check GITHUB_API_URL (GitHub: https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3)"
)
UNREACHABLE_HINT = "check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3) and the network"
STATUS_HINT = "GitHub may be having trouble (https://www.githubstatus.com); try again later"
CA_HINT = "behind a TLS-intercepting proxy, point REQUESTS_CA_BUNDLE at its CA bundle"
# What PyGithub raises, past its own exceptions, reading an answer of the wrong shape: JSON that does not
# parse, a list where it wants an object, a Link to another host (an assert), a redirect it refuses.
UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError, AssertionError, RuntimeError)
# What GitHub calls the permission to write variables, for a repository and for an organization.
_VARIABLES_WRITE = {False: "actions_variables=write", True: "organization_actions_variables=write"}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")

T = TypeVar("T")


class GitHubStore:
    """Registries kept as the Actions secrets of a repository, one of its environments, or an organization."""

    def __init__(
        self,
        options: StoreOptions,
        token: Secret,
        api_url: str = DEFAULT_API_URL,
        transport: Transport | None = None,
    ) -> None:
        if not (options.repo or options.org):
            raise ValueError("a GitHub store needs a repository or an organization")
        self.options = options
        self.api_url = api_url
        self._transport = transport
        self.description = describe(options)
        self.caveats: list[Caveat] = []
        self._token = token
        self._scope: Scope | None = None

    @classmethod
    def from_options(cls, options: StoreOptions, env: Mapping[str, str]) -> GitHubStore:
        # GH_TOKEN first, as gh does: in a workflow GITHUB_TOKEN is the job's own, which cannot write secrets
        token = (env.get("GH_TOKEN") or env.get("GITHUB_TOKEN") or "").strip()
        if not token:
            raise GitHubError(f"{describe(options)}: no GitHub token", hint=TOKEN_HINT)
        from private_registries.transport import Transport, TransportOptions

        return cls(options, Secret(token), api_url(env), Transport(TransportOptions.from_env(env)))

    # --- the Store protocol -------------------------------------------------------------------------

    def entries(self) -> list[Registry]:
        return self._read_list(self._open())[0]

    def add(self, registry: Registry) -> None:
        scope = self._open()
        listed, variable = self._read_list(scope)
        name = secret_name(registry.server)
        clash = [r.server for r in listed if r.server != registry.server and secret_name(r.server) == name]
        if clash:
            raise StoreError(
                f"{registry.server} and {clash[0]} would share the secret {name} in {self.description}",
                hint=f"GitHub can hold only one of them there: remove {clash[0]} first",
            )
        self._put_secret(scope, name, json.dumps(registry.to_entry()))
        kept = {r.server: r for r in listed}
        kept[registry.server] = registry
        done = f"the secret {name} was written; `registries list` shows it once the variable is updated"
        self._write_list(scope, variable, list(kept.values()), listed, done=done)

    def remove(self, server: str) -> None:
        scope = self._open()
        listed, variable = self._read_list(scope)
        kept = [r for r in listed if r.server != server]
        name = secret_name(server)
        # A secret of this name that another listed server owns (same slug) is not this server's to delete.
        owned = not any(secret_name(r.server) == name for r in kept)
        secret = self._find(f"read the secret {name} of {self.description}", lambda: scope.get_secret(name))
        if len(kept) == len(listed) and not (secret is not None and owned):
            raise NoSuchRegistry(server)
        if secret is not None and owned:
            with self._calling(f"delete the secret {name} of {self.description}"):
                secret.delete()
        done = (
            f"the secret {name} was deleted; `registries list` shows {server} until the variable is updated"
        )
        self._write_list(scope, variable, kept, listed, done=done)

    def credentials(self) -> list[Registry]:
        raise GitHubError(
            f"GitHub never gives secret values back, so the passwords kept in {self.description} "
            "cannot be read here",
            hint=WORKFLOW_HINT,
        )

    # --- GitHub -------------------------------------------------------------------------------------

    def _open(self) -> Scope:
        """The repository, environment or organization, fetched once (a 404 here names what is missing)."""
        if self._scope is None:
            self._scope = self._fetch_scope(self._client())
        return self._scope

    def _fetch_scope(self, github: Github) -> Scope:
        repo, environment, org = self.options.repo or "", self.options.environment, self.options.org
        if org:
            with self._calling(f"open {self.description}", not_found=_org_missing(org)):
                return github.get_organization(org)
        with self._calling(f"open GitHub repository {repo}", not_found=_repo_missing(repo)):
            repository = github.get_repo(repo)
        if not environment:
            return repository
        with self._calling(f"open {self.description}", not_found=_environment_missing(repo, environment)):
            return repository.get_environment(environment)

    def _client(self) -> Github:
        import math

        from github import Auth, Github

        from private_registries.store.github_http import PER_PAGE, bounded
        from private_registries.transport import Transport

        if self._transport is None:
            self._transport = Transport()
        # PyGithub waits 1 s between writes by default; a command makes two or three, so it need not.
        # Its timeout and retries are the transport's (its own connection is never used: see bounded).
        github = Github(
            auth=Auth.Token(self._token.reveal()),
            base_url=self.api_url,
            timeout=math.ceil(self._transport.options.read_timeout),
            retry=0,
            per_page=PER_PAGE,
            user_agent=f"private-registries/{__version__}",
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        return bounded(github, self.api_url, self._transport)

    def _read_list(self, scope: Scope) -> tuple[list[Registry], Variable | None]:
        doing = f"read the variable {VARIABLE} of {self.description}"
        variable = self._find(doing, lambda: scope.get_variable(VARIABLE))
        if variable is None:
            return [], None
        with self._calling(doing):
            text = variable.value
        return self._parse_list(text), variable

    def _write_list(
        self,
        scope: Scope,
        variable: Variable | None,
        registries: list[Registry],
        previous: list[Registry],
        *,
        done: str,
    ) -> None:
        """Update the variable after the secret changed; `done` tells what already happened if it fails."""
        text = encode_list(registries)
        if text == encode_list(previous):
            return
        doing = f"update the variable {VARIABLE} of {self.description}"
        try:
            with self._calling(doing):
                if variable is None:
                    _create_variable(scope, text)
                    return
                updated = _edit_variable(variable, text)
        except GitHubError as error:
            raise GitHubError(error.message, hint="\n".join(filter(None, [error.hint, done]))) from None
        if not updated:  # Variable.edit answers False instead of raising: the status and headers are lost
            raise GitHubError(
                f"cannot {doing}: GitHub refused the change",
                hint=self._permission_hint(_VARIABLES_WRITE[bool(self.options.org)]) + "\n" + done,
            )

    def _put_secret(self, scope: Scope, name: str, value: str) -> None:
        from github.Organization import Organization

        doing = f"write the secret {name} of {self.description}"
        if not isinstance(scope, Organization):
            with self._calling(doing), self._sealing(doing):
                scope.create_secret(name, value)
            return
        existing = self._find(f"read the secret {name} of {self.description}", lambda: scope.get_secret(name))
        with self._calling(doing), self._sealing(doing):
            # Replacing an organization secret keeps who may read it: never widen `selected` to `all`.
            if existing is None or existing.visibility == "all":
                scope.create_secret(name, value, visibility="all")
            elif existing.visibility == "selected":
                repositories = list(existing.selected_repositories)
                scope.create_secret(name, value, visibility="selected", selected_repositories=repositories)
            else:
                scope.create_secret(name, value, visibility=existing.visibility)

    def _find(self, doing: str, fetch: Callable[[], T]) -> T | None:
        """`fetch()`, or None where GitHub answers 404: the variable or secret does not exist yet."""
        from github.GithubException import GithubException

        with self._calling(doing):
            try:
                return fetch()
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise

    def _parse_list(self, text: str) -> list[Registry]:
        where = f"{self.description}: variable {VARIABLE}"
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except (json.JSONDecodeError, RecursionError):
            data = None
        if not isinstance(data, list):
            raise StoreError(
                f"{where} is not a JSON list of {{server, username}}; it was left as it is",
                hint=f"fix it on GitHub, or delete it (the secrets stay):\n  {self._gh('delete')}",
            )
        return [listed_registry(item, f"{where}: entry {index}") for index, item in enumerate(data, 1)]

    def _gh(self, action: str) -> str:
        where = f"--org {self.options.org}" if self.options.org else f"--repo {self.options.repo}"
        if self.options.environment:
            where += f" --env {self.options.environment}"
        return f"gh variable {action} {VARIABLE} {where}"

    # --- errors: every failure becomes a GitHubError, without the token or any secret ------------------

    @contextlib.contextmanager
    def _calling(self, doing: str, *, not_found: tuple[str, str] | None = None) -> Iterator[None]:
        import requests
        from github.GithubException import BadAttributeException, GithubException

        from private_registries.transport import NetworkFailure

        try:
            yield
        except GithubException as exc:
            raise self._refused(exc, doing, not_found) from None
        except NetworkFailure as failure:
            raise self._failed(failure, doing) from None
        except requests.RequestException as exc:
            raise self._unreachable(exc, doing) from None
        except (*UNREADABLE, BadAttributeException) as exc:
            # Only PyGithub runs in these blocks: this is its reading of an answer of the wrong shape.
            raise GitHubError(
                f"cannot {doing}: the GitHub API at {self.api_url} answered something PyGithub could not "
                f"read ({type(exc).__name__}: {_said(exc)})",
                kind=ErrorKind.PROTOCOL,
                hint=API_HINT,
            ) from None

    @contextlib.contextmanager
    def _sealing(self, doing: str) -> Iterator[None]:
        """PyGithub seals a secret with the key GitHub gives: libsodium's, 32 bytes in base64."""
        import binascii

        from nacl.exceptions import CryptoError

        try:
            yield
        except (binascii.Error, CryptoError) as exc:
            raise GitHubError(
                f"cannot {doing}: the GitHub API at {self.api_url} answered a public key for secrets that is "
                f"not 32 bytes in base64 ({_said(exc)}), so nothing was sealed or written",
                kind=ErrorKind.PROTOCOL,
                hint=API_HINT,
            ) from None

    def _refused(self, exc: GithubException, doing: str, not_found: tuple[str, str] | None) -> GitHubError:
        from github.GithubException import RateLimitExceededException

        status, said, headers = exc.status, _github_message(exc), exc.headers or {}
        if status == 401:
            return GitHubError(
                f"cannot {doing}: GitHub rejected the token (bad credentials): wrong, expired or revoked",
                hint=TOKEN_HINT,
            )
        if isinstance(exc, RateLimitExceededException) or status == 429:
            return GitHubError(
                f"cannot {doing}: the GitHub API rate limit is used up", hint=_reset_hint(headers)
            )
        if status == 403:
            return GitHubError(
                f"cannot {doing}: the token is not allowed to ({said or 'Forbidden'})",
                hint=self._permission_hint(headers.get("x-accepted-github-permissions")),
            )
        if status == 404 and not_found:
            return GitHubError(not_found[0], hint=not_found[1])
        if status >= 500:
            return GitHubError(
                f"cannot {doing}: GitHub answered {status} {said}, also when asked again".rstrip(),
                hint=STATUS_HINT,
            )
        return GitHubError(f"cannot {doing}: GitHub answered {status} {said}".rstrip())

    def _failed(self, failure: NetworkFailure, doing: str) -> GitHubError:
        """A request the transport gave up on, or one past the command's budget."""
        api, kind = self.api_url, failure.kind
        if kind == ErrorKind.TLS:
            return GitHubError(
                f"cannot {doing}: the TLS certificate of {api} could not be verified ({failure.reason})",
                kind=kind,
                hint=CA_HINT,
            )
        if kind == ErrorKind.UNREACHABLE:
            return GitHubError(
                f"cannot {doing}: the GitHub API at {api} is unreachable ({failure.reason})",
                kind=kind,
                hint=UNREACHABLE_HINT,
            )
        hints = {
            ErrorKind.TIMEOUT: "GitHub may be slow; REGISTRIES_TIMEOUT raises the limit (seconds)",
            ErrorKind.UNAVAILABLE: STATUS_HINT,
        }
        return GitHubError(
            f"cannot {doing}: the GitHub API at {api}: {failure.reason}",
            kind=kind,
            hint=hints.get(kind, API_HINT),
        )

    def _unreachable(self, exc: RequestException, doing: str) -> GitHubError:
        import requests

        if isinstance(exc, requests.exceptions.SSLError):
            return GitHubError(
                f"cannot {doing}: the TLS certificate of {self.api_url} could not be verified", hint=CA_HINT
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return GitHubError(
                f"cannot {doing}: the GitHub API at {self.api_url} did not answer in time",
                hint="GitHub may be slow; REGISTRIES_TIMEOUT raises the limit (seconds)",
            )
        match = _ERRNO.search(str(exc))
        reason = match.group(1).strip() if match else type(exc).__name__
        return GitHubError(
            f"cannot {doing}: the GitHub API at {self.api_url} is unreachable ({reason})",
            hint=UNREACHABLE_HINT,
        )

    def _permission_hint(self, accepted: str | None) -> str:
        # The header lists alternative permission sets separated by `;`.
        sets = [part.strip() for part in (accepted or "").split(";") if part.strip()]
        needs = " or ".join(sets) if sets else "write access to Actions secrets and variables"
        owner, classic = ("organization", "admin:org") if self.options.org else ("repository", "repo")
        return (
            f"the token needs {needs} (fine-grained token: {owner} permissions Secrets and Variables, "
            f"read and write; classic token: the {classic} scope)"
        )


def describe(options: StoreOptions) -> str:
    if options.org:
        return f"GitHub organization {options.org}"
    text = f"GitHub repository {options.repo}"
    return f"{text} environment {options.environment}" if options.environment else text


def api_url(env: Mapping[str, str]) -> str:
    url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise GitHubError(
            f"GITHUB_API_URL {url!r} is not an http(s) URL",
            hint="e.g. https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
        )
    return url


def encode_list(registries: list[Registry]) -> str:
    """The variable's value: servers and usernames, never a password."""
    return json.dumps([{"server": r.server, "username": r.username or ""} for r in registries])


def listed_registry(item: object, where: str) -> Registry:
    """A registry from the variable: no password (GitHub keeps it sealed), its type told from the host."""
    if not isinstance(item, Mapping) or not isinstance(item.get("server"), str):
        raise StoreError(f'{where}: expected {{"server": ..., "username": ...}}')
    username = item.get("username")
    if username is not None and not isinstance(username, str):
        raise StoreError(f"{where}: username must be a string")
    server = parse_server(item["server"], where)
    return Registry(
        server=server, username=username or None, password=None, type=detect_type(server), source=where
    )


def _create_variable(scope: Scope, text: str) -> None:
    from github.Organization import Organization

    if isinstance(scope, Organization):
        scope.create_variable(VARIABLE, text, visibility="all")
    else:
        scope.create_variable(VARIABLE, text)


def _edit_variable(variable: Variable, text: str) -> bool:
    from github.OrganizationVariable import OrganizationVariable

    if isinstance(variable, OrganizationVariable):
        # edit() would reset the visibility to its default ("all"): keep what the organization chose.
        return variable.edit(text, visibility=variable.visibility)
    return variable.edit(text)


def _said(exc: BaseException, limit: int = 200) -> str:
    """An exception's words (they may quote a server), in bounded space."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _github_message(exc: GithubException) -> str:
    data = exc.data
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else ""


def _reset_hint(headers: Mapping[str, str]) -> str:
    reset = headers.get("x-ratelimit-reset", "")
    if reset.isdigit():
        return f"it resets at {time.strftime('%H:%M:%S UTC', time.gmtime(int(reset)))}; try again then"
    return "wait a few minutes and try again"


def _repo_missing(repo: str) -> tuple[str, str]:
    return (
        f"GitHub repository {repo} was not found, or the token cannot see it",
        "check OWNER/NAME; a fine-grained token must be granted this repository, "
        "a classic token needs the repo scope for a private one",
    )


def _environment_missing(repo: str, environment: str) -> tuple[str, str]:
    return (
        f"GitHub repository {repo} has no environment {environment}, or the token cannot see it",
        f"check the name, or create it in the repository's Settings → Environments: {environment}",
    )


def _org_missing(org: str) -> tuple[str, str]:
    return (
        f"GitHub organization {org} was not found, or the token cannot see it",
        "check the name; a fine-grained token must be created for this organization (resource owner), "
        "a classic token needs the admin:org scope",
    )
