"""The build's part of the step summary, from real builds: buildx 0.13.1 on Engine 26.1 through the
action's main stage and `registries build` in a workflow, and the classic builder. What it says is
checked against real clients (`docker pull`, the registry's own digest, `docker image inspect`);
how it renders, with cmark-gfm (GitHub's renderer): nothing in it becomes a link, an image or HTML."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from private_registries.action import summary
from private_registries.builders import BuildSpec
from private_registries.builders.outline import LINE_CHARS, TAIL_LINES, Outline
from private_registries.services.build import BuildResult
from tests.servers.dockerd import Dockerd
from tests.servers.fixtures import PrivateRegistry, basic, docker_config_for, entries_file, pull_fresh
from tests.servers.runner import read_file_command
from tests.test_build import build_env
from tests.test_buildx import buildx_env, context_with, manifest_digest, registries
from tests.test_hostile_inputs import assert_renders_nothing, rendered, visible


def action_main(
    env: dict[str, str], dockerd: Dockerd, tmp_path: Path, inputs: dict[str, str], **more: str
) -> tuple[int, str, dict[str, str], str]:
    """The action's main stage with the bench's buildx, as the runner starts it on a host: its exit
    status, log, outputs and step summary."""
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    files = {name: tmp_path / name for name in ("env", "output", "state", "summary")}
    for path in files.values():
        path.touch()
    stage_env = {
        **buildx_env(env, dockerd, tmp_path, **more),
        "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(temp),
        "GITHUB_ENV": str(files["env"]), "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STATE": str(files["state"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "INPUT_NETWORK": "host",
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    }  # fmt: skip
    result = registries(stage_env, "action", "main", str(temp), str(tmp_path))
    return result.code, result.text, read_file_command(files["output"]), files["summary"].read_text()


def build_rows(markdown: str) -> dict[str, str]:
    """The build table's rows, by name, as the reader sees them (rendered, tags stripped)."""
    part = markdown.split("Build\n\n| | |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in part.splitlines():
        name, value = line.strip("| ").split(" | ", 1)
        rows[name] = visible(rendered(value)).strip()
    return rows


def assert_inert(markdown: str) -> None:
    assert_renders_nothing(markdown)
    html = rendered(markdown)
    assert "<script" not in html and "<a " not in html
    for line in markdown.splitlines():
        assert not line.lstrip().startswith("::"), line


def test_a_pushed_builds_summary_names_its_tags_digest_platform_and_base_images(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo summed > /summed\n")
    tags = [f"{private_registry.server}/summary/app:1", f"{private_registry.server}/summary/app:latest"]
    inputs = {
        "registries": json.dumps([basic(private_registry)]), "context": str(context),
        "tags": "\n".join(tags), "push": "true",
    }  # fmt: skip
    code, log, outputs, markdown = action_main(env, dockerd, tmp_path, inputs)
    assert code == 0, log
    assert "### Private registries" in markdown and private_registry.server in markdown
    rows = build_rows(markdown)
    # the digest a real client sees: the registry's own, and the one `docker pull` records
    digest = manifest_digest(private_registry, "summary/app", "1")
    config = docker_config_for(
        tmp_path / "puller", {private_registry.server: (private_registry.username, private_registry.password)}
    )
    assert pull_fresh(dockerd, tags[0], config).returncode == 0
    repo_digests = dockerd.docker("image", "inspect", "--format", "{{json .RepoDigests}}", tags[0]).stdout
    assert f"{private_registry.server}/summary/app@{digest}" in json.loads(repo_digests)
    assert rows["Result"] == "built" and rows["Digest"] == digest == outputs["digest"]
    assert rows["Tags"] == ", ".join(tags)
    assert rows["Image"] == outputs["imageid"]
    platform = dockerd.docker(
        "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}", tags[0]
    ).stdout.strip()
    assert rows["Platforms"] == platform and re.fullmatch(r"linux/\w+(/\w+)?", platform)
    assert rows["Engine"] == "buildx"
    assert rows["Cache from"] == rows["Cache to"] == "none"
    assert re.fullmatch(r"[01] of 1 steps", rows["Cache hits"])
    assert re.fullmatch(r"\d+\.\d s", rows["Duration"])
    for tag in tags:
        assert f"| `{tag}` | `{digest}` |" in markdown  # the pushed table
    base = manifest_digest(private_registry, "private/app", "1")
    base_table = "#### Base images\n\n| Image | Digest |\n|---|---|\n"
    assert f"{base_table}| `{private_registry.reference}` | `{base}` |" in markdown
    assert_inert(markdown)
    assert private_registry.password not in markdown

    # the same build again, the first image as its cache: the cache as given, the step a hit
    again = tmp_path / "again"
    again.mkdir()
    cache = f"type=registry,ref={tags[0]}"
    inputs = {**inputs, "cache-from": cache, "push": "false"}
    code, log, _, markdown = action_main(env, dockerd, again, inputs)
    assert code == 0, log
    rows = build_rows(markdown)
    assert rows["Cache from"] == cache and rows["Cache hits"] == "1 of 1 steps"
    assert "Digest" not in rows  # nothing pushed: no registry digest to show


def test_a_failing_run_steps_summary_names_the_step_and_quotes_the_logs_tail_inert(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    canary = f"canary-{secrets.token_hex(10)}"
    context = context_with(
        tmp_path,
        f"""FROM {private_registry.reference}
RUN --mount=type=secret,id=tok seq 1 200 && head -c 200000 /dev/zero | tr '\\0' x && echo && \\
    echo "leaked $(cat /run/secrets/tok) here" && \\
    echo '::error title=pwned::owned' && echo '##[set-output name=x]y' && \\
    echo 'ticks ````` <img src=x> [log in](http://evil.example/phish) @octocat' && \\
    echo '```' && false
RUN echo never
""",
    )
    inputs = {
        "registries": json.dumps([basic(private_registry)]), "context": str(context),
        "tags": "bench/summary-fails:1", "secret-envs": "tok=CANARY",
    }  # fmt: skip
    code, _, _, markdown = action_main(env, dockerd, tmp_path, inputs, CANARY=canary)
    assert code == 1
    assert canary not in markdown and "leaked *** here" in markdown
    rows = build_rows(markdown)
    assert rows["Result"] == "failed" and "Image" not in rows and "Digest" not in rows
    failed = markdown.split("**Failed:** step ", 1)[1]
    shown = visible(rendered(failed.split("\n", 1)[0]))
    assert re.match(r"\[(stage-0 )?2/3\] RUN --mount=type=secret,id=tok seq 1 200 ", shown), shown
    assert "(Dockerfile:2)" in shown
    assert "did not complete successfully: exit code: 1" in shown
    # the tail: in a fence longer than the longest run of backticks in it, at most 30 lines, each cut
    fence = re.search(r"^(`{6,})text$", failed, re.MULTILINE)
    assert fence is not None and len(fence[1]) == 6, failed[:2000]
    tail = failed.split(fence[0] + "\n", 1)[1].split("\n" + fence[1] + "\n", 1)[0].splitlines()
    assert 0 < len(tail) <= TAIL_LINES
    assert all(len(line) <= LINE_CHARS for line in tail)
    assert "ERROR: failed to solve" in tail[-1]
    assert any(": :error title=pwned::owned" in line or "::error title=pwned" in line for line in tail)
    assert not any("##[" in line for line in tail)
    html = rendered(markdown)
    assert_inert(markdown)
    code_blocks = re.findall(r"<pre[^>]*><code[^>]*>(.*?)</code></pre>", html, re.DOTALL)
    assert len(code_blocks) == 1 and "ticks `````" in code_blocks[0] and "&lt;img src=x&gt;" in code_blocks[0]
    assert "200" in visible(code_blocks[0]) or "xxxx" in code_blocks[0]
    # the failure in the list above is its first line: the log is quoted once, in the block
    bullet = markdown.split("**Failed:**\n\n- ", 1)[1].split("\n", 1)[0]
    assert visible(rendered(bullet)).startswith("the build failed: ERROR: failed to solve: process ")
    assert "  | " not in bullet
    assert len(markdown.encode()) < 64 * 1024


@pytest.mark.parametrize("off", ["false", "0", "False"])
def test_docker_build_summary_false_leaves_the_build_out(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path, off: str
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo off > /off\n")
    inputs = {"registries": json.dumps([basic(private_registry)]), "context": str(context)}
    inputs["tags"] = "bench/off:1"
    code, log, outputs, markdown = action_main(env, dockerd, tmp_path, inputs, DOCKER_BUILD_SUMMARY=off)
    assert code == 0, log
    assert outputs["imageid"].startswith("sha256:")
    assert markdown.startswith("### Private registries\n") and f"| `{private_registry.server}` |" in markdown
    assert "Build" not in markdown and "Base images" not in markdown and outputs["imageid"] not in markdown


def test_docker_build_summary_as_build_push_action_reads_it() -> None:
    """@docker/actions-toolkit's Util.parseBool (Go's strconv.ParseBool): unset and empty are on; a
    value it refuses fails build-push-action's step, here a warning and the summary stays."""
    for on in ("", "1", "t", "T", "true", "TRUE", "True"):
        assert summary.build_summary_wanted({"DOCKER_BUILD_SUMMARY": on}) == (True, "")
    for off in ("0", "f", "F", "false", "FALSE", "False"):
        assert summary.build_summary_wanted({"DOCKER_BUILD_SUMMARY": off}) == (False, "")
    wanted, warning = summary.build_summary_wanted({"DOCKER_BUILD_SUMMARY": "no"})
    assert wanted and "DOCKER_BUILD_SUMMARY='no' is not a boolean" in warning
    assert summary.build_summary_wanted({}) == (True, "")


def test_registries_build_in_a_workflow_writes_the_build_summary(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(tmp_path, f"FROM {private_registry.reference}\nRUN echo cli > /cli\n")
    path = entries_file(tmp_path, [basic(private_registry)])
    summary_file = tmp_path / "summary.md"
    summary_file.touch()
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary_file)}
    environment = buildx_env(env, dockerd, tmp_path, **ci)
    argv = ["build", str(context), "-t", "bench/cli-summary:1", "--network", "host"]
    argv += ["--registries", str(path)]
    result = registries(environment, *argv)
    assert result.code == 0, result.text
    markdown = summary_file.read_text()
    assert markdown.startswith("\n### Build\n") or markdown.startswith("### Build\n")
    image_id = dockerd.docker("image", "inspect", "--format", "{{.Id}}", "bench/cli-summary:1").stdout.strip()
    rows = build_rows(markdown)
    assert rows["Image"] == image_id and rows["Tags"] == "bench/cli-summary:1"
    assert f"`{private_registry.reference}`" in markdown  # the base image, with its digest
    assert_inert(markdown)

    summary_file.write_text("")
    off = registries({**environment, "DOCKER_BUILD_SUMMARY": "false"}, *argv)
    assert off.code == 0, off.text
    assert summary_file.read_text() == ""


def test_the_classic_builders_failing_step_in_the_summary(
    env: dict[str, str], dockerd: Dockerd, private_registry: PrivateRegistry, tmp_path: Path
) -> None:
    context = context_with(
        tmp_path, f"FROM {private_registry.reference}\nRUN echo fine\nRUN echo about-to-fail && false\n"
    )
    path = entries_file(tmp_path, [basic(private_registry)])
    summary_file = tmp_path / "summary.md"
    summary_file.touch()
    ci = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary_file)}
    result = registries(
        {**build_env(env, dockerd), **ci}, "build", str(context), "--engine", "classic",
        "--registries", str(path),
    )  # fmt: skip
    assert result.code == 1
    markdown = summary_file.read_text()
    rows = build_rows(markdown)
    assert rows["Result"] == "failed"
    failed = visible(rendered(markdown.split("**Failed:** ", 1)[1].split("\n", 1)[0]))
    assert failed.startswith("step Step 3/3 : RUN echo about-to-fail && false: ")
    assert "returned a non-zero code: 1" in failed
    assert "about-to-fail" in markdown.split("```text", 1)[1]
    assert_inert(markdown)


def test_the_build_part_is_bounded_and_hides_cache_credentials() -> None:
    """A record of the shape a build gives, at its limits: hundreds of tags, a cache whose fields carry
    a credential (gha's token, s3's keys), the longest tail; nothing but its own words renders."""
    tags = tuple(f"r.example.org/app:{n}" for n in range(300))
    spec = BuildSpec(
        tags=tags,
        cache_from=["type=gha,token=ghs_cachesecret,scope=x"],
        cache_to=["type=s3,region=eu,bucket=b,access_key_id=AKIAX,secret_access_key=hunter2,mode=max"],
    )
    tail = tuple("`" * 9 + " <b>x</b> " + "y" * (LINE_CHARS - 20) for _ in range(TAIL_LINES))
    outline = Outline(steps=4, cached=3, failed_step="[3/4] RUN make", failed_at="Dockerfile:7", tail=tail)
    from private_registries.errors import BuildError

    result = BuildResult(tags=tags, spec=spec, seconds=75.2, outline=outline, error=BuildError("boom"))
    markdown = summary.build(result)
    assert "ghs_cachesecret" not in markdown and "hunter2" not in markdown and "AKIAX" not in markdown
    assert "token=***" in markdown and "secret_access_key=***" in markdown
    assert "and 250 more" in markdown and "1 min 15 s" in markdown and "3 of 4 steps" in markdown
    assert "\n``````````text\n" in markdown  # ten: one more than the longest run inside
    assert_inert(markdown)
    assert len(markdown.encode()) < 64 * 1024
