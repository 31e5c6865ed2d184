import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from private_registries.dockerfile import base_images, needs_buildkit, platform_args, read, syntax_directive
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


# --- variable expansion, as BuildKit's shell lexer does it ---------------------------------------


def tag(expression: str, *declarations: str, platform: str | None = None, **build_args: str) -> str:
    """The tag FROM ends up with: `t` followed by `expression`, after the given global ARGs."""
    lines = [*declarations, f"FROM registry.example.org/app:t{expression}", ""]
    (found,) = base_images("\n".join(lines), "Dockerfile", build_args, platform)
    return found.image.tag or ""


V = "ARG V=1.2.3-alpine"


@pytest.mark.parametrize(
    ("expression", "declarations", "expected"),
    [
        ("$V", [V], "t1.2.3-alpine"),
        ("${V}", [V], "t1.2.3-alpine"),
        ('"${V}"', [V], "t1.2.3-alpine"),
        ("${V:-x}", [V], "t1.2.3-alpine"),
        ("${V:-x}", ["ARG V="], "tx"),
        ("${V:-x}", ["ARG V"], "tx"),
        ("${V-x}", ["ARG V="], "t"),
        ("${V-x}", ["ARG V"], "tx"),
        ("${V:+yes}", [V], "tyes"),
        ("${V:+yes}", ["ARG V="], "t"),
        ("${V+yes}", ["ARG V="], "tyes"),
        ("${V+yes}", ["ARG V"], "t"),
        ("${V#*.}", [V], "t2.3-alpine"),
        ("${V##*.}", [V], "t3-alpine"),
        ("${V%.*}", [V], "t1.2"),
        ("${V%%.*}", [V], "t1"),
        ("${V%-*}", [V], "t1.2.3"),
        ("${V#1.?.}", [V], "t3-alpine"),
        ("${V/./_}", [V], "t1_2.3-alpine"),
        ("${V//./_}", [V], "t1_2_3-alpine"),
        ("${V/#1/9}", [V], "t1.2.3-alpine"),  # no anchors in BuildKit: `#1` is a literal pattern
        ("${V//-alpine/}", [V], "t1.2.3"),
        ("${NOPE}", [], "t"),  # an ARG nobody declared is empty, as in BuildKit
    ],
)
def test_every_expansion_form(expression: str, declarations: list[str], expected: str) -> None:
    assert tag(expression, *declarations) == expected


def test_arg_defaults_use_earlier_args_and_quotes() -> None:
    declarations = (
        "ARG MAJOR=1",
        'ARG MINOR="2"',
        "ARG VERSION=${MAJOR}.${MINOR}",
        "ARG VERSION=${VERSION}.3",  # a later ARG of the same name sees the earlier value
        "ARG FLAVOUR='-slim'",
    )
    assert tag("${VERSION}${FLAVOUR}", *declarations) == "t1.2.3-slim"
    assert tag("${VERSION}", *declarations, MAJOR="7") == "t7.2.3"  # a build arg feeds later defaults
    with pytest.raises(InputError, match=re.escape("invalid tag 't${MAJOR}'")):  # not expanded
        tag("${VERSION}", *declarations, VERSION="${MAJOR}")


def test_build_args_are_taken_literally_and_reach_only_declared_args() -> None:
    assert tag("${V}", "ARG V=1", V="2.0") == "t2.0"
    assert tag("${V}", "ARG V=1", OTHER="x") == "t1"
    assert tag("${UNDECLARED}", UNDECLARED="9") == "t"
    with pytest.raises(InputError, match=re.escape("invalid tag 't$(echo 2)'")):
        tag("${V}", "ARG V=1", V="$(echo 2)")


def test_the_escape_directive_changes_the_escape_character() -> None:
    text = (
        "# escape=`\nARG TAG=ltsc2022\nFROM `\n    mcr.microsoft.com/windows/nanoserver:$TAG `\n    AS base\n"
    )
    assert images(text) == [("mcr.microsoft.com/windows/nanoserver:ltsc2022", "FROM", 3)]


