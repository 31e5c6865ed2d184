"""Builds through the real buildx: the docker CLI 26.1 with the buildx plugin 0.13.1 (its `docker`
driver) on Docker Engine 26.1, and a second Engine 26.1 whose images live in containerd's image store
(multi-platform images and cache exports, which the docker driver cannot do on the classic store).
Each ends with a real client: `docker run`, `docker pull` by digest, `skopeo inspect`, `docker save`
and `docker history`, a file on disk."""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import signal
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from private_registries.action.inputs import ActionInputs
from private_registries.builders import BuildSpec, Engine, choose
from private_registries.builders.classic import ClassicBuilder
from private_registries.builders.cli import CliBuilder
from private_registries.dockerfile import DockerfileOptions
from private_registries.services.images import images
from tests.clirun import Result, run_process
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import BASE_IMAGE, PrivateRegistry, basic, docker_config_for, entries_file, push
from tests.servers.images import import_image
from tests.servers.tools import debian12_cli, plugins_config, tool

OCI_AND_DOCKER = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
SYSTEM_PLUGINS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


@pytest.fixture(scope="module")
def containerd_dockerd() -> Iterator[Dockerd]:
    """The module's one extra daemon: Engine 26.1 on containerd's image store."""
    daemon = Dockerd(Path("/tmp") / f"bench-dockerd-cd-{secrets.token_hex(3)}", containerd_store=True)
    try:
        import_image(daemon, BASE_IMAGE, "base")
        yield daemon
    finally:
        daemon.stop()


def buildx_env(env: dict[str, str], dockerd: Dockerd, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The docker CLI 26.1, a user DOCKER_CONFIG whose cli-plugins/ holds buildx 0.13.1 (and nothing
    else), and a TMPDIR of the test's own (a temporary config left behind would be seen)."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {
        **env,
        "DOCKER_HOST": dockerd.host,
        "DOCKER_CONFIG": str(plugins_config(tmp_path / "user-docker")),
        "REGISTRIES_DOCKER_CLI": str(tool("docker")),
        "TMPDIR": str(temp),
        **extra,
    }


def registries(env: dict[str, str], *argv: str) -> Result:
    return run_process(env, *argv, timeout=300)


def leftovers(env: dict[str, str]) -> list[str]:
    return sorted(os.listdir(env["TMPDIR"]))


def context_with(tmp_path: Path, dockerfile: str, name: str = "ctx") -> Path:
    context = tmp_path / name
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    return context


def built_id(result: Result) -> str:
    return result.out.split("Built ", 1)[1].split()[0]


def pushed(result: Result) -> dict[str, str]:
    lines = [line.removeprefix("Pushed ") for line in result.out.splitlines() if line.startswith("Pushed ")]
    return dict(line.rsplit("@", 1) for line in lines)  # type: ignore[misc]


