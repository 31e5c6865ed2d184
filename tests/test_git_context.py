"""Builds from a Git repository without a checkout: `context: git` (the job's repository at its commit)
and Git URL contexts, fetched by BuildKit itself (inside the bench's real Engine 26.1, BuildKit 0.13,
driven by buildx 0.13.1) from a real Git server on loopback (`git http-backend` behind Basic auth
with the token, as GitHub takes GIT_AUTH_TOKEN), the Dockerfile's FROM a private base image. The
job's token reaches BuildKit as the build secret GIT_AUTH_TOKEN.<host> and nowhere else: not the
command line, the log, the outputs or the summary."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from private_registries import gitcontext
from private_registries.action.inputs import ActionInputs
from private_registries.builders import BuildSpec, check_options
from private_registries.builders.classic import ClassicBuilder
from private_registries.builders.cli import CliBuilder
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import InputError
from private_registries.secret import Secret
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, basic, entries_file
from tests.servers.gitserver import GitServer
from tests.test_action_stages import run_main
from tests.test_buildx import buildx_env, registries

# --- what a context names, and where the token goes (no network) ----------------------------------


def test_context_git_is_the_jobs_repository_at_its_commit() -> None:
    sha = "a" * 40
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "octo/app", "GITHUB_SHA": sha}
    push = gitcontext.remote_context("git", {**env, "GITHUB_REF": "refs/heads/main"}, keyword=True)
    assert push is not None and push.url == f"https://github.com/octo/app.git#{sha}"
    assert (push.host, push.path, push.ref, push.git) == ("github.com", "octo/app", sha, True)
    # a pull request's merge commit is on no branch: BuildKit 0.13 fetches it by its ref
    pull = gitcontext.remote_context(
        "git:docker/app", {**env, "GITHUB_REF": "refs/pull/7/merge"}, keyword=True
    )
    assert pull is not None and pull.url == "https://github.com/octo/app.git#refs/pull/7/merge:docker/app"
    assert pull.subdir == "docker/app"
    template = gitcontext.remote_context(
        "{{ defaultContext }}:sub", {**env, "GITHUB_REF": "main"}, keyword=True
    )
    assert template is not None and template.url == f"https://github.com/octo/app.git#{sha}:sub"
    with pytest.raises(InputError, match="GITHUB_REPOSITORY and GITHUB_SHA or GITHUB_REF are not set"):
        gitcontext.remote_context("git", {}, keyword=True)
    assert gitcontext.remote_context("git", env) is None  # the CLI: a folder named git, or nothing


@pytest.mark.parametrize(
    ("url", "host", "path", "ref", "subdir", "git"),
    [
        ("https://github.com/octo/app.git#v1:sub/dir", "github.com", "octo/app", "v1", "sub/dir", True),
        ("https://ghe.example.org/octo/app.git", "ghe.example.org", "octo/app", "", "", True),
        ("git@github.com:octo/app.git#main", "github.com", "octo/app", "main", "", True),
        ("ssh://git@github.com/octo/app.git", "github.com", "octo/app", "", "", True),
        ("github.com/octo/app#dev", "github.com", "octo/app", "dev", "", True),
        ("https://example.org/context.tar.gz", "example.org", "context.tar.gz", "", "", False),
    ],
)
def test_urls_as_buildkit_reads_them(
    url: str, host: str, path: str, ref: str, subdir: str, git: bool
) -> None:
    remote = gitcontext.remote_context(url, {})
    assert remote is not None and remote.url == url
    assert (remote.host, remote.path, remote.ref, remote.subdir, remote.git) == (host, path, ref, subdir, git)


def test_a_folder_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    assert gitcontext.remote_context("app", {}) is None
    assert gitcontext.remote_context(".", {}) is None


def test_the_token_goes_only_to_the_jobs_server_over_https() -> None:
    token = Secret("ghs_scopedToken0123456789")
    env = {"GITHUB_SERVER_URL": "https://github.com"}
    own = gitcontext.parse("https://github.com/octo/app.git#main")
    assert gitcontext.auth_secret(own, env, token) == {"GIT_AUTH_TOKEN.github.com": token}
    for other in (
        "https://gitlab.com/octo/app.git",
        "git@github.com:octo/app.git",
        "https://github.com/x.tgz",
    ):
        assert gitcontext.auth_secret(gitcontext.parse(other), env, token) == {}
    assert gitcontext.user_gives_auth(["id=GIT_AUTH_TOKEN.github.com,src=t"])
    assert gitcontext.user_gives_auth(["id=GIT_AUTH_TOKEN,env=T"])
    assert not gitcontext.user_gives_auth(["id=npmrc,src=.npmrc"])


def test_the_token_reaches_buildx_through_a_file_never_the_command_line(tmp_path: Path) -> None:
    token = Secret("ghs_argvToken0123456789abc")
    spec = BuildSpec(
        tags=["bench/x:1"],
        remote_context="https://github.com/octo/app.git#main",
        git_auth={"GIT_AUTH_TOKEN.github.com": token},
    )
    builder = CliBuilder("docker", {}, buildx=True)
    args = builder.arguments(DockerfileOptions(file=Path("docker/Dockerfile")), spec, tmp_path)
    assert args[-1] == "https://github.com/octo/app.git#main"
    assert args[args.index("--file") : args.index("--file") + 2] == ["--file", "docker/Dockerfile"]
    assert f"id=GIT_AUTH_TOKEN.github.com,src={tmp_path / 'git-auth-0'}" in args
    assert not any(token.reveal() in arg for arg in args)
    with pytest.raises(
        InputError, match=r"a remote context \(a Git URL\): the classic builder cannot do this; BuildKit can"
    ):
        check_options(ClassicBuilder({}), spec)


def test_the_action_reads_no_local_dockerfile_for_a_git_context(tmp_path: Path) -> None:
    env = {
        "INPUT_CONTEXT": "git",
        "INPUT_FILE": "docker/Dockerfile",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "b" * 40,
        "GITHUB_REF": "refs/heads/main",
    }
    inputs = ActionInputs.from_env(env)
    dockerfile = inputs.dockerfile()
    assert inputs.remote is not None and dockerfile is not None
    assert dockerfile.file == Path("docker/Dockerfile")
    assert inputs.build_options(dockerfile).remote == inputs.remote


# --- the real bench ----------------------------------------------------------------------------------


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    server = GitServer(tmp_path / "git", "ghs_gitBench" + secrets.token_hex(10))
    yield server
    server.stop()


def app_files(base: str, marker: str, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}Dockerfile": f"FROM {base}\nCOPY hello /hello\n",
        f"{prefix}hello": marker + "\n",
        "README.md": "not the context\n",
    }


def api_paths(server: GitServer) -> list[str]:
    """The paths the GitHub API stand-in was asked, in order."""
    return [request.path for request in server.requests if request.path.startswith("/api/v3/")]


def on_server(env: dict[str, str], server: GitServer) -> dict[str, str]:
    """A command's environment on the Git server's host, with its token as the job's."""
    return {
        **env,
        "GITHUB_TOKEN": server.token,
        "GITHUB_SERVER_URL": server.url,
        "GITHUB_API_URL": server.api_url,
    }