# --- the platform ARGs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux/arm64", "tlinux-arm64-"),
        ("linux/arm64/v8", "tlinux-arm64-"),
        ("linux/arm/v7", "tlinux-arm-v7"),
        ("linux/arm", "tlinux-arm-v7"),
        ("arm64", "tlinux-arm64-"),
        ("linux/x86_64", "tlinux-amd64-"),
        ("windows/amd64", "twindows-amd64-"),
    ],
)
def test_target_platform_args_come_from_the_platform(platform: str, expected: str) -> None:
    assert tag("${TARGETOS}-${TARGETARCH}-${TARGETVARIANT}", platform=platform) == expected


def test_platform_args_are_predefined_and_can_be_overridden() -> None:
    args = platform_args("linux/arm/v7")
    assert (args["TARGETPLATFORM"], args["TARGETOS"], args["TARGETARCH"], args["TARGETVARIANT"]) == (
        "linux/arm/v7",
        "linux",
        "arm",
        "v7",
    )
    assert args["BUILDPLATFORM"] == f"{args['BUILDOS']}/{args['BUILDARCH']}" + (
        f"/{args['BUILDVARIANT']}" if args["BUILDVARIANT"] else ""
    )
    assert tag("${TARGETPLATFORM#linux/}", platform="linux/amd64") == "tamd64"
    assert tag("${TARGETARCH}", platform="linux/amd64", TARGETARCH="riscv64") == "triscv64"
    assert tag("${BUILDPLATFORM%%/*}") == "tlinux"


def test_a_platform_can_choose_the_stage() -> None:
    text = """FROM registry.example.org/amd:1 AS base-amd64
FROM registry.example.org/arm:1 AS base-arm64
FROM base-${TARGETARCH} AS final
"""

    def pulled(platform: str) -> list[str]:
        return [str(b.image) for b in base_images(text, "D", {}, platform)]

    assert pulled("linux/amd64") == ["registry.example.org/amd:1"]
    assert pulled("linux/arm64") == ["registry.example.org/arm:1"]
    assert pulled("linux/amd64,linux/arm64") == ["registry.example.org/amd:1", "registry.example.org/arm:1"]


def test_targetstage_is_the_stage_being_built() -> None:
    text = "FROM registry.example.org/app:${TARGETSTAGE} AS one\nFROM one AS two\n"
    assert images(text) == [("registry.example.org/app:two", "FROM", 1)]
    found = base_images(text, "D", {}, target="one")
    assert [str(b.image) for b in found] == ["registry.example.org/app:one"]


@pytest.mark.parametrize("platform", ["linux/", "a/b/c/d", "/amd64"])
def test_a_malformed_platform_is_refused(platform: str) -> None:
    with pytest.raises(InputError) as caught:
        base_images("FROM alpine\n", "Dockerfile", {}, platform)
    assert "is not a platform" in caught.value.message
    assert "linux/amd64" in (caught.value.hint or "")


# --- parsing: heredocs, directives, continuations ---------------------------------------------------


def test_heredoc_bodies_are_not_instructions() -> None:
    text = """# syntax=docker/dockerfile:1
FROM registry.example.org/base:1 AS base
RUN <<EOF
set -e
FROM not-an-instruction
EOF
COPY <<EOF /etc/app.conf
FROM neither
EOF
RUN <<-'EOT' bash
\techo $HOME
\tEOT
RUN <<ONE cat - <<TWO > /out
first
ONE
second
TWO
COPY --from=registry.example.org/tools:2 <<EOF /x
EOF
FROM base
"""
    assert images(text) == [
        ("docker.io/docker/dockerfile:1", "# syntax", 1),
        ("registry.example.org/base:1", "FROM", 2),
        ("registry.example.org/tools:2", "COPY --from", 18),
    ]


def test_blank_and_comment_lines_inside_a_continuation() -> None:
    text = """FROM registry.example.org/build:1 AS build
RUN apt-get update \\

    # a comment inside the instruction
    && apt-get install -y make \\

    && make
FROM \\

  # the image comes next
  registry.example.org/run:1
COPY --from=build /app /app
"""
    assert images(text) == [
        ("registry.example.org/build:1", "FROM", 1),
        ("registry.example.org/run:1", "FROM", 8),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# syntax = docker/dockerfile:1.7 extra\nFROM a\n", ("docker.io/docker/dockerfile:1.7", 1)),
        ("#escape=`\n#SYNTAX=example.org/frontend:2\nFROM a\n", ("example.org/frontend:2", 2)),
        (
            "#!/usr/bin/env docker-build\n# syntax=example.org/frontend:3\nFROM a\n",
            ("example.org/frontend:3", 2),
        ),
        ("# a comment\n# syntax=docker/dockerfile:1\nFROM a\n", None),
        ("\n# syntax=docker/dockerfile:1\nFROM a\n", None),
    ],
)
def test_the_syntax_directive(text: str, expected: tuple[str, int] | None) -> None:
    syntax = [(str(b.image), b.line) for b in base_images(text, "D", {}) if b.source == "# syntax"]
    assert syntax == ([expected] if expected else [])
    assert syntax_directive(text) == ((expected[1], ANY) if expected else None)


