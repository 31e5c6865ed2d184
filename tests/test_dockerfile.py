from pathlib import Path

import pytest

from private_registries.dockerfile import base_images, platform_args, read
from private_registries.errors import InputError
from private_registries.images import parse_image


def images(text: str, **build_args: str) -> list[tuple[str, str, int]]:
    return [(str(b.image), b.source, b.line) for b in base_images(text, "Dockerfile", build_args)]


def every_stage(text: str, **build_args: str) -> list[tuple[str, str, int]]:
    found = base_images(text, "Dockerfile", build_args, all_stages=True)
    return [(str(b.image), b.source, b.line) for b in found]


def test_from_with_global_args_defaults_and_overrides() -> None:
    text = "ARG REGISTRY=registry.example.org\nARG TAG=1\nFROM ${REGISTRY}/team/base:$TAG\nRUN true\n"
    assert images(text) == [("registry.example.org/team/base:1", "FROM", 3)]
    assert images(text, TAG="2") == [("registry.example.org/team/base:2", "FROM", 3)]


def test_stage_aliases_scratch_and_indexes_are_not_images() -> None:
    text = """FROM golang:1.22 AS Build
RUN go build
FROM build AS test
COPY --from=build /app /app
COPY --from=0 /app /app2
FROM scratch
COPY --from=BUILD /app /app
"""
    assert images(text) == [("docker.io/library/golang:1.22", "FROM", 1)]


def test_copy_from_and_run_mount_from_and_syntax() -> None:
    text = """# syntax=docker/dockerfile:1.7
# escape=\\
FROM alpine:3.20
COPY --link --from=ghcr.io/octo/tools:2 /bin/tool /usr/bin/tool
RUN --mount=type=cache,target=/root/.cache \\
    --mount=type=bind,from=public.ecr.aws/team/assets:3,source=/a,target=/a \\
    ls /a
"""
    assert images(text) == [
        ("docker.io/docker/dockerfile:1.7", "# syntax", 1),
        ("docker.io/library/alpine:3.20", "FROM", 3),
        ("ghcr.io/octo/tools:2", "COPY --from", 4),
        ("public.ecr.aws/team/assets:3", "RUN --mount", 5),
    ]


def test_a_syntax_comment_after_an_instruction_is_only_a_comment() -> None:
    assert images("FROM alpine\n# syntax=docker/dockerfile:1\n") == [
        ("docker.io/library/alpine:latest", "FROM", 1)
    ]


def test_platform_is_kept_and_predefined_args_are_known() -> None:
    found = base_images(
        "FROM --platform=$BUILDPLATFORM nginx:1 AS a\nFROM --platform=linux/arm64 nginx:2\n",
        "D",
        {},
        all_stages=True,
    )
    assert [b.platform for b in found] == [platform_args(None)["BUILDPLATFORM"], "linux/arm64"]


def test_digests_and_duplicates() -> None:
    digest = "sha256:" + "a" * 64
    text = f"FROM registry.example.org/app@{digest}\nFROM registry.example.org/app@{digest}\n"
    assert every_stage(text) == [(f"registry.example.org/app@{digest}", "FROM", 1)]


def test_continuations_and_comments_inside_instructions() -> None:
    text = "FROM \\\n  # a comment in the middle\n  registry.example.org/app:1 \\\n  AS base\n"
    assert images(text) == [("registry.example.org/app:1", "FROM", 1)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ARG TAG\nFROM alpine:$TAG\n", "Dockerfile:2: FROM uses ARG TAG, which has no value"),
        ("FROM alpine:$NOPE\n", "uses $NOPE, which no ARG before the first FROM declares"),
        ("FORM alpine\n", "Dockerfile:1: unknown instruction FORM"),
        ("RUN true\n", "Dockerfile:1: RUN before the first FROM"),
        ("# only a comment\n", "Dockerfile: no FROM instruction"),
        ("FROM alpine AS\n", "FROM takes an image and an optional `AS name`"),
        ("FROM Alpine\n", "'Alpine' is not a valid image reference"),
        ("FROM alpine:3 'unclosed\n", "cannot parse"),
    ],
)
def test_bad_dockerfiles(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        base_images(text, "Dockerfile", {})
    assert message in str(caught.value)


def test_an_arg_declared_in_a_stage_does_not_reach_from() -> None:
    with pytest.raises(InputError, match="no ARG before the first FROM declares"):
        base_images("FROM alpine\nARG IMG=nginx\nFROM $IMG\n", "Dockerfile", {})


def test_no_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read(tmp_path / "Dockerfile")
    assert "no Dockerfile at" in str(caught.value)
    assert "-f FILE" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("text", "server", "repository", "reference"),
    [
        ("nginx", "docker.io", "library/nginx", "latest"),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7"),
        ("index.docker.io/library/nginx", "docker.io", "library/nginx", "latest"),
        ("localhost/app", "localhost", "app", "latest"),
        ("localhost:5000/app:2", "localhost:5000", "app", "2"),
        (
            "nvcr.io/nim/meta/llama-3.1-8b-instruct:latest",
            "nvcr.io",
            "nim/meta/llama-3.1-8b-instruct",
            "latest",
        ),
        ("ghcr.io/o/a@sha256:" + "b" * 64, "ghcr.io", "o/a", "sha256:" + "b" * 64),
    ],
)
def test_image_references_are_normalised_as_docker_does(
    text: str, server: str, repository: str, reference: str
) -> None:
    image = parse_image(text)
    assert (image.server, image.repository, image.reference) == (server, repository, reference)