def secret_forms(token: str) -> list[str]:
    return [token, base64.b64encode(f"x-access-token:{token}".encode()).decode()]


def unmasked(log: str, token: str) -> str:
    """The log but its ::add-mask:: lines, after checking they announce the token and the Basic form
    BuildKit sends it in (the runner hides both wherever else they would appear)."""
    masks = {
        line.removeprefix("::add-mask::") for line in log.splitlines() if line.startswith("::add-mask::")
    }
    assert set(secret_forms(token)) <= masks
    return "\n".join(line for line in log.splitlines() if not line.startswith("::add-mask::"))


def test_context_git_through_the_main_stage(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    git_server: GitServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`context: git`, no checkout: BuildKit fetches octo/app at the job's commit with the job's
    token, the pre-flight reads the Dockerfile through the contents endpoint, the base image is
    pulled with the registry's credentials, and the image runs."""
    marker = "from-git-" + secrets.token_hex(6)
    sha = git_server.repository("octo/app", app_files(private_registry.reference, marker))
    tag = f"bench/git-context:{secrets.token_hex(4)}"
    environment = {
        **buildx_env(env, dockerd, tmp_path),
        "GITHUB_SERVER_URL": git_server.url,
        "GITHUB_API_URL": git_server.api_url,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
    }
    (tmp_path / "main").mkdir()
    inputs = {
        "context": "git",
        "tags": tag,
        "registries": json.dumps([basic(private_registry)]),
        "github-token": git_server.token,
    }
    main = run_main(tmp_path / "main", environment, inputs, "push", {"ref": "refs/heads/main"})
    out = capsys.readouterr().out
    assert main.code == 0, out
    assert dockerd.docker("run", "--rm", tag, "cat", "/hello").stdout == marker + "\n"
    assert json.loads(main.outputs["base-images"])[private_registry.reference].startswith("sha256:")
    assert main.outputs["image-id"].startswith("sha256:")
    assert f"{git_server.url}/octo/app.git#{sha}" in out  # what BuildKit fetched, as the log says it
    fetched = [request for request in git_server.requests if request.path.startswith("/octo/app.git/")]
    assert fetched and all(request.authorized for request in fetched)
    assert api_paths(git_server) == ["/api/v3/repos/octo/app/contents/Dockerfile"]
    everything = unmasked(out, git_server.token) + json.dumps(main.outputs) + json.dumps(main.exported)
    everything += main.summary
    for form in secret_forms(git_server.token):
        assert form not in everything
    assert private_registry.password not in everything


def test_a_git_url_through_registries_build(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    """A Git URL with a ref and a folder, as buildx takes it; the token from GITHUB_TOKEN, as the
    CLI finds the job's token, because the URL is on the job's server."""
    marker = "from-url-" + secrets.token_hex(6)
    git_server.repository("octo/tools", app_files(private_registry.reference, marker, "images/app/"))
    tag = f"bench/git-url:{secrets.token_hex(4)}"
    environment = buildx_env(
        env, dockerd, tmp_path,
        GITHUB_TOKEN=git_server.token, GITHUB_SERVER_URL=git_server.url, GITHUB_API_URL=git_server.api_url,
    )  # fmt: skip
    path = entries_file(tmp_path, [basic(private_registry)])
    url = f"{git_server.url}/octo/tools.git#main:images/app"
    result = registries(environment, "build", url, "-t", tag, "--registries", str(path))
    assert result.code == 0, result.text
    assert "Built sha256:" in result.out
    assert dockerd.docker("run", "--rm", tag, "cat", "/hello").stdout == marker + "\n"
    assert api_paths(git_server) == ["/api/v3/repos/octo/tools/contents/images/app/Dockerfile"]
    for form in secret_forms(git_server.token):
        assert form not in result.text


def test_a_wrong_token_fails_naming_the_repository(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    git_server: GitServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With the pre-flight, GitHub's 401 stops the step before any build, naming the repository;
    without it, BuildKit's failed fetch does, with the hint. The wrong token is not printed either."""
    sha = git_server.repository("octo/secret-app", app_files(private_registry.reference, "never"))
    wrong = "ghs_wrongToken" + secrets.token_hex(10)
    environment = {
        **buildx_env(env, dockerd, tmp_path),
        "GITHUB_SERVER_URL": git_server.url,
        "GITHUB_API_URL": git_server.api_url,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
    }
    inputs = {
        "context": "git",
        "tags": "bench/never:1",
        "registries": json.dumps([basic(private_registry)]),
        "github-token": wrong,
    }
    (tmp_path / "checked").mkdir()
    main = run_main(
        tmp_path / "checked", environment, inputs, "push", {}, GITHUB_REPOSITORY="octo/secret-app"
    )
    out = capsys.readouterr().out
    assert main.code == 1
    assert (
        f"the Git context 127.0.0.1:{git_server.port}/octo/secret-app: GitHub refused the job's token" in out
    )
    assert not [request for request in git_server.requests if request.path.startswith("/octo/")]

    (tmp_path / "unchecked").mkdir()
    unchecked = {**inputs, "check": "false"}
    main = run_main(
        tmp_path / "unchecked", environment, unchecked, "push", {}, GITHUB_REPOSITORY="octo/secret-app"
    )
    out = capsys.readouterr().out
    assert main.code == 1
    assert f"BuildKit could not fetch the Git repository {git_server.url}/octo/secret-app.git" in out
    assert "failed to fetch remote" in out
    for form in secret_forms(wrong):
        assert form not in unmasked(out, wrong) + main.summary + json.dumps(main.outputs)
    assert dockerd.docker("image", "inspect", "bench/never:1", check=False).returncode != 0


def test_a_git_url_through_registries_check_and_images(
    env: dict[str, str], private_registry: PrivateRegistry, git_server: GitServer, tmp_path: Path
) -> None:
    """The pre-flight and the images of a Git URL, no checkout and no build: its Dockerfile read
    through the contents endpoint, each base image then asked of its registry (real Distribution)."""
    dockerfile = f"FROM {private_registry.reference} AS base\nFROM base\nCOPY hello /hello\n"
    git_server.repository("octo/tools", {"images/app/Dockerfile": dockerfile, "images/app/hello": "hi\n"})
    environment = on_server(env, git_server)
    url = f"{git_server.url}/octo/tools.git#main:images/app"

    listed = registries(environment, "images", url, "--json")
    assert listed.code == 0, listed.text
    assert json.loads(listed.out) == [{"image": private_registry.reference, "instruction": "FROM", "line": 1}]

    path = entries_file(tmp_path, [basic(private_registry)])
    checked = registries(environment, "check", url, "--registries", str(path))
    assert checked.code == 0, checked.text
    assert private_registry.reference in checked.out
    unchecked = registries(environment, "check", url)  # without its credentials: the pull is refused
    assert unchecked.code == 1
    assert private_registry.reference in unchecked.err
    assert set(api_paths(git_server)) == {"/api/v3/repos/octo/tools/contents/images/app/Dockerfile"}
    assert all(request.authorized for request in git_server.requests)
    for form in secret_forms(git_server.token):
        assert form not in listed.text + checked.text + unchecked.text


def test_a_git_url_whose_dockerfile_cannot_be_read_is_an_error_for_check(
    env: dict[str, str], git_server: GitServer
) -> None:
    """Where a build goes on without its pre-flight, `check` and `images` have nothing to answer."""
    environment = on_server(env, git_server)
    elsewhere = "https://git.example.org/octo/app.git#main"
    for command in ("check", "images"):
        result = registries(environment, command, elsewhere)
        assert result.code == 1, result.text
        assert "cannot read the Dockerfile of the Git context git.example.org/octo/app: " in result.err
        assert "is not a repository on" in result.err and "Traceback" not in result.text
    git_server.repository("octo/app", {"README.md": "no Dockerfile\n"})
    missing = registries(environment, "check", f"{git_server.url}/octo/app.git#main")
    assert missing.code == 1
    assert "the GitHub API answered 404 for Dockerfile of octo/app at main" in missing.err, missing.err