# --- stages ----------------------------------------------------------------------------------------

STAGES = """FROM registry.example.org/go:1 AS build
RUN --mount=type=cache,target=/root/.cache --mount=from=registry.example.org/assets:1,target=/a make
FROM registry.example.org/lint:1 AS lint
COPY --from=build /src /src
FROM build AS test
RUN --mount=type=bind,from=LINT,target=/lint true
FROM registry.example.org/runtime:1 AS release
COPY --from=0 /app /app
COPY --from=registry.example.org/certs:1 /certs /certs
FROM scratch AS export
COPY --from=release /app /
"""


def test_a_build_pulls_only_what_its_target_needs() -> None:
    default = [(str(b.image), b.source) for b in base_images(STAGES, "D", {})]
    assert default == [
        ("registry.example.org/go:1", "FROM"),
        ("registry.example.org/assets:1", "RUN --mount"),
        ("registry.example.org/runtime:1", "FROM"),
        ("registry.example.org/certs:1", "COPY --from"),
    ]
    test = [str(b.image) for b in base_images(STAGES, "D", {}, target="Test")]
    assert test == [
        "registry.example.org/go:1",
        "registry.example.org/assets:1",
        "registry.example.org/lint:1",
    ]
    everything = [str(b.image) for b in base_images(STAGES, "D", {}, all_stages=True)]
    assert everything == [
        "registry.example.org/go:1",
        "registry.example.org/assets:1",
        "registry.example.org/lint:1",
        "registry.example.org/runtime:1",
        "registry.example.org/certs:1",
    ]


def test_an_unknown_target_lists_the_stages() -> None:
    with pytest.raises(InputError) as caught:
        base_images(STAGES, "Dockerfile", {}, target="prod")
    assert caught.value.message == "Dockerfile: no stage named 'prod' to build"
    assert caught.value.hint == "the stages are: build, lint, test, release, export"


def test_a_stage_the_target_does_not_need_is_still_checked() -> None:
    text = "FROM registry.example.org/App:1 AS unused\nFROM alpine\n"
    with pytest.raises(InputError, match=r"Dockerfile:1: .* is not a valid image reference"):
        base_images(text, "Dockerfile", {})


def test_copy_from_a_later_stage_and_scratch() -> None:
    text = "FROM scratch AS a\nCOPY --from=b /x /x\nCOPY --from=scratch /y /y\n"
    text += "FROM registry.example.org/b:1 AS b\n"
    assert [str(b.image) for b in base_images(text, "D", {}, target="a")] == ["registry.example.org/b:1"]


# --- named build contexts (buildx --build-context NAME=VALUE) -----------------------------------------


def with_contexts(text: str, contexts: dict[str, str], **options: Any) -> list[tuple[str, str, int]]:
    found = base_images(text, "Dockerfile", {}, build_contexts=contexts, **options)
    return [(str(b.image), b.source, b.line) for b in found]


def test_a_folder_context_stands_for_the_image_a_copy_names() -> None:
    """`COPY --from=more` with `--build-context more=DIR`: nothing is pulled for `more` (before, the
    pre-flight looked for docker.io/library/more:latest and failed the build)."""
    text = "FROM registry.example.org/app:1\nCOPY --from=more /f /f\nRUN --mount=from=tools,target=/t true\n"
    assert with_contexts(text, {"more": "./more", "tools": "https://example.org/tools.tar"}) == [
        ("registry.example.org/app:1", "FROM", 1)
    ]
    assert images(text)[1:] == [
        ("docker.io/library/more:latest", "COPY --from", 2),
        ("docker.io/library/tools:latest", "RUN --mount", 3),
    ]


