"""Multi-platform images across native runners: each platform built and pushed by digest alone
(`registries build --push-by-digest`, the action's `push-by-digest`), then merged into one index
(`registries merge`, the action's `merge-digests`) through `docker buildx imagetools create`.

On the real buildx 0.13.1 and Engine 26.1. buildx's `docker` driver cannot push by digest (on either
image store: "push-by-digest is currently not implemented for docker driver"), so the builds run on a
`remote` builder that is the containerd-store daemon's own BuildKit (tests/servers/remote_builder.py),
as a workflow's builds run on docker/setup-buildx-action's docker-container builder. Each image is
`FROM scratch` + `COPY`: no emulation is needed for arm64. The index is read back with real clients:
`docker buildx imagetools inspect --raw` and `docker pull`.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from private_registries.builders import BuildSpec
from private_registries.builders.cli import CliBuilder
from private_registries.dockerfile import DockerfileOptions
from private_registries.services.merge import merge_annotations
from tests.clirun import run
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import (
    BASE_IMAGE,
    PrivateRegistry,
    basic,
    docker_config_for,
    entries_file,
    pull_fresh,
)
from tests.servers.images import import_image
from tests.servers.procs import BenchError
from tests.servers.remote_builder import DaemonBuildkit
from tests.servers.tools import plugins_config
from tests.test_action_stages import run_main
from tests.test_buildx import buildx_env, context_with, manifest_digest, pushed, registries

PLATFORMS = ("linux/amd64", "linux/arm64")
BUILDER = "bench-remote"


@pytest.fixture(scope="module")
def containerd_dockerd() -> Iterator[Dockerd]:
    """The module's one extra daemon: Engine 26.1 on containerd's image store."""
    root = Path(tempfile.gettempdir()) / f"bench-dockerd-merge-{secrets.token_hex(3)}"  # a short socket path
    daemon = Dockerd(root, containerd_store=True)
    try:
        import_image(daemon, BASE_IMAGE, "base")
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def buildkit(
    containerd_dockerd: Dockerd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaemonBuildkit]:
    server = DaemonBuildkit(containerd_dockerd, tmp_path_factory.mktemp("buildkit"))
    yield server
    server.stop()


@pytest.fixture
def remote_env(
    env: dict[str, str], containerd_dockerd: Dockerd, buildkit: DaemonBuildkit, tmp_path: Path
) -> dict[str, str]:
    """buildx_env with the remote builder kept in the user's DOCKER_CONFIG (its buildx/ folder)."""
    environment = buildx_env(env, containerd_dockerd, tmp_path)
    buildkit.create_builder(BUILDER, Path(environment["DOCKER_CONFIG"]))
    return environment


def platform_context(tmp_path: Path, platform: str) -> Path:
    context = context_with(tmp_path, "FROM scratch\nCOPY data /data\n", name=platform.replace("/", "-"))
    (context / "data").write_text(f"built for {platform}\n")
    return context


def raw_index(dockerd: Dockerd, reg: PrivateRegistry, reference: str, tmp_path: Path) -> dict[str, object]:
    """`docker buildx imagetools inspect --raw`, with a throwaway config of the bench's own."""
    config = docker_config_for(
        tmp_path / f"inspect-{secrets.token_hex(3)}", {reg.server: (reg.username, reg.password)}
    )
    inspected = dockerd.docker(
        "buildx", "imagetools", "inspect", "--raw", reference, config=plugins_config(config)
    )
    index: dict[str, object] = json.loads(inspected.stdout)
    return index


def platform_manifests(index: dict[str, object]) -> dict[str, str]:
    """os/arch -> manifest digest of an index's image manifests (attestation manifests left out)."""
    manifests = index["manifests"]
    assert isinstance(manifests, list)
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in manifests
        if m["platform"]["os"] != "unknown"
    }


