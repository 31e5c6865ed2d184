"""A build context that is no folder here: a Git repository that BuildKit fetches itself, or a URL.

- `git` (the action's `context: git`; `git:SUBDIR` for a folder of it): the job's own repository at
  the job's commit, without a checkout, as docker/build-push-action builds when its context is empty:
  `GITHUB_SERVER_URL/GITHUB_REPOSITORY.git#REF`, REF being GITHUB_SHA, or the ref itself for a pull
  request's `refs/pull/N/merge` (BuildKit 0.13 fetches a commit by fetching the branches, and a pull
  request's merge commit is on none of them), as docker/actions-toolkit made it for BuildKit of that age.
- A URL that buildx takes as a remote context (build.IsRemoteURL): `http(s)://` (a Git repository
  when its path ends in `.git`, `#REF[:SUBDIR]`; otherwise a file BuildKit downloads), `git://`,
  `ssh://`, `user@host:path`, `github.com/OWNER/NAME`. It is handed to buildx as it is written.

The token: for a Git context over HTTP(S) on the job's server (GITHUB_SERVER_URL's host, github.com
by default), the job's token goes to BuildKit as the build secret `GIT_AUTH_TOKEN.<host>`, which
BuildKit (0.10 and later) looks up before `GIT_AUTH_TOKEN` and sends, as Basic `x-access-token:TOKEN`,
to that host alone; build-push-action scopes it so too. It reaches buildx through a file of the
build's own (builders/cli.py), never a command line. A GIT_AUTH_TOKEN secret the user gives wins.

The Dockerfile is the repository's: BuildKit reads it there. The pre-flight reads it through the
GitHub API's contents endpoint, with the same token, bounded in time (the transport's) and size, when
the repository is on the job's server; anywhere else, or when the API cannot give it (the reason is
said in a notice), the pre-flight is skipped and the build gets every held registry's credentials.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, urlsplit

from private_registries.context import Context
from private_registries.errors import ErrorKind, GitHubError, InputError
from private_registries.secret import Secret, basic_auth
from private_registries.text import cut

KEYWORD = "git"  # the action's context input: the job's repository at its commit
_TEMPLATE = re.compile(r"^\{\{\s*defaultContext\s*\}\}")  # build-push-action's spelling of the same
_SCHEMES = ("http://", "https://", "git://", "ssh://")
_SCP = re.compile(r"^[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+:(?!//)")  # git@github.com:owner/name.git
TOKEN_SECRET = "GIT_AUTH_TOKEN"
MAX_DOCKERFILE = 16 * 1024 * 1024  # as a local Dockerfile is bounded (dockerfile.read)
_API_VERSION = "2022-11-28"


@dataclass(frozen=True)
class RemoteContext:
    url: str  # as buildx takes it
    git: bool  # a Git repository (else a file BuildKit downloads over HTTP)
    host: str  # host[:port] of the remote ("" when it names none)
    path: str  # the repository's path on its host, without `.git` (OWNER/NAME on GitHub)
    ref: str = ""  # "": the default branch
    subdir: str = ""
    http: bool = False  # fetched over HTTP(S), where a token applies (ssh takes an agent: --ssh)

    @property
    def repository(self) -> str:
        """As messages name it: host/OWNER/NAME."""
        return f"{self.host}/{self.path}" if self.host else self.url


def server_url(env: Mapping[str, str]) -> str:
    return (env.get("GITHUB_SERVER_URL") or "https://github.com").strip().rstrip("/")


def server_host(env: Mapping[str, str]) -> str:
    return urlsplit(server_url(env)).netloc.rpartition("@")[2].lower()


def remote_context(text: str, env: Mapping[str, str], *, keyword: bool = False) -> RemoteContext | None:
    """The remote context `text` names; None when it is a folder here (what buildx builds from first).
    With `keyword` (the action's input), `git` and `git:SUBDIR` are the job's own repository."""
    text = text.strip()
    if keyword and (text == KEYWORD or (text.startswith(KEYWORD + ":") and not text.startswith("git://"))):
        return job_context(env, text[len(KEYWORD) + 1 :])
    template = _TEMPLATE.match(text) if keyword else None
    if template is not None:
        rest = text[template.end() :]
        if rest and not rest.startswith(":"):
            raise InputError(f"input context {cut(text)!r}: expected {{{{defaultContext}}}}[:SUBDIR]")
        return job_context(env, rest[1:])
    if not text or Path(text).is_dir():
        return None
    lowered = text.lower()
    if lowered.startswith(_SCHEMES) or _SCP.match(text) or lowered.startswith("github.com/"):
        return parse(text)
    return None


def job_context(env: Mapping[str, str], subdir: str = "") -> RemoteContext:
    """The job's repository at the job's commit: GITHUB_SERVER_URL/GITHUB_REPOSITORY.git#REF[:SUBDIR]."""
    repository = env.get("GITHUB_REPOSITORY", "").strip()
    sha = env.get("GITHUB_SHA", "").strip()
    ref = env.get("GITHUB_REF", "").strip()
    if not repository or not (sha or ref):
        raise InputError(
            "input context git: the job's repository and commit are unknown (GITHUB_REPOSITORY and "
            "GITHUB_SHA or GITHUB_REF are not set)",
            hint="the runner sets them in a workflow; elsewhere give the repository's Git URL, "
            "e.g. https://github.com/OWNER/NAME.git#main",
        )
    if ref and not ref.startswith("refs/"):
        ref = f"refs/heads/{ref}"
    pinned = sha if sha and not ref.startswith("refs/pull/") else ref
    subdir = subdir.strip().strip("/")
    fragment = pinned + (f":{subdir}" if subdir and subdir != "." else "")
    return parse(f"{server_url(env)}/{repository}.git#{fragment}")


def parse(url: str) -> RemoteContext:
    """A remote context as BuildKit reads it (gitutil.ParseGitRef): remote, `#REF[:SUBDIR]`."""
    remote, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    short = remote.lower().startswith("github.com/")  # BuildKit's (deprecated) github.com/OWNER/NAME
    if short:
        remote = "https://" + remote
    if _SCP.match(remote) and "://" not in remote:
        host, _, path = remote.partition("@")[2].partition(":")
        return RemoteContext(url, True, host.lower(), _repo_path(path), ref, subdir)
    parts = urlsplit(remote)
    query = parse_qs(parts.query)  # the newer `?ref=...&subdir=...` form, passed on as it is
    ref = ref or query.get("ref", [""])[0]
    subdir = subdir or query.get("subdir", [""])[0]
    http = parts.scheme.lower() in {"http", "https"}
    git = not http or short or parts.path.endswith(".git")
    host = parts.netloc.rpartition("@")[2].lower()
    return RemoteContext(url, git, host, _repo_path(parts.path), ref, subdir, http=http)


def _repo_path(path: str) -> str:
    path = path.strip("/")
    return path.removesuffix(".git")


def user_gives_auth(secrets: Sequence[str]) -> bool:
    """Whether the build's own secrets hold a Git credential (GIT_AUTH_TOKEN[.HOST], GIT_AUTH_HEADER)."""
    from private_registries.builders.spec import entry

    for value in secrets:
        secret_id = entry(value).get("id", "")
        if secret_id.split(".", 1)[0] in {TOKEN_SECRET, "GIT_AUTH_HEADER"}:
            return True
    return False


def auth_secret(remote: RemoteContext, env: Mapping[str, str], token: Secret | None) -> dict[str, Secret]:
    """The build secret that carries the job's token to BuildKit, by its id: only for a Git context
    over HTTP(S) on the job's server (the token is that server's); none otherwise."""
    if token is None or not token or not (remote.git and remote.http) or remote.host != server_host(env):
        return {}
    basic_auth("x-access-token", token)  # the form BuildKit sends: masked too
    return {f"{TOKEN_SECRET}.{remote.host}": token}


@dataclass(frozen=True)
class Fetched:
    """The Dockerfile of a remote context as the pre-flight could read it."""

    path: str  # in the repository, as messages and annotations name it
    text: str | None  # None: not read (`reason` says why)
    reason: str = ""


def dockerfile_path(remote: RemoteContext, file: Path | None) -> str:
    """Where BuildKit reads the Dockerfile in the repository: FILE (default `Dockerfile`) in SUBDIR."""
    name = str(PurePosixPath(file.as_posix())) if file else "Dockerfile"
    return str(PurePosixPath(remote.subdir or ".") / name).removeprefix("./")


_FETCHED: dict[tuple[str, ...], Fetched | GitHubError] = {}
_LOCK = threading.Lock()


def read_dockerfile(remote: RemoteContext, file: Path | None, context: Context) -> Fetched:
    """The Dockerfile, read through the GitHub API's contents endpoint (once a process for each
    repository, ref, path and token). A token GitHub refuses (401) is an error naming the repository
    (BuildKit could not fetch with it either); anything else the API cannot give is a reason."""
    path = dockerfile_path(remote, file)
    env = context.env
    owner_name = remote.path.split("/")
    if not remote.git or remote.host != server_host(env) or len(owner_name) != 2 or not all(owner_name):
        return Fetched(path, None, f"{remote.repository} is not a repository on {server_host(env)}'s API")
    token = context.github_token
    api = (env.get("GITHUB_API_URL") or "").strip().rstrip("/")
    if not api:
        api = "https://api.github.com" if remote.host == "github.com" else f"{server_url(env)}/api/v3"
    key = (api, remote.path, remote.ref, path, token.reveal() if token else "")
    with _LOCK:
        known = _FETCHED.get(key)
    if known is None:
        known = _fetch(api, remote, path, token, context)
        with _LOCK:
            _FETCHED[key] = known
    if isinstance(known, GitHubError):
        raise known
    return known


def _fetch(
    api: str, remote: RemoteContext, path: str, token: Secret | None, context: Context
) -> Fetched | GitHubError:
    from private_registries.transport import NetworkFailure

    url = f"{api}/repos/{remote.path}/contents/{quote(path)}"
    headers = {"Accept": "application/vnd.github.raw", "X-GitHub-Api-Version": _API_VERSION}
    if token:
        headers["Authorization"] = f"Bearer {token.reveal()}"
    where = f"{path} of {remote.path}" + (f" at {remote.ref}" if remote.ref else "")
    try:
        response = context.transport.request(
            "GET", url, headers=headers, params={"ref": remote.ref} if remote.ref else None,
            max_body=MAX_DOCKERFILE,
        )  # fmt: skip
    except NetworkFailure as failure:
        return Fetched(path, None, f"the GitHub API could not give {where}: {failure.reason}")
    status = response.status_code
    if status == 401 and token:
        return GitHubError(
            f"the Git context {remote.repository}: GitHub refused the job's token (401) reading {where}; "
            "BuildKit could not fetch the repository with it either",
            kind=ErrorKind.REJECTED,
            hint="give the github-token input a token that may read the repository "
            "(the job's GITHUB_TOKEN needs `permissions: contents: read`)",
        )
    if status != 200:
        return Fetched(path, None, f"the GitHub API answered {status} for {where}")
    try:
        return Fetched(path, response.content.decode("utf-8"))
    except UnicodeDecodeError:
        return Fetched(path, None, f"{where} is not UTF-8 text")


def skipped(remote: RemoteContext, reason: str) -> str:
    """The notice of a pre-flight that could not read a remote context's Dockerfile."""
    return (
        f"pre-flight skipped: {reason}; BuildKit reads the Dockerfile in {remote.repository} itself, "
        "and the build gets the credentials of every registry held"
    )