def test_a_context_name_is_an_image_reference_as_buildkit_reads_it() -> None:
    text = "FROM alpine:3\nCOPY --from=docker.io/library/busybox /x /x\nCOPY --from=nginx:1 /y /y\n"
    assert with_contexts(text, {"docker.io/library/alpine:3": "./a", "busybox:latest": "./b"}) == [
        ("docker.io/library/nginx:1", "COPY --from", 3)
    ]
    # `alpine` is alpine:latest: it does not stand for alpine:3
    assert with_contexts(text, {"alpine": "./a"})[0] == ("docker.io/library/alpine:3", "FROM", 1)


def test_a_docker_image_context_is_the_image_pulled_instead() -> None:
    text = "FROM base\nCOPY --from=registry.example.org/tools:1 /t /t\n"
    pinned = "mirror.example.org/tools@sha256:" + "a" * 64
    contexts = {
        "base": "docker-image://private.example.org/team/base:2",
        "registry.example.org/tools:1": f"docker-image://{pinned}",
    }
    assert with_contexts(text, contexts) == [
        ("private.example.org/team/base:2", "--build-context base", 1),
        (pinned, "--build-context registry.example.org/tools:1", 2),
    ]


def test_a_context_named_as_a_stage_replaces_the_whole_stage() -> None:
    """BuildKit does not build a stage a context stands for: neither its FROM nor its COPY --from
    is pulled; a FROM or COPY of that stage takes the context."""
    text = (
        "FROM unreachable.example.org/never:1 AS tools\n"
        "COPY --from=unreachable.example.org/other:1 /x /x\n"
        "FROM registry.example.org/app:1\n"
        "COPY --from=tools /t /t\n"
    )
    app = ("registry.example.org/app:1", "FROM", 3)
    assert with_contexts(text, {"tools": "./tools"}) == [app]
    assert with_contexts(text, {"tools": "docker-image://r.example.org/tools:2"}) == [
        ("r.example.org/tools:2", "--build-context tools", 1),
        app,
    ]
    # every stage (as the classic builder reads it, though it refuses contexts) keeps the rule
    assert with_contexts(text, {"tools": "./tools"}, all_stages=True) == [app]


def test_a_context_that_cannot_be_named_so_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        base_images("FROM alpine\n", "Dockerfile", {}, build_contexts={"Not Valid": "./x"})
    assert caught.value.message == "--build-context Not Valid=./x: 'Not Valid' is not a valid context name"
    with pytest.raises(InputError, match="--build-context base"):
        base_images("FROM base\n", "Dockerfile", {}, build_contexts={"base": "docker-image://Bad Ref"})


# --- errors ---------------------------------------------------------------------------------------