def manifest_digest(reg: PrivateRegistry, repository: str, tag: str) -> str:
    """The registry's own digest of a manifest (Basic auth, or a token from its token server)."""
    headers = {"Accept": OCI_AND_DOCKER}
    auth: tuple[str, str] | None = (reg.username, reg.password)
    if reg.registry.token_server is not None:
        token = requests.get(
            reg.registry.token_server.realm,
            params={"service": reg.registry.token_server.service, "scope": f"repository:{repository}:pull"},
            auth=(reg.username, reg.password),
            timeout=10,
        ).json()["token"]
        headers["Authorization"] = f"Bearer {token}"
        auth = None
    response = requests.head(
        f"{reg.registry.url}/v2/{repository}/manifests/{tag}", headers=headers, auth=auth, timeout=10
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def skopeo(reg: PrivateRegistry, reference: str, *flags: str) -> dict[str, object]:
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--creds", f"{reg.username}:{reg.password}", *flags,
         f"docker://{reference}"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(inspected.stdout)  # type: ignore[no-any-return]


def saved_bytes(dockerd: Dockerd, image: str, tmp_path: Path) -> list[bytes]:
    """Every file of `docker save IMAGE` (each layer and the config), gzip members unpacked."""
    archive = tmp_path / "saved.tar"
    dockerd.docker("save", "-o", str(archive), image)
    files = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                data = handle.read()
                files.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return files


@pytest.fixture
def other_registry(
    registry_factory: Callable[..., Registry], dockerd: Dockerd, tmp_path: Path
) -> PrivateRegistry:
    """A third Basic registry, with an account of its own and nothing in it but `seed/image:1`."""
    password = "pw-other-" + secrets.token_hex(6)
    registry = registry_factory(users={"carol": password})
    reg = PrivateRegistry(registry, "carol", password, "seed/image:1")
    push(dockerd, reg.reference, "carol", password, tmp_path)
    return reg


# --- secrets and ssh ---------------------------------------------------------------------------------


def test_a_secret_reaches_the_run_step_and_nothing_else(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    note = f"secret-{secrets.token_hex(12)}-end"
    token = f"file-secret-{secrets.token_hex(12)}"
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(token)
    context = context_with(
        tmp_path,
        f"""FROM {private_registry.reference}
RUN --mount=type=secret,id=note --mount=type=secret,id=token \\
    v="$(cat /run/secrets/note)" && t="$(cat /run/secrets/token)" && \\
    case "$v" in secret-*-end) test "${{#v}}" -eq {len(note)} ;; *) false ;; esac && \\
    test "${{#t}}" -eq {len(token)} && echo ok > /secret-ok
""",
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path, NOTE=note)
    result = registries(
        environment, "build", str(context), "-t", "bench/buildx-secret:1", "--network", "host",
        "--secret", "id=note,env=NOTE", "--secret", f"id=token,src={secret_file}", "--registries", str(path),
    )  # fmt: skip
    assert result.code == 0, result.text
    assert dockerd.docker("run", "--rm", "bench/buildx-secret:1", "cat", "/secret-ok").stdout == "ok\n"
    mounted = dockerd.docker("run", "--rm", "bench/buildx-secret:1", "ls", "/run/secrets", check=False)
    assert mounted.stdout.strip() == ""  # the mount was the RUN step's only
    history = dockerd.docker("history", "--no-trunc", "bench/buildx-secret:1").stdout
    inspect = dockerd.docker("image", "inspect", "bench/buildx-secret:1").stdout
    files = saved_bytes(dockerd, "bench/buildx-secret:1", tmp_path)
    assert len(files) >= 3  # the layers, the config, the manifest
    for value in (note, token):
        assert value not in history and value not in inspect
        assert not any(value.encode() in data for data in files)
        assert value not in result.text
    assert private_registry.password not in result.text
    assert leftovers(environment) == []


def test_an_ssh_agent_reaches_the_run_step(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """busybox has no ssh client: the RUN step checks that the agent's socket is there."""
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    sock = tmp_path / "agent.sock"
    agent = subprocess.run(
        ["ssh-agent", "-s", "-a", str(sock)], capture_output=True, text=True, check=True, timeout=30
    )
    match = re.search(r"SSH_AGENT_PID=(\d+)", agent.stdout)
    assert match, agent.stdout
    agent_pid = int(match[1])
    try:
        subprocess.run(
            ["ssh-add", str(key)], env={**os.environ, "SSH_AUTH_SOCK": str(sock)}, check=True,
            capture_output=True, timeout=30,
        )  # fmt: skip
        listed = subprocess.run(
            ["ssh-add", "-l"], env={**os.environ, "SSH_AUTH_SOCK": str(sock)}, capture_output=True, text=True
        )
        assert "ED25519" in listed.stdout
        context = context_with(
            tmp_path,
            f"FROM {private_registry.reference}\n"
            'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /ssh-ok\n',
        )
        path = entries_file(tmp_path, [basic(private_registry)])
        environment = buildx_env(env, dockerd, tmp_path)
        given = registries(
            environment, "build", str(context), "-t", "bench/buildx-ssh:1", "--network", "host",
            "--ssh", f"default={sock}", "--registries", str(path),
        )  # fmt: skip
        assert given.code == 0, given.text
        seen = dockerd.docker("run", "--rm", "bench/buildx-ssh:1", "cat", "/ssh-ok").stdout.strip()
        assert seen.startswith("/run/buildkit/ssh_agent")
        # `--ssh default` takes the agent of SSH_AUTH_SOCK, as buildx does
        ambient = registries(
            {**environment, "SSH_AUTH_SOCK": str(sock)}, "build", str(context), "--network", "host",
            "--no-cache", "--ssh", "default", "--registries", str(path),
        )  # fmt: skip
        assert ambient.code == 0, ambient.text
        # without --ssh there is no socket (the mount is optional): the one above was the agent's
        alone = registries(
            environment, "build", str(context), "--network", "host", "--no-cache", "--registries", str(path)
        )
        assert alone.code == 1
        assert "error: the build failed: ERROR: failed to solve: process" in alone.err
        assert "exit code: 1" in alone.err
        assert leftovers(environment) == []
    finally:
        os.kill(agent_pid, signal.SIGTERM)


# --- build contexts ----------------------------------------------------------------------------------


def test_build_contexts_replace_the_stages_and_images_of_their_names(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    """A folder context for `COPY --from=more`, a folder for `alpine:3` named in full, and a
    docker-image context from a private registry for a stage whose own FROM nobody could pull: the
    pre-flight checks the context's image (with its registry's credential) and nothing else."""
    unheld = registry_factory(users={"zed": "pw-zed-unheld"})
    more = tmp_path / "more"
    more.mkdir()
    (more / "file").write_text("from the more context\n")
    alpine = tmp_path / "alpine"
    alpine.mkdir()
    (alpine / "file").write_text("not alpine at all\n")
    context = context_with(
        tmp_path,
        f"""FROM {unheld.server}/never/pulled:1 AS tools
RUN false
FROM {private_registry.reference}
COPY --from=more /file /more-file
COPY --from=tools /etc/bench-image /tools-marker
COPY --from=alpine:3 /file /alpine-file
""",
    )
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    contexts = [
        "--build-context", f"more={more}",
        "--build-context", f"tools=docker-image://{token_registry.reference}",
        "--build-context", f"docker.io/library/alpine:3={alpine}",
    ]  # fmt: skip
    listed = registries(environment, "images", str(context), *contexts, "--json")
    assert listed.code == 0, listed.text
    assert json.loads(listed.out) == [
        {"image": token_registry.reference, "instruction": "--build-context tools", "line": 1},
        {"image": private_registry.reference, "instruction": "FROM", "line": 3},
    ]
    checked = registries(environment, "check", str(context), *contexts, "--registries", str(path))
    assert checked.code == 0, checked.text
    dockerd.docker("rmi", "-f", token_registry.reference, check=False)  # pulled through the context
    result = registries(
        environment, "build", str(context), "-t", "bench/contexts:1", "--network", "host", *contexts,
        "--registries", str(path),
    )  # fmt: skip
    assert result.code == 0, result.text
    rows = [line.split() for line in result.out.splitlines()]
    assert [token_registry.reference, token_registry.server, "ok"] == rows[1][:3]
    assert "docker.io/library/more" not in result.text
    run = dockerd.docker(
        "run", "--rm", "bench/contexts:1", "cat", "/more-file", "/tools-marker", "/alpine-file"
    )
    assert run.stdout.splitlines() == ["from the more context", token_registry.reference, "not alpine at all"]
    for secret in (private_registry.password, token_registry.password):
        assert secret not in result.text
    assert leftovers(environment) == []


def test_the_next_build_sends_only_what_changed_in_its_context(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """buildx knows a context by the node ID it keeps in its state folder: with a new temporary config
    and no buildx/ of the user's, each build had a new one and sent its whole context again."""
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nCOPY blob /blob\n")
    (context / "blob").write_bytes(os.urandom(3_000_000))
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    sent = []
    for _ in range(2):
        result = registries(environment, "build", str(context), "--registries", str(path))
        assert result.code == 0, result.text
        sizes = re.findall(r"transferring context: ([\d.]+)(k?M?B)", result.out)
        sent.append(sizes[-1])
    assert sent[0][1] == "MB"  # all of it, the first time
    assert sent[1][1] == "B" and float(sent[1][0]) < 1000, sent  # then only what changed: nothing
    assert not (Path(environment["DOCKER_CONFIG"]) / "buildx").exists()  # nothing in the user's config
    state = Path(env["HOME"]) / ".cache" / "private-registries" / "buildx"
    assert (state / ".buildNodeID").is_file()
    assert oct(state.stat().st_mode & 0o777) == "0o700"


def test_the_actions_build_contexts_reach_the_pre_flight(tmp_path: Path) -> None:
    """The action's `build-contexts` input reaches the same service as the CLI's --build-context:
    its pre-flight (`build: false`) and its build both read the Dockerfile with them."""
    context = context_with(tmp_path, "FROM registry.example.org/app:1\nCOPY --from=more /f /f\n")
    inputs = ActionInputs.from_env(
        {
            "INPUT_CONTEXT": str(context),
            "INPUT_BUILD-CONTEXTS": "more=./more\nbase=docker-image://r.example.org/b:2",
        }
    )
    dockerfile = inputs.dockerfile()
    assert dockerfile is not None
    assert dict(dockerfile.build_contexts) == {"more": "./more", "base": "docker-image://r.example.org/b:2"}
    assert [str(b.image) for b in images(dockerfile).images] == ["registry.example.org/app:1"]
    assert dict(inputs.build_options(dockerfile).spec.build_contexts) == dict(dockerfile.build_contexts)


# --- outputs, metadata, load, push -------------------------------------------------------------------


def test_local_and_tar_outputs_land_on_disk_without_an_image_id(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo exported > /exported\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    out = tmp_path / "out"
    metadata = tmp_path / "metadata.json"
    local = registries(
        environment, "build", str(context), "--network", "host", "--output", f"type=local,dest={out}",
        "--metadata-file", str(metadata), "--registries", str(path),
    )  # fmt: skip
    assert local.code == 0, local.text
    assert (out / "exported").read_text() == "exported\n"
    assert (out / "etc" / "bench-image").read_text() == f"{private_registry.reference}\n"
    assert "Built, no image ID (output type=local" in local.out
    assert "buildx.build.ref" in json.loads(metadata.read_text())
    archive = tmp_path / "out.tar"
    tar = registries(
        environment, "build", str(context), "--network", "host", "-o", f"type=tar,dest={archive}",
        "--registries", str(path),
    )  # fmt: skip
    assert tar.code == 0, tar.text
    with tarfile.open(archive) as handle:
        member = handle.extractfile("exported")
        assert member is not None and member.read() == b"exported\n"
    shorthand = tmp_path / "short"
    plain_dir = registries(
        environment,
        "build",
        str(context),
        "--network",
        "host",
        "-o",
        str(shorthand),
        "--registries",
        str(path),
    )
    assert plain_dir.code == 0, plain_dir.text
    assert (shorthand / "exported").is_file()
    assert leftovers(environment) == []


def test_metadata_file_and_load_name_the_loaded_image(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo loaded > /loaded\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    dockerd.docker("rmi", "-f", "bench/loaded:1", check=False)
    metadata = tmp_path / "metadata.json"
    result = registries(
        environment, "build", str(context), "-t", "bench/loaded:1", "--load", "--network", "host",
        "--metadata-file", str(metadata), "--registries", str(path),
    )  # fmt: skip
    assert result.code == 0, result.text
    image_id = dockerd.docker("image", "inspect", "--format", "{{.Id}}", "bench/loaded:1").stdout.strip()
    assert built_id(result) == image_id
    written = json.loads(metadata.read_text())
    assert written["containerimage.config.digest"] == image_id
    assert written["image.name"] == "docker.io/bench/loaded:1"
    assert dockerd.docker("run", "--rm", "bench/loaded:1", "cat", "/loaded").stdout == "loaded\n"


def test_a_push_and_a_pushed_output_land_where_a_pull_by_digest_finds_them(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    other_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """--push of a tag on a token registry, and `--output type=image,name=...,push=true` to a third
    registry that nothing else of the build touches: each gets its own credential."""
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo pushed > /pushed\n")
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry), basic(other_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    tag = f"{token_registry.server}/kit/app:2"
    result = registries(
        environment, "build", str(context), "-t", tag, "--push", "--network", "host",
        "--registries", str(path),
    )  # fmt: skip
    assert result.code == 0, result.text
    digest = pushed(result)[tag]
    assert digest == manifest_digest(token_registry, "kit/app", "2")
    by_digest = f"{token_registry.server}/kit/app@{digest}"
    config = docker_config_for(
        tmp_path / "puller", {token_registry.server: (token_registry.username, token_registry.password)}
    )
    assert dockerd.docker("pull", by_digest, config=config).returncode == 0
    assert dockerd.docker("run", "--rm", by_digest, "cat", "/pushed").stdout == "pushed\n"

    name = f"{other_registry.server}/out/app:1"
    output = registries(
        environment, "build", str(context), "--network", "host",
        "--output", f"type=image,name={name},push=true", "--registries", str(path),
    )  # fmt: skip
    assert output.code == 0, output.text
    assert skopeo(other_registry, name)["Digest"] == pushed(output)[name]
    for secret in (private_registry.password, token_registry.password, other_registry.password):
        assert secret not in result.text + output.text
    assert leftovers(environment) == []


def test_buildx_gets_exactly_this_builds_credentials(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """The real CLI and buildx, behind a wrapper that records what it was asked and which registries
    the temporary config held when it ran (then runs the real CLI with the same arguments)."""
    record = tmp_path / "record.jsonl"
    wrapper = tmp_path / "docker"
    wrapper.write_text(
        f"""#!/bin/sh
printf '%s\\n' "$*" >> {record}.args
cat "$DOCKER_CONFIG/config.json" >> {record}
exec {tool("docker")} "$@"
"""
    )
    wrapper.chmod(0o755)
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo spy > /spy\n")
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry)])
    environment = buildx_env(env, dockerd, tmp_path, REGISTRIES_DOCKER_CLI=str(wrapper))
    tag = f"{private_registry.server}/private/new:1"
    result = registries(
        environment, "build", str(context), "-t", tag, "--push", "--cache-to", "type=inline",
        "--network", "host", "--registries", str(path), "--", "--shm-size", "128m",
    )  # fmt: skip
    assert result.code == 0, result.text
    calls = Path(f"{record}.args").read_text().splitlines()
    build = next(call for call in calls if call.startswith("buildx build"))
    assert build.startswith("buildx build --progress=plain")
    assert {"--push", "--cache-to", "--shm-size"} <= set(build.split())
    configs = [json.loads(part) for part in re.split(r"(?<=\})\n(?=\{)", record.read_text().strip())]
    assert sorted(configs[-1]["auths"]) == [private_registry.server]  # not the token registry's
    assert pushed(result)[tag] == manifest_digest(private_registry, "private/new", "1")
    assert leftovers(environment) == []


# --- caches and platforms: what the docker driver cannot, and the containerd store can ----------------


def test_registry_caches_with_the_credential_of_their_registry(
    env: dict[str, str],
    dockerd: Dockerd,
    containerd_dockerd: Dockerd,
    private_registry: PrivateRegistry,
    other_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    """The docker driver cannot export a registry cache: the error names the builders that can. The
    containerd store's exports it (to a registry only the cache uses), and the other daemon's build
    imports it: its RUN step, never run there, comes from the cache."""
    marker = secrets.token_hex(8)
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo {marker} > /marker\n")
    path = entries_file(tmp_path, [basic(private_registry), basic(other_registry)])
    cache = f"{other_registry.server}/cache/app:1"
    refused = registries(
        buildx_env(env, dockerd, tmp_path), "build", str(context), "--network", "host",
        "--cache-to", f"type=registry,ref={cache}", "--registries", str(path),
    )  # fmt: skip
    assert refused.code == 1
    assert "Cache export is not supported for the docker driver" in refused.err
    assert "docker-container builder" in refused.err and "docker buildx create" in refused.err
    assert "docker/setup-buildx-action" in refused.err and "containerd image store" in refused.err
    assert "Traceback" not in refused.text

    exported = registries(
        buildx_env(env, containerd_dockerd, tmp_path), "build", str(context), "--network", "host",
        "--cache-to", f"type=registry,ref={cache},mode=max", "--registries", str(path),
    )  # fmt: skip
    assert exported.code == 0, exported.text
    assert skopeo(other_registry, cache, "--raw")["mediaType"] == "application/vnd.oci.image.index.v1+json"

    imported = registries(
        buildx_env(env, dockerd, tmp_path), "build", str(context), "-t", "bench/cached:1",
        "--network", "host", "--cache-from", f"type=registry,ref={cache}", "--registries", str(path),
    )  # fmt: skip
    assert imported.code == 0, imported.text
    assert "failed to configure registry cache importer" not in imported.text
    step = re.search(rf"^(#\d+) \[\d/\d\] RUN echo {marker}", imported.out, re.MULTILINE)
    assert step, imported.out
    assert f"{step[1]} CACHED" in imported.out
    assert dockerd.docker("run", "--rm", "bench/cached:1", "cat", "/marker").stdout == f"{marker}\n"


def test_several_platforms_need_the_containerd_store_or_another_builder(
    env: dict[str, str],
    dockerd: Dockerd,
    containerd_dockerd: Dockerd,
    private_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY data /data\n")
    (context / "data").write_text("every platform\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    tag = f"{private_registry.server}/multi/app:1"
    refused = registries(
        buildx_env(env, dockerd, tmp_path), "build", str(context), "-t", tag, "--push",
        "--platform", "linux/amd64,linux/arm64", "--registries", str(path),
    )  # fmt: skip
    assert refused.code == 1
    assert "Multi-platform build is not supported for the docker driver" in refused.err
    assert "containerd image store" in refused.err and "docker-container builder" in refused.err
    assert "Traceback" not in refused.text
    result = registries(
        buildx_env(env, containerd_dockerd, tmp_path), "build", str(context), "-t", tag, "--push",
        "--platform", "linux/amd64", "--platform", "linux/arm64", "--registries", str(path),
    )  # fmt: skip
    assert result.code == 0, result.text
    index = skopeo(private_registry, tag, "--raw")
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}"  # type: ignore[index]
        for m in index["manifests"]  # type: ignore[attr-defined]
    }
    assert {"linux/amd64", "linux/arm64"} <= platforms
    assert pushed(result)[tag] == manifest_digest(private_registry, "multi/app", "1")


# --- what cannot be had here: a clear error -----------------------------------------------------------


def test_a_syntax_directive_whose_frontend_cannot_be_pulled_is_a_clear_error(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"# syntax=docker/dockerfile:1\nFROM {private_registry.reference}\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    checked = registries(environment, "build", str(context), "--registries", str(path))
    assert checked.code == 1
    assert "docker.io/docker/dockerfile:1 (# syntax, line 1): docker.io: registry unreachable" in checked.err
    unchecked = registries(environment, "build", str(context), "--no-check", "--registries", str(path))
    assert unchecked.code == 1
    first = unchecked.err.splitlines()[0]
    assert first.startswith("error: the build failed: ERROR: failed to solve: failed to resolve source")
    assert "docker.io/docker/dockerfile:1" in first
    assert "the # syntax= frontend image docker.io/docker/dockerfile:1 could not be pulled" in unchecked.err
    for result in (checked, unchecked):
        assert "Traceback" not in result.text
    assert leftovers(environment) == []


# --- exec, local images, the classic builder on the containerd store -----------------------------------


def test_exec_drives_buildx_with_a_private_base_image(
    env: dict[str, str], dockerd: Dockerd, token_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {token_registry.reference}\nRUN echo by-exec > /by-exec\n")
    path = entries_file(tmp_path, [basic(token_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    dockerd.docker("rmi", "-f", token_registry.reference, check=False)
    result = registries(
        environment, "exec", "--registries", str(path), "--", str(tool("docker")), "buildx", "build",
        "--progress=plain", "--network", "host", "-t", "bench/by-exec:1", str(context),
    )  # fmt: skip
    assert result.code == 0, result.text
    assert 'building with "default" instance using docker driver' in result.text
    assert dockerd.docker("run", "--rm", "bench/by-exec:1", "cat", "/by-exec").stdout == "by-exec\n"
    assert token_registry.password not in result.text
    assert leftovers(environment) == []


def test_a_base_image_only_in_the_daemons_store_is_a_local_image(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """As a plain `docker build` allows: the image is in the daemon, its registry (Docker Hub) cannot
    be reached. Both engines take it; with --pull BuildKit would go to the registry, so that fails."""
    import_image(dockerd, "bench/local-only:1", "local only")
    context = context_with(
        tmp_path, f"FROM bench/local-only:1\nCOPY --from={private_registry.reference} /etc/bench-image /b\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, dockerd, tmp_path)
    for engine_env in (environment, {**environment, "REGISTRIES_DOCKER_CLI": "/nonexistent"}):
        result = registries(
            engine_env, "build", str(context), "-t", "bench/from-local:1", "--registries", str(path)
        )
        assert result.code == 0, result.text
        rows = [line.split() for line in result.out.splitlines()]
        assert rows[1][:3] == ["docker.io/bench/local-only:1", "docker.io", "local"]
        assert [private_registry.reference, private_registry.server, "ok"] == rows[2][:3]
        run = dockerd.docker("run", "--rm", "bench/from-local:1", "cat", "/etc/bench-image", "/b")
        assert run.stdout.splitlines() == ["local only", private_registry.reference]
    pulled = registries(environment, "build", str(context), "--pull", "--registries", str(path))
    assert pulled.code == 1
    assert "docker.io/bench/local-only:1 (FROM, line 1): docker.io: registry unreachable" in pulled.err


def test_the_classic_builder_on_the_containerd_store_reports_the_pushed_digest(
    env: dict[str, str], containerd_dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo classic > /classic\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildx_env(env, containerd_dockerd, tmp_path, REGISTRIES_DOCKER_CLI="/nonexistent")
    tag = f"{private_registry.server}/classic/app:1"
    result = registries(
        environment,
        "build",
        str(context),
        "-t",
        tag,
        "--push",
        "--network",
        "host",
        "--registries",
        str(path),
    )
    assert result.code == 0, result.text
    assert "Step 1/2 : FROM" in result.out  # the classic builder
    assert pushed(result)[tag] == manifest_digest(private_registry, "classic/app", "1")


# --- the engine choice, with each CLI -----------------------------------------------------------------


def test_the_engine_choice_with_each_cli(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    """CLI 26 with the plugin: buildx. Debian 12's CLI 20.10 alone: its own BuildKit. CLI 26 without
    the plugin has no BuildKit of its own (`DOCKER_BUILDKIT=1 docker build` says buildx is missing):
    the classic builder, with a notice that says why and what to install."""
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo chosen > /chosen\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    with_plugin = buildx_env(env, dockerd, tmp_path)
    no_plugin = {**with_plugin, "DOCKER_CONFIG": str(tmp_path / "no-plugins")}
    cases: list[tuple[str, dict[str, str], str, str]] = [
        ("buildx", with_plugin, "buildx", 'building with "default" instance using docker driver'),
    ]
    old = debian12_cli()
    if old is not None:
        cases.append(
            ("20.10", {**no_plugin, "REGISTRIES_DOCKER_CLI": str(old)},
             "BuildKit of the docker CLI (no buildx plugin)", "[internal] load build definition"),
        )  # fmt: skip
    if not any(Path(folder, "docker-buildx").exists() for folder in SYSTEM_PLUGINS):
        cases.append(("26 alone", no_plugin, "classic builder", "Step 1/2 : FROM"))
    for label, environment, engine, log in cases:
        assert choose(Engine.AUTO, environment).name == engine, label
        result = registries(
            environment, "build", str(context), "-t", "bench/chosen:1", "--no-cache", "--network", "host",
            "--registries", str(path),
        )  # fmt: skip
        assert result.code == 0, (label, result.text)
        assert log in result.out, (label, result.out)
        assert dockerd.docker("run", "--rm", "bench/chosen:1", "cat", "/chosen").stdout == "chosen\n"
        if engine == "classic builder":
            assert "notice: building with the classic builder" in result.err
            assert "has no buildx plugin" in result.err and "Docker 26.1" in result.err
        else:
            assert "classic builder" not in result.err
    plain = subprocess.run(
        [str(tool("docker")), "build", str(context)],
        env={**dockerd.env(tmp_path / "no-plugins"), "DOCKER_BUILDKIT": "1"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert plain.returncode != 0 and "buildx component is missing" in plain.stderr
    forced = registries(no_plugin, "build", str(context), "--engine", "buildkit", "--registries", str(path))
    assert forced.code == 1 and "no BuildKit to build with" in forced.err


# --- the argument mapping -----------------------------------------------------------------------------


def test_the_buildx_arguments(tmp_path: Path) -> None:
    """build-push-action's inputs as buildx spells them; every one of them runs for real above."""
    spec = BuildSpec(
        tags=["r.example.org/app:1", "r.example.org/app:latest"],
        labels={"team": "core"},
        platforms=["linux/amd64", "linux/arm64"],
        pull=True,
        no_cache=True,
        push=True,
        load=False,
        cache_from=["type=registry,ref=r.example.org/app:cache"],
        cache_to=["type=registry,ref=r.example.org/app:cache,mode=max"],
        secrets=["id=npm,src=/run/npmrc", "id=token,env=TOKEN"],
        ssh=["default"],
        build_contexts={"alpine": "docker-image://alpine:3.20"},
        outputs=[],
        provenance="mode=max",
        sbom="true",
        annotations=["index:org.opencontainers.image.title=app"],
        network="host",
        builder="remote",
        extra_args=["--shm-size", "1g"],
    )
    dockerfile = DockerfileOptions(
        context=Path("app"), file=Path("app/Dockerfile.prod"), build_args={"V": "1,2"}, target="runtime"
    )
    buildx = CliBuilder("docker", {}, buildx=True)
    assert buildx.refuses(spec) == {}
    assert buildx.arguments(dockerfile, spec, tmp_path) == [
        "buildx", "build", "--progress=plain",
        "--tag", "r.example.org/app:1", "--tag", "r.example.org/app:latest",
        "--build-arg", "V=1,2",
        "--label", "team=core",
        "--cache-from", "type=registry,ref=r.example.org/app:cache",
        "--cache-to", "type=registry,ref=r.example.org/app:cache,mode=max",
        "--secret", "id=npm,src=/run/npmrc", "--secret", "id=token,env=TOKEN",
        "--ssh", "default",
        "--annotation", "index:org.opencontainers.image.title=app",
        "--build-context", "alpine=docker-image://alpine:3.20",
        "--file", "app/Dockerfile.prod",
        "--target", "runtime",
        "--platform", "linux/amd64,linux/arm64",
        "--provenance", "mode=max",
        "--sbom", "true",
        "--network", "host",
        "--builder", "remote",
        "--iidfile", str(tmp_path / "iid"),
        "--metadata-file", str(tmp_path / "metadata.json"),
        "--pull", "--no-cache", "--push",
        "--shm-size", "1g",
        "app",
    ]  # fmt: skip
    for outputs, iidfile in (
        (["type=local,dest=out"], False),
        (["out"], False),  # buildx's shorthand for a local output
        (["-"], False),  # and for a tar to stdout
        (["type=tar,dest=o.tar"], False),
        (["type=docker,dest=o.tar"], True),
        (["type=oci,dest=o.tar"], True),
        (['type=image,"name=a.example.org/x:1,b.example.org/x:1",push=true'], True),
        (["type=registry"], True),
    ):
        args = buildx.arguments(dockerfile, BuildSpec(outputs=outputs), tmp_path)
        assert ("--iidfile" in args) is iidfile, outputs
    builtin = CliBuilder("docker", {}, buildx=False)
    assert set(builtin.refuses(spec)) == {
        "--cache-to", "--build-context", "--provenance", "--sbom", "--annotation", "--builder",
        "--platform with several platforms",
    }  # fmt: skip
    assert "--push" not in builtin.arguments(dockerfile, BuildSpec(push=True, tags=["a"]), tmp_path)
    assert ClassicBuilder({}).refuses(BuildSpec(build_contexts={"a": "b"})) == {"--build-context": "buildx"}


def test_every_registry_a_build_reads_or_writes() -> None:
    spec = BuildSpec(
        tags=["t.example.org/app:1"],
        cache_from=["type=registry,ref=cf.example.org/c:1", "plain.example.org/cache:1", "type=gha"],
        cache_to=["type=registry,ref=ct.example.org/c:1,mode=max", "type=inline", "type=local,dest=x"],
        outputs=['type=image,"name=o1.example.org/a:1,o2.example.org/a:1",push=true', "type=local,dest=d"],
    )
    assert spec.registry_references() == [
        "cf.example.org/c:1", "plain.example.org/cache:1", "ct.example.org/c:1",
        "o1.example.org/a:1", "o2.example.org/a:1",
    ]  # fmt: skip
    assert spec.pushed_names() == ["o1.example.org/a:1", "o2.example.org/a:1"]
    assert BuildSpec(tags=["t.example.org/a:1"], push=True).pushed_names() == ["t.example.org/a:1"]
    assert BuildSpec(tags=["t.example.org/a:1"], outputs=["type=registry"]).pushed_names() == [
        "t.example.org/a:1"
    ]
    assert BuildSpec(tags=["t.example.org/a:1"], outputs=["type=image,push=false"]).pushed_names() == []