def test_two_platforms_built_by_digest_on_their_own_then_merged_into_a_pullable_index(
    remote_env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    path = entries_file(tmp_path, [basic(private_registry)])
    repository = f"{private_registry.server}/multi/app"
    digests = {}
    for platform in PLATFORMS:  # as each matrix job runs it, on its own runner
        built = registries(
            remote_env, "build", str(platform_context(tmp_path, platform)), "--push-by-digest",
            "-t", f"{repository}:1", "--platform", platform, "--builder", BUILDER, "--registries", str(path),
        )  # fmt: skip
        assert built.code == 0, built.text
        assert f"({repository}, by digest)" in built.out
        [(name, digest)] = pushed(built).items()
        assert name == repository
        # in the registry under its digest alone: the tag was not pushed
        assert manifest_digest(private_registry, "multi/app", digest) == digest
        digests[platform] = digest
    with pytest.raises(BenchError, match="not found"):  # a push by digest pushes no tag
        raw_index(dockerd, private_registry, f"{repository}:1", tmp_path)

    # the two forms: a full reference, and a digest alone (in the first tag's repository)
    step_summary = tmp_path / "summary.md"
    in_a_workflow = {**remote_env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    merged = registries(
        in_a_workflow, "merge", "-t", f"{repository}:1", "-t", f"{repository}:latest",
        f"{repository}@{digests['linux/amd64']}", digests["linux/arm64"], "--registries", str(path),
        "--annotation", "org.opencontainers.image.title=app",  # no level: the index's
        "--annotation", "manifest-descriptor[linux/arm64]:org.example.tuned=arm",
    )  # fmt: skip
    assert merged.code == 0, merged.text
    tags = pushed(merged)
    assert set(tags) == {f"{repository}:1", f"{repository}:latest"}
    index_digest = tags[f"{repository}:1"]
    assert tags[f"{repository}:latest"] == index_digest
    assert f"Merged 2 images into {index_digest}" in merged.out
    assert manifest_digest(private_registry, "multi/app", "1") == index_digest
    written = step_summary.read_text()
    assert written.startswith("\n### Merge\n") and f"| Digest | `{index_digest}` |" in written
    assert "`index:org.opencontainers.image.title=app`" in written

    index = raw_index(dockerd, private_registry, f"{repository}:1", tmp_path)
    assert index["annotations"] == {"org.opencontainers.image.title": "app"}
    descriptors = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m.get("annotations", {})
        for m in index["manifests"]  # type: ignore[attr-defined]
    }
    assert descriptors["linux/arm64"] == {"org.example.tuned": "arm"}
    assert descriptors["linux/amd64"] == {}
    # each build's own platform manifest (buildx pushed an index of it and its attestation) is in it
    expected = {}
    for digest in digests.values():
        source = raw_index(dockerd, private_registry, f"{repository}@{digest}", tmp_path)
        expected.update(platform_manifests(source))
    assert platform_manifests(index) == expected
    assert set(expected) == set(PLATFORMS)

    config = docker_config_for(
        tmp_path / "pull", {private_registry.server: (private_registry.username, private_registry.password)}
    )
    pulled = pull_fresh(dockerd, f"{repository}:1", config)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    # in a workflow the runner is told to mask it (::add-mask::), and nothing else says it
    told = [line for line in merged.text.splitlines() if not line.startswith("::add-mask::")]
    assert private_registry.password not in "\n".join(told) + written
    assert not list(Path(remote_env["TMPDIR"]).iterdir()), "a temporary docker config was left behind"


def test_the_action_builds_each_platform_by_digest_then_merges_the_digests(
    remote_env: dict[str, str], private_registry: PrivateRegistry, dockerd: Dockerd, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The main stage as a matrix job runs it for each platform, then as the final job runs it."""
    registries_input = json.dumps([basic(private_registry)])
    repository = f"{private_registry.server}/action/app"
    digests = []
    for platform in PLATFORMS:
        leg = tmp_path / platform.replace("/", "-")
        leg.mkdir()
        built = run_main(
            leg, remote_env,
            {"registries": registries_input, "context": str(platform_context(leg, platform)),
             "tags": f"{repository}:1", "platforms": platform, "push-by-digest": "true", "builder": BUILDER},
            "push", {},
        )  # fmt: skip
        assert built.code == 0, capsys.readouterr().out
        digest = built.outputs["digest"]
        assert digest.startswith("sha256:")
        assert manifest_digest(private_registry, "action/app", digest) == digest
        digests.append(digest)
    final = tmp_path / "merge"
    final.mkdir()
    merged = run_main(
        final, remote_env,
        {"registries": registries_input, "tags": f"{repository}:1\n{repository}:latest",
         "merge-digests": "\n".join(digests),
         # metadata-action's output with DOCKER_METADATA_ANNOTATIONS_LEVELS: index
         "annotations": "index:org.opencontainers.image.version=1\n"
                        "index:org.opencontainers.image.licenses=MIT"},
        "push", {},
    )  # fmt: skip
    out = capsys.readouterr().out
    assert merged.code == 0, out
    assert "#### Merge" in merged.summary
    assert f"| Digest | `{merged.outputs['digest']}` |" in merged.summary
    assert f"`{repository}:latest`" in merged.summary
    assert "`index:org.opencontainers.image.licenses=MIT`" in merged.summary
    assert all(f"`{repository}@{digest}`" in merged.summary for digest in digests)
    assert merged.outputs["digest"] == manifest_digest(private_registry, "action/app", "1")
    assert merged.outputs["digest"] == manifest_digest(private_registry, "action/app", "latest")
    assert f"Pushed {repository}:latest@{merged.outputs['digest']}" in out
    assert "ignored" not in out  # tags is the merge's input, not a stray build input
    index = raw_index(dockerd, private_registry, f"{repository}:1", tmp_path)
    assert set(platform_manifests(index)) == set(PLATFORMS)
    assert index["annotations"] == {
        "org.opencontainers.image.version": "1",
        "org.opencontainers.image.licenses": "MIT",
    }


def test_the_docker_driver_cannot_push_by_digest_and_the_hint_says_which_builders_can(
    env: dict[str, str], containerd_dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    path = entries_file(tmp_path, [basic(private_registry)])
    context = platform_context(tmp_path, "linux/amd64")
    result = registries(
        buildx_env(env, containerd_dockerd, tmp_path), "build", str(context), "--push-by-digest",
        "-t", f"{private_registry.server}/multi/app:1", "--registries", str(path),
    )  # fmt: skip
    assert result.code == 1
    assert "push-by-digest is currently not implemented for docker driver" in result.err
    assert "docker-container builder" in result.err and "setup-buildx-action" in result.err
    assert "Traceback" not in result.text


def test_the_arguments_that_reach_buildx() -> None:
    spec = BuildSpec(
        tags=["r.example.org/team/app:1", "r.example.org/team/app:latest"],
        platforms=["linux/arm64"],
        push_by_digest=True,
    )
    dockerfile = DockerfileOptions(context=Path("app"))
    arguments = CliBuilder("docker", {}, buildx=True).arguments(dockerfile, spec, Path("scratch"))
    assert "--tag" not in arguments and "--push" not in arguments  # the tags only name the repository
    at = arguments.index("--output")
    assert arguments[at + 1] == (
        "type=image,name=r.example.org/team/app,push-by-digest=true,name-canonical=true,push=true"
    )
    assert arguments[arguments.index("--platform") + 1] == "linux/arm64"
    assert spec.pushed_names() == ["r.example.org/team/app"]  # its registry's credential goes in
    hub = BuildSpec(tags=["octo/app:1"], push_by_digest=True)
    assert hub.digest_repository == "docker.io/octo/app"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--push-by-digest needs a tag to name the repository"),
        (
            ["-t", "a.example.org/x:1", "-t", "b.example.org/x:1"],
            "--push-by-digest pushes to one repository; the tags name 2: a.example.org/x, b.example.org/x",
        ),
        (["-t", "a.example.org/x:1", "--load"], "--push-by-digest and --load do not go together"),
        (["-t", "a.example.org/x:1", "--push"], "--push-by-digest and --push do not go together"),
        (["-t", "a.example.org/x:1", "-o", "type=local,dest=out"], "--push-by-digest and --output do not go"),
        (
            ["-t", "a.example.org/x:1", "--engine", "classic"],
            "--push-by-digest: the classic builder cannot do this; buildx can",
        ),
    ],
    ids=["no-tag", "two-repositories", "load", "push", "output", "classic"],
)
def test_a_push_by_digest_that_makes_no_sense_is_refused_before_anything_runs(
    argv: list[str], message: str, env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = context_with(tmp_path, "FROM scratch\nCOPY data /data\n")
    environment = {**env, "DOCKER_HOST": "unix:///nonexistent.sock", "REGISTRIES_DOCKER_CLI": "/nonexistent"}
    result = run(capsys, environment, "build", str(context), "--push-by-digest", "--no-check", *argv)
    assert result.code == 1
    assert message in result.err, result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sha256:" + "a" * 64], "a merge needs a tag to push the index to"),
        (
            ["-t", "r.example.org/x@sha256:" + "a" * 64, "sha256:" + "b" * 64],
            "an index is pushed to a tag, not to a digest",
        ),
        (["-t", "r.example.org/x:1", "sha256:abc"], "'sha256:abc' is not a digest"),
        (["-t", "r.example.org/x:1", "Not An Image"], "is not a valid image reference"),
    ],
    ids=["no-tag", "tag-by-digest", "short-digest", "not-a-reference"],
)
def test_a_merge_that_makes_no_sense_is_refused(
    argv: list[str], message: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, {**env, "REGISTRIES_DOCKER_CLI": "/nonexistent"}, "merge", *argv)
    assert result.code == 1
    assert message in result.err, result.err


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["org.opencontainers.image.title=app"], ["index:org.opencontainers.image.title=app"]),
        (["index:a=1", "manifest-descriptor:b=2"], ["index:a=1", "manifest-descriptor:b=2"]),
        (["manifest-descriptor[linux/arm64]:b=x=y"], ["manifest-descriptor[linux/arm64]:b=x=y"]),
        (["index,manifest-descriptor:a=1"], ["index:a=1", "manifest-descriptor:a=1"]),
        (["", "  index:a=1  ", "index:a=1"], ["index:a=1"]),
        (["index:a="], ["index:a="]),
    ],
    ids=["no-level", "levels", "one-platform", "two-levels", "blank-and-twice", "empty-value"],
)
def test_the_annotations_a_merge_gives_buildx(given: list[str], expected: list[str]) -> None:
    """buildx 0.13.1's imagetools create takes index: and manifest-descriptor: (with a platform) alone:
    with no level it says '"" annotations are not supported yet', and a comma list is one level to it."""
    assert merge_annotations(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("manifest:org.opencontainers.image.title=app", "a merge cannot set manifest annotations"),
        ("manifest[linux/amd64]:a=1", "a merge cannot set manifest annotations"),
        ("index,manifest:a=1", "a merge cannot set manifest annotations"),
        ("index-descriptor:a=1", "a merge cannot set index-descriptor annotations"),
        ("index:=1", "expected KEY=VALUE"),
        ("org.opencontainers.image.title", "expected KEY=VALUE"),
        ("layer:a=1", "'layer' is not an annotation level"),
    ],
    ids=[
        "manifest",
        "manifest-platform",
        "manifest-in-a-list",
        "index-descriptor",
        "no-key",
        "no-value",
        "level",
    ],
)
def test_an_annotation_a_merge_cannot_set_is_refused_with_the_fix(
    given: str, message: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "-t",
        "r.example.org/x:1",
        "sha256:" + "a" * 64,
        "--annotation",
        "index:ok=1",
        "--annotation",
        given,
    ]
    result = run(capsys, {**env, "REGISTRIES_DOCKER_CLI": "/nonexistent"}, "merge", *argv)
    assert result.code == 1
    assert f"annotation 2 ({given!r}): {message}" in result.err, result.err
    if "manifest annotations" in message:
        assert "DOCKER_METADATA_ANNOTATIONS_LEVELS: index" in result.err


def test_the_merge_needs_sources(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse: SOURCE is required
        run(capsys, env, "merge", "-t", "r.example.org/x:1")
    assert exited.value.code == 2
    assert "the following arguments are required: SOURCE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"merge-digests": "sha256:" + "a" * 64}, "a merge needs a tag to push the index to"),
        (
            {"merge-digests": "sha256:" + "a" * 64, "tags": "r.example.org/x:1", "context": "."},
            "input merge-digests: a step that merges builds nothing",
        ),
        (
            {"push-by-digest": "true", "context": ".", "tags": "r.example.org/x:1", "load": "true"},
            "input push-by-digest and input load do not go together",
        ),
        ({"push-by-digest": "yes"}, "input push-by-digest: 'yes' is not a boolean"),
        (
            {
                "merge-digests": "sha256:" + "a" * 64,
                "tags": "r.example.org/x:1",
                "annotations": "manifest:a=1",
            },
            "annotation 1 ('manifest:a=1'): a merge cannot set manifest annotations",
        ),
    ],
    ids=["merge-no-tag", "merge-and-build", "push-by-digest-and-load", "not-a-boolean", "merge-annotation"],
)
def test_the_actions_refusals_name_its_inputs(
    inputs: dict[str, str],
    message: str,
    env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    environment = {**env, "REGISTRIES_DOCKER_CLI": "/nonexistent", "DOCKER_HOST": "unix:///nonexistent.sock"}
    inputs = {"check": "false", **inputs}
    if inputs.get("context") == ".":
        inputs["context"] = str(tmp_path)
    result = run_main(tmp_path, environment, inputs, "push", {})
    out = capsys.readouterr().out
    assert result.code == 1
    assert message in out, out