def test_an_arg_without_a_value_is_named_with_its_fix() -> None:
    text = "ARG REGISTRY=registry.example.org\nARG TAG\nFROM ${REGISTRY}/app:${TAG}\n"
    with pytest.raises(InputError) as caught:
        base_images(text, "ci/Dockerfile", {})
    assert caught.value.message.startswith("ci/Dockerfile:3: FROM uses ARG TAG, which has no value")
    assert "line 2" in caught.value.message
    assert "--build-arg TAG=..." in (caught.value.hint or "")
    assert [str(b) for b in base_images(text, "ci/Dockerfile", {"TAG": "1"})] == [
        "registry.example.org/app:1"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM alpine\nCOPY --from=$IMG /a /b\n", "Dockerfile:2: COPY --from=$IMG uses a variable"),
        (
            "FROM alpine\nRUN --mount=from=${IMG},target=/a true\n",
            "Dockerfile:2: RUN --mount from=${IMG} uses a variable",
        ),
        ("FROM alpine\nCOPY --from=3 /a /b\n", "Dockerfile:2: COPY --from=3: there is no stage 3"),
        ("FROM alpine AS 2fast\n", "Dockerfile:1: invalid name for build stage: '2fast'"),
        ("FROM alpine\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc"),
        ("FROM alpine\nRUN <<EOF\nset -e\nEOF\nSET x\n", "Dockerfile:5: unknown instruction SET"),
        ("# syntax=a\n# syntax=b\nFROM alpine\n", "Dockerfile:2: only one syntax parser directive"),
        ("FROM --platform=$NOPE alpine\n", "Dockerfile:1: FROM --platform is empty"),
        (
            "ARG X=${Y:?required}\nFROM alpine\n",
            "Dockerfile:1: cannot parse '${Y:?required}': Y: required",
        ),
        ('FROM alpine\nRUN --mount=\\"from=a\\"b,target=/x true\n', "Dockerfile:2: cannot parse"),
    ],
)
def test_more_bad_dockerfiles(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        base_images(text, "Dockerfile", {})
    assert message in caught.value.message


def test_long_values_are_cut_in_messages() -> None:
    huge = "x" * 100_000
    for text in (f"FROM '{huge}\n", f"ARG A\nFROM {huge}:$A\n", f"FROM alpine\nCOPY --from=${huge} /a /b\n"):
        with pytest.raises(InputError) as caught:
            base_images(text, "Dockerfile", {})
        assert len(caught.value.message) < 500
        assert len(caught.value.hint or "") < 500


def test_an_arg_bomb_is_refused_fast_naming_its_line() -> None:
    """`ARG A1=${A0}${A0}` repeated: 456 bytes doubled 21 times took 51 s and gigabytes; each ARG is
    bounded as it is expanded, so the line where it passes 64 KiB is named, at once."""
    import time

    lines = ["ARG A0=xxxxxxxxxxxxxxxx"] + [f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}" for i in range(1, 22)]
    text = "\n".join([*lines, "FROM busybox:${A21}"]) + "\n"
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        base_images(text, "Dockerfile", {})
    assert time.monotonic() - started < 2
    assert caught.value.message.startswith("Dockerfile:14: ARG A13 expands to more than 64 KiB")
    # many references on one line are bounded too: the line's length times the cap at most
    wide = "ARG A0=" + "x" * 60_000 + "\nARG B=" + "${A0}" * 200 + "\nFROM busybox:$B\n"
    with pytest.raises(InputError) as wide_caught:
        base_images(wide, "Dockerfile", {})
    assert wide_caught.value.message.startswith("Dockerfile:2: ARG B expands to more than 64 KiB")
    # a long value of its own is fine, and a build arg is taken as given
    assert images("ARG V=" + "1" * 60_000 + "\nFROM busybox:1\n") == [
        ("docker.io/library/busybox:1", "FROM", 2)
    ]


# --- what the classic builder cannot build --------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "reason"),
    [
        ("RUN --mount=type=cache,target=/root/.cache make", "RUN --mount"),
        ("RUN --network=none make", "RUN --network"),
        ("RUN --security=insecure make", "RUN --security"),
        ("RUN <<EOF\nmake\nEOF", "heredoc"),
        ("COPY <<EOF /etc/app.conf\nkey=1\nEOF", "heredoc"),
        ("COPY --link . /src", "COPY --link"),
        ("COPY --chmod=0755 run.sh /", "COPY --chmod"),
        ("COPY --parents src/*/go.mod /", "COPY --parents"),
        ("COPY --exclude=*.md . /src", "COPY --exclude"),
        ("ADD --checksum=sha256:abc https://example.org/a.tgz /", "ADD --checksum"),
        ("ADD https://github.com/moby/moby.git#v1 /src", "ADD of a Git repository"),
        ("ADD git@github.com:moby/moby /src", "ADD of a Git repository"),
    ],
)
def test_needs_buildkit(instruction: str, reason: str) -> None:
    text = f"FROM alpine\nCOPY --from=busybox /bin/sh /bin/sh\n{instruction}\nRUN --mount=type=ssh true\n"
    assert needs_buildkit(text, "Dockerfile") == (3, reason)


def test_a_classic_dockerfile_needs_no_buildkit() -> None:
    text = """FROM golang:1.22 AS build
COPY --from=busybox --chown=1:1 /bin/sh /bin/sh
ADD https://example.org/archive.tgz /tmp/
RUN ["sh", "-c", "echo <<EOF"]
FROM scratch
COPY --from=build /app /app
"""
    assert needs_buildkit(text, "Dockerfile") is None


# --- a corpus of real Dockerfiles -------------------------------------------------------------------

CORPUS_DIR = Path(__file__).parent / "data" / "dockerfiles"
CORPUS = json.loads((CORPUS_DIR / "corpus.json").read_text())["dockerfiles"]
CORPUS_FILES = CORPUS_DIR / "files"


