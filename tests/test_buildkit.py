"""Builds through BuildKit on the bench's daemon (Engine 26.1), driven by Debian 12's docker CLI 20.10
(BuildKit built in, no buildx plugin: DOCKER_BUILDKIT=1 docker build), `registries exec` with real
clients, `images`, and the temporary config. The same through the real buildx plugin (CLI 26.1):
tests/test_buildx.py."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.clirun import Result, run_process
from tests.servers.aws import AwsFront
from tests.servers.distribution import Registry
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import ECR_ACCOUNT, PrivateRegistry, basic, entries_file, push
from tests.servers.images import DEBIAN_DOCKER_CLI


def buildkit_env(env: dict[str, str], dockerd: Dockerd, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Debian's CLI (the machine's own docker, first on PATH, has no buildx), a TMPDIR of the test's
    own (so a temporary config left behind would be seen), and no docker config in HOME."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {
        **env,
        "DOCKER_HOST": dockerd.host,
        "REGISTRIES_DOCKER_CLI": DEBIAN_DOCKER_CLI,
        "TMPDIR": str(temp),
        **extra,
    }


def registries(env: dict[str, str], *argv: str) -> Result:
    return run_process(env, *argv, timeout=300)


def leftovers(env: dict[str, str]) -> list[str]:
    return sorted(os.listdir(env["TMPDIR"]))


def test_a_buildkit_build_with_cache_and_secret_mounts_from_three_registries(
    env: dict[str, str],
    dockerd: Dockerd,
    aws: AwsFront,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    ecr_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"""FROM {private_registry.reference} AS base