def test_the_corpus_is_described() -> None:
    assert len(CORPUS) >= 50
    for entry in CORPUS:
        assert entry["repository"].count("/") == 1
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
        assert entry["cases"]
    assert sorted(path.name for path in CORPUS_FILES.iterdir()) == sorted(entry["file"] for entry in CORPUS)
    texts = " ".join(str(case) for entry in CORPUS for case in entry["cases"])
    for kind in (
        "FROM",
        "COPY --from",
        "RUN --mount",
        "# syntax",
        "all_stages",
        "target",
        "build_args",
        "error",
    ):
        assert kind in texts


@pytest.mark.parametrize(
    ("entry", "case"),
    [(entry, case) for entry in CORPUS for case in entry["cases"]],
    ids=[f"{entry['file']}-{n}" for entry in CORPUS for n in range(len(entry["cases"]))],
)
def test_real_dockerfiles(entry: dict[str, Any], case: dict[str, Any]) -> None:
    path = CORPUS_FILES / entry["file"]
    assert path.is_file(), f"the copy of {entry['repository']}:{entry['path']} is missing from {CORPUS_FILES}"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], "the copy differs from the recorded commit"
    arguments = (
        data.decode(),
        entry["file"],
        case.get("build_args", {}),
        case.get("platform", "linux/amd64"),
    )
    options = {"target": case.get("target"), "all_stages": case.get("all_stages", False)}
    if "error" in case:
        with pytest.raises(InputError) as caught:
            base_images(*arguments, **options)
        for part in case["error"]:
            assert part in f"{caught.value.message} {caught.value.hint}"
        return
    found = base_images(*arguments, **options)
    assert [{"image": str(b.image), "instruction": b.source, "line": b.line} for b in found] == case["images"]


# --- what BuildKit refuses, refused in its words (checked against the real buildx on Engine 26) -----

REFUSED_BY_BUILDKIT = [
    ("FROM bench/busybox:latest AS a\nCOPY --from=a /x /y\n", "circular dependency detected on stage: a"),
    (
        "FROM bench/busybox:latest AS a\nFROM bench/busybox:latest AS b\nCOPY --from=c /x /y\n"
        "FROM bench/busybox:latest AS c\nCOPY --from=b /x /y\n",
        "circular dependency detected on stage: b",
    ),
    (
        "ARG EMPTY\nFROM --platform=linux/${EMPTY} bench/busybox:latest\nRUN true\n",
        'is an invalid component of "linux/": platform specifier component must match',
    ),
]


@pytest.mark.parametrize(("text", "words"), REFUSED_BY_BUILDKIT)
def test_what_buildkit_refuses_is_refused_in_its_words(
    text: str, words: str, dockerd: Any, tmp_path: Path
) -> None:
    from tests.servers.tools import tool

    (tmp_path / "Dockerfile").write_text(text)
    real = subprocess.run(
        [str(tool("docker")), "buildx", "build", "--network", "host", str(tmp_path)],
        env=dockerd.env(dockerd.root / "empty-config"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert real.returncode != 0 and words.replace('"', "") in real.stderr.replace('"', ""), real.stderr
    with pytest.raises(InputError) as caught:
        base_images(text, "Dockerfile", {})
    assert words.replace('"', "").replace("'", "") in caught.value.message.replace("'", "").replace('"', "")
    assert re.match(r"Dockerfile:\d+: ", caught.value.message)


def test_what_buildkit_builds_is_not_refused() -> None:
    """A stage copied from twice (a diamond) is no loop; `COPY --from=` with no value copies from the
    context in BuildKit 0.13; stage names keep no case (`AS Build`, `--from=build`)."""
    diamond = "FROM busybox:1 AS a\nFROM alpine:3 AS b\nCOPY --from=a / /\nFROM b\nCOPY --from=a / /\n"
    assert [i for i, _, _ in images(diamond)] == ["docker.io/library/busybox:1", "docker.io/library/alpine:3"]
    assert images("FROM busybox:1\nCOPY --from= /x /y\n") == [("docker.io/library/busybox:1", "FROM", 1)]
    mixed = "FROM busybox:1 AS Build\nFROM alpine:3\nCOPY --from=build /a /b\n"
    assert [i for i, _, _ in images(mixed)] == ["docker.io/library/busybox:1", "docker.io/library/alpine:3"]