RUN --mount=type=cache,target=/cache echo cached >> /cache/log && cat /cache/log > /cache-seen
FROM {token_registry.reference}
COPY --from=base /cache-seen /cache-seen
COPY --from={ecr_registry.reference} /etc/bench-image /from-ecr
RUN --mount=type=secret,id=note v="$(cat /run/secrets/note)" && test "${{#v}}" -eq 18 && echo ok > /secret-ok
"""
    )
    for reference in (private_registry.reference, token_registry.reference, ecr_registry.reference):
        dockerd.docker("rmi", "-f", reference, check=False)
    ecr = {
        "server": ecr_registry.server,
        "type": "ecr",
        "aws-account": ECR_ACCOUNT,
        "aws-region": "us-east-1",
    }
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry), ecr])
    environment = buildkit_env(
        env, dockerd, tmp_path, NOTE="note-for-the-build", **aws.env(), AWS_EC2_METADATA_DISABLED="true"
    )
    result = registries(
        environment,
        "build",
        str(context),
        "-t",
        "bench/buildkit:1",
        "--secret",
        "id=note,env=NOTE",
        "--no-cache",
        "--network",
        "host",  # the bench's daemon has no bridge
        "--registries",
        str(path),
    )
    assert result.code == 0, result.text
    assert "--mount" not in result.err  # no "requires BuildKit": it ran on BuildKit
    run = dockerd.docker("run", "--rm", "bench/buildkit:1", "cat", "/cache-seen", "/from-ecr", "/secret-ok")
    assert run.stdout.split() == [
        "cached",
        ecr_registry.reference,
        "ok",
    ]  # the secret (18 characters) was there
    assert (
        dockerd.docker(
            "run", "--rm", "bench/buildkit:1", "test", "-e", "/run/secrets/note", check=False
        ).returncode
        == 1
    )
    history = dockerd.docker("history", "--no-trunc", "bench/buildkit:1").stdout
    assert "note-for-the-build" not in history
    for secret in (private_registry.password, token_registry.password, ecr_registry.password):
        assert secret not in result.text
    assert leftovers(environment) == []  # the temporary docker config is gone
    assert not (Path(env["HOME"]) / ".docker").exists()  # nothing written to the user's config


def test_a_buildkit_push_lands_with_the_registrys_digest(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {private_registry.reference}\nRUN echo pushed > /pushed\n")
    target = f"{token_registry.server}/kit/app:2"
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry)])
    environment = buildkit_env(env, dockerd, tmp_path)
    metadata = tmp_path / "metadata.json"
    result = registries(
        environment, "build", str(context), "-t", target, "--push", "--registries", str(path),
        "--metadata-file", str(metadata), "--network", "host",
    )  # fmt: skip
    assert result.code == 0, result.text
    pushed = next(line for line in result.out.splitlines() if line.startswith("Pushed "))
    digest = pushed.rsplit("@", 1)[1]
    token = requests.get(
        token_registry.registry.token_server.realm,  # type: ignore[union-attr]
        params={"service": "bench-registry", "scope": "repository:kit/app:pull"},
        auth=(token_registry.username, token_registry.password),
        timeout=10,
    ).json()["token"]
    head = requests.head(
        f"{token_registry.registry.url}/v2/kit/app/manifests/2",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        },
        timeout=10,
    )
    assert head.headers["Docker-Content-Digest"] == digest
    image_id = result.out.split("Built ", 1)[1].split()[0]
    assert json.loads(metadata.read_text()) == {
        "containerimage.config.digest": image_id,
        "containerimage.digest": digest,
    }
    assert leftovers(environment) == []


def test_the_target_decides_what_is_pulled(
    env: dict[str, str],
    dockerd: Dockerd,
    private_registry: PrivateRegistry,
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
) -> None:
    """A stage the target does not need comes from a registry we hold nothing for: BuildKit never
    pulls it, so neither the pre-flight nor the build asks; the classic builder would pull it."""
    unheld = registry_factory(users={"zed": "pw-zed"})
    push(dockerd, f"{unheld.server}/hidden/tools:1", "zed", "pw-zed", tmp_path)
    # only in its registry: an image the daemon holds would be taken from there (a local image)
    dockerd.docker("rmi", f"{unheld.server}/hidden/tools:1")
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {unheld.server}/hidden/tools:1 AS tools\nRUN echo never\n"
        f"FROM {private_registry.reference} AS app\nRUN echo app > /app\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildkit_env(env, dockerd, tmp_path)
    images = registries(environment, "images", str(context), "--json")
    assert json.loads(images.out) == [{"image": private_registry.reference, "instruction": "FROM", "line": 3}]
    every = json.loads(registries(environment, "images", str(context), "--all-stages", "--json").out)
    assert [i["image"] for i in every] == [f"{unheld.server}/hidden/tools:1", private_registry.reference]
    assert registries(environment, "check", str(context), "--registries", str(path)).code == 0
    tools = registries(environment, "check", str(context), "--target", "tools", "--registries", str(path))
    assert tools.code == 1 and "no credential held" in tools.err
    built = registries(
        environment,
        "build",
        str(context),
        "-t",
        "bench/target:1",
        "--network",
        "host",
        "--registries",
        str(path),
    )
    assert built.code == 0, built.text
    classic = registries(
        {**environment, "REGISTRIES_DOCKER_CLI": "/nonexistent"},
        "build",
        str(context),
        "--registries",
        str(path),
    )
    assert classic.code == 1  # no CLI: the classic builder, which pulls every stage: refused first
    assert (
        f"{unheld.server}/hidden/tools:1 (FROM, line 1): {unheld.server}: no credential held" in classic.err
    )


def test_the_classic_builder_refuses_what_it_cannot_build(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {private_registry.reference}\nRUN echo plain\nRUN --mount=type=cache,target=/c true\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildkit_env(env, dockerd, tmp_path)
    refused = registries(environment, "build", str(context), "--engine", "classic", "--registries", str(path))
    assert refused.code == 1
    assert f"{context / 'Dockerfile'}:3: RUN --mount needs BuildKit" in refused.err
    secret = registries(
        environment, "build", str(context), "--engine", "classic", "--secret", "id=a,env=HOME",
        "--registries", str(path),
    )  # fmt: skip
    assert secret.code == 1 and "--secret: the classic builder cannot do this; BuildKit can" in secret.err
    cache_to = registries(
        environment, "build", str(context), "--cache-to", "type=inline", "--registries", str(path)
    )
    assert cache_to.code == 1
    assert (
        "--cache-to: the BuildKit of the docker CLI (no buildx plugin) cannot do this; buildx can"
        in cache_to.err
    )
    none = registries(
        {**environment, "REGISTRIES_DOCKER_CLI": "/nonexistent"},
        "build", str(context), "--engine", "buildkit", "--registries", str(path),
    )  # fmt: skip
    assert none.code == 1 and "no BuildKit to build with" in none.err
    for result in (refused, secret, cache_to, none):
        assert "Traceback" not in result.text


def test_exec_hands_the_credentials_to_docker_and_skopeo(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, token_registry: PrivateRegistry,
    tmp_path: Path,
) -> None:  # fmt: skip
    path = entries_file(tmp_path, [basic(private_registry), basic(token_registry)])
    environment = buildkit_env(env, dockerd, tmp_path)
    dockerd.docker("rmi", "-f", token_registry.reference, check=False)
    pulled = registries(
        environment,
        "exec",
        "--registries",
        str(path),
        "--",
        DEBIAN_DOCKER_CLI,
        "pull",
        token_registry.reference,
    )
    assert pulled.code == 0, pulled.text
    inspected = registries(
        environment, "exec", "--registries", str(path), "--",
        "skopeo", "inspect", "--tls-verify=false", f"docker://{private_registry.reference}",
    )  # fmt: skip
    assert inspected.code == 0, inspected.text
    assert json.loads(inspected.out)["Name"] == f"{private_registry.server}/private/app"
    status = registries(environment, "exec", "--registries", str(path), "--", "sh", "-c", "exit 7")
    assert status.code == 7
    where = registries(
        environment, "exec", "--registries", str(path), "--", "sh", "-c",
        'echo "$DOCKER_CONFIG"; echo "$REGISTRY_AUTH_FILE"; stat -c %a "$DOCKER_CONFIG"',
    )  # fmt: skip
    folder, auth_file, mode = where.out.split()
    assert auth_file == f"{folder}/config.json" and mode == "700"
    assert not Path(folder).exists()  # gone once the command ended
    missing = registries(environment, "exec", "--registries", str(path), "--", "no-such-command-here")
    assert missing.code == 1 and "no-such-command-here: command not found" in missing.err
    for result in (pulled, inspected, status, where):
        assert private_registry.password not in result.text
        assert token_registry.password not in result.text
    assert leftovers(environment) == []


def test_a_temporary_config_keeps_the_users_settings_builders_and_contexts(tmp_path: Path) -> None:
    from private_registries import dockerconfig
    from private_registries.config import make_registry
    from private_registries.credential import Credential

    user = tmp_path / "user-docker"
    (user / "buildx" / "instances").mkdir(parents=True)
    (user / "contexts").mkdir()
    (user / "config.json").write_text(
        json.dumps(
            {
                "auths": {"other.example.org": {"auth": "b3RoZXI6cHc="}},
                "credsStore": "desktop",
                "credHelpers": {"ours.example.org": "ecr-login"},
                "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
                "currentContext": "remote",
            }
        )
    )
    registry = make_registry("ours.example.org", "bob", "pw-temporary-1", where="test")
    credential = Credential(registry, "bob", registry.password)  # type: ignore[arg-type]
    with dockerconfig.temporary([credential], user) as folder:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        config = json.loads((folder / "config.json").read_text())
        assert config == {
            "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
            "currentContext": "remote",
            "auths": {"ours.example.org": {"auth": "Ym9iOnB3LXRlbXBvcmFyeS0x"}},
        }
        assert (folder / "buildx" / "instances").is_dir() and (folder / "buildx").is_symlink()
        assert (folder / "contexts").resolve() == (user / "contexts").resolve()
        assert not (folder / "cli-plugins").exists()
    assert not folder.exists()
    assert (user / "buildx" / "instances").is_dir()  # the links went, what they named stayed
    with pytest.raises(RuntimeError), dockerconfig.temporary([credential], user) as second:
        raise RuntimeError("a failed build")
    assert not second.exists()


def test_a_failing_buildkit_step_is_named_and_ctrl_c_leaves_nothing(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {private_registry.reference}\nRUN echo about-to-fail && cat /no/such/file\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    environment = buildkit_env(env, dockerd, tmp_path)
    failed = registries(environment, "build", str(context), "--network", "host", "--registries", str(path))
    assert failed.code == 1
    first = failed.err.splitlines()[0]
    assert first.startswith("error: the build failed: ") and "cat /no/such/file" in first
    assert "about-to-fail" in failed.err.split("\n", 1)[1]  # the step's own output, quoted
    assert "\x1b" not in failed.err
    assert "Traceback" not in failed.text
    assert leftovers(environment) == []

    # Ctrl-C while the command runs: the command stops, and so does the folder of credentials
    process = subprocess.Popen(
        [sys.executable, "-m", "private_registries", "exec", "--registries", str(path), "--",
         "sh", "-c", 'echo "$DOCKER_CONFIG"; sleep 30'],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert folder.is_dir()
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole foreground group
    assert process.wait(timeout=30) == 130
    assert not folder.exists()
    assert leftovers(environment) == []
