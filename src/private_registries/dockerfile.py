"""The base images of a Dockerfile, read as BuildKit reads it.

The parser and the shell lexer are e2b-dockerfile-utils, a port of BuildKit's own (heredocs, flags,
parser directives, continuations with blank and comment lines, `# escape=`). On top of them, what
BuildKit's dockerfile2llb does before it pulls anything:

- the global ARGs (those before the first FROM) start from the predefined ones (BUILDPLATFORM,
  TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, ... and TARGETSTAGE); each default is
  expanded with the ARGs before it, unless a `--build-arg` gives the value (taken literally);
- FROM names and `--platform` values are expanded with them (`${X:-w}`, `${X#p}`, `${X/p/r}`, quotes...);
  an unset ARG expands to nothing, as in BuildKit;
- `COPY --from` and `RUN --mount=from=` name a stage (by name, or by index for COPY), `scratch`, or an
  image; BuildKit expands no variable there, so neither do we;
- a build pulls only the stages its target needs: FROM <stage>, COPY --from, RUN --mount=from=, followed
  from the target (the last stage by default). The classic builder pulls every stage (`all_stages`);
- a named build context (buildx's `--build-context NAME=VALUE`) replaces the stage or the image of its
  name, as BuildKit's dockerui does: NAME is read as an image reference (`alpine` is
  docker.io/library/alpine:latest, so it matches `FROM alpine` and `FROM docker.io/library/alpine`,
  not `FROM alpine:3`), a stage of that name is not built at all (its FROM and commands are not
  pulled), and a `FROM`, `COPY --from` or `RUN --mount=from=` of that image takes the context
  instead. A `docker-image://REF` context is the image pulled there; a folder, Git or HTTP context,
  or an OCI layout, pulls nothing.

Every image named in any stage is still checked, as BuildKit refuses an invalid one even in a stage
the target does not need.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from private_registries.errors import InputError
from private_registries.images import ImageRef, parse_image

if TYPE_CHECKING:  # imported when first needed: the CLI must start fast
    from e2b_dockerfile_utils import DockerfileAst, DockerfileInstruction

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_PARSE_ERROR = re.compile(r"^Dockerfile parse error(?: on line \d+)?: ")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_STAGE_INDEX = re.compile(r"^[+-]?[0-9]+$")
_GIT_SOURCE = re.compile(r"^(?:git@|git://)|\.git(?:[?#].*)?$")
# Flags the classic builder refuses ("requires BuildKit") or silently ignores, changing the result.
_BUILDKIT_FLAGS = {
    "COPY": ("chmod", "link", "parents", "exclude"),
    "ADD": ("chmod", "link", "parents", "exclude", "checksum", "keep-git-dir", "unpack"),
}
_MACHINES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm/v7", "armv6l": "arm/v6", "armhf": "arm/v7", "armel": "arm/v6", "i386": "386",
    "i686": "386", "x86": "386", "386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
    "riscv64": "riscv64", "mips64le": "mips64le", "loong64": "loong64", "loongarch64": "loong64",
}  # fmt: skip
_OSES = frozenset({"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos"})
_LONG = 80


@dataclass(frozen=True, kw_only=True)
class DockerfileOptions:
    """Which Dockerfile, read with which build args, for which platform."""

    context: Path = Path(".")
    file: Path | None = None  # default: CONTEXT/Dockerfile
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    target: str | None = None  # the stage built (default: the last); BuildKit pulls only what it needs
    all_stages: bool = (
        False  # every stage's images (as the classic builder pulls them), not only the target's
    )
    build_contexts: Mapping[str, str] = field(default_factory=dict)  # NAME -> PATH|docker-image://REF|URL

    @property
    def path(self) -> Path:
        return self.file or self.context / "Dockerfile"


@dataclass(frozen=True)
class BaseImage:
    image: ImageRef
    line: int  # 1-based, where it is named
    source: str  # FROM, COPY --from, RUN --mount, # syntax
    platform: str | None = None

    def __str__(self) -> str:
        return str(self.image)


@dataclass
class _Stage:
    index: int
    name: str | None  # lower case, as BuildKit keeps it
    line: int
    base: int | None = None  # FROM <an earlier stage>
    deps: set[int] = field(default_factory=set)  # stages it copies or mounts from
    images: list[BaseImage] = field(default_factory=list)


@dataclass(frozen=True)
class NamedContext:
    """A build context given a name (`--build-context NAME=VALUE`), as BuildKit matches it."""

    name: str  # as given
    image: ImageRef | None  # docker-image://REF: the image pulled in its place; None: nothing is pulled

    @property
    def source(self) -> str:
        return f"--build-context {self.name}"


class _Contexts:
    """The named contexts, by the image reference their name normalises to (BuildKit's lookup key)."""

    def __init__(self, contexts: Mapping[str, str]) -> None:
        self._by_ref: dict[str, NamedContext] = {}
        for name, value in contexts.items():
            where = f"--build-context {_cut(name)}"
            try:
                key = str(parse_image(name, where))
            except InputError:
                raise InputError(
                    f"{where}={_cut(value)}: {_cut(name)!r} is not a valid context name",
                    hint="a build context is named as the stage or the image it replaces, e.g. "
                    "--build-context base=./base or --build-context alpine:3=docker-image://alpine:3.20",
                ) from None
            image = None
            if value.startswith("docker-image://"):
                image = parse_image(value.removeprefix("docker-image://"), where)
            self._by_ref[key] = NamedContext(name, image)

    def get(self, name: str | ImageRef) -> NamedContext | None:
        """The context that replaces this stage name or image, if any."""
        if not self._by_ref:
            return None
        if isinstance(name, ImageRef):
            return self._by_ref.get(str(name))
        try:
            return self._by_ref.get(str(parse_image(name)))
        except InputError:  # not a reference: no context can have its name
            return None

    def images(self, context: NamedContext, line: int, platform: str | None = None) -> list[BaseImage]:
        return [BaseImage(context.image, line, context.source, platform)] if context.image else []


class _Args(Mapping[str, str]):
    """The ARG values a word is expanded with; remembers which names it was asked for and missed."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._known = dict(values)
        self.missed: list[str] = []

    def __getitem__(self, name: str) -> str:
        if name in self._known:
            return self._known[name]
        if name not in self.missed:
            self.missed.append(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


@dataclass
class _Globals:
    """The global ARGs as FROM sees them, and those declared without a value (name -> line)."""

    args: dict[str, str]
    unset: dict[str, int]


def read(path: Path) -> str:
    from private_registries.fsutil import TooLarge, read_bounded

    try:
        return read_bounded(path).decode("utf-8")
    except TooLarge as exc:
        hint = "name a Dockerfile with -f FILE"
        raise InputError(f"cannot read the Dockerfile: {exc}", hint=hint) from None
    except FileNotFoundError:
        raise InputError(
            f"no Dockerfile at {path}", hint="give its path with -f FILE, or a context folder that has one"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a Dockerfile") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InputError(f"cannot read the Dockerfile {path}: {reason}") from None


def base_images(
    text: str,
    path: str,
    build_args: Mapping[str, str] | None = None,
    platform: str | None = None,
    *,
    target: str | None = None,
    all_stages: bool = False,
    build_contexts: Mapping[str, str] | None = None,
) -> list[BaseImage]:
    """Every image the build pulls, in order of first appearance, each once.

    `platform` may list several platforms (`linux/amd64,linux/arm64`): the images of each build.
    `target` is the stage to build (default: the last); `all_stages` takes every stage, as the classic
    builder does. `build_contexts` (NAME -> value) replace the stages and images of their names.
    """
    contexts = _Contexts(build_contexts or {})
    ast = _parse(text, path)
    found: list[BaseImage] = []
    syntax = syntax_directive(text)
    if syntax:
        found.append(BaseImage(parse_image(syntax[1], f"{path}:{syntax[0]}"), syntax[0], "# syntax"))
    platforms = [p.strip() for p in platform.split(",")] if platform else [None]
    for one in platforms:
        found += _images(
            ast,
            path,
            dict(build_args or {}),
            one or None,
            target=target,
            all_stages=all_stages,
            contexts=contexts,
        )
    unique: dict[str, BaseImage] = {}
    for base in found:
        unique.setdefault(str(base.image), base)
    return list(unique.values())


def needs_buildkit(text: str, path: str) -> tuple[int, str] | None:
    """The first line the classic builder cannot build, and why (e.g. `RUN --mount`), or None."""
    for instruction in _parse(text, path).instructions:
        reason = _buildkit_only(instruction)
        if reason:
            return instruction.start_line, reason
    return None


def platform_args(target: str | None) -> dict[str, str]:
    """The ARGs every build predefines (BUILDPLATFORM, TARGETARCH, ...), for this host and target."""
    build = f"linux/{_host_machine()}"
    args: dict[str, str] = {}
    for prefix, value in (("BUILD", build), ("TARGET", _normalise_platform(target) if target else build)):
        os_name, arch, variant = [*value.split("/"), ""][:3]
        args.update(
            {
                f"{prefix}PLATFORM": value,
                f"{prefix}OS": os_name,
                f"{prefix}OSVERSION": "",
                f"{prefix}ARCH": arch,
                f"{prefix}VARIANT": variant,
            }
        )
    return args


def syntax_directive(text: str) -> tuple[int, str] | None:
    """The `# syntax=` parser directive (its line and image), as BuildKit's DetectSyntax finds it."""
    lines = text.removeprefix("\ufeff").split("\n")
    first = 1
    if lines and lines[0].startswith("#!"):  # a shebang line is skipped
        lines, first = lines[1:], 2
    for number, raw in enumerate(lines, first):
        line = raw.rstrip("\r")
        if not line.startswith("#"):
            return None
        match = _DIRECTIVE.match(line[1:].lstrip())
        if not match or match[1].lower() not in _DIRECTIVES:
            return None
        if match[1].lower() == "syntax":
            return number, match[2].split(" ")[0]
    return None


def _parse(text: str, path: str) -> DockerfileAst:
    from e2b_dockerfile_utils import DockerfileSyntaxError, parse_dockerfile_ast

    try:
        return parse_dockerfile_ast(text)
    except DockerfileSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else path
        message = _PARSE_ERROR.sub("", str(exc))
        unknown = message.removeprefix("unknown instruction: ")
        if unknown != message:
            raise InputError(
                f"{where}: unknown instruction {_cut(unknown)}",
                hint=f"Dockerfile instructions are: {', '.join(sorted(INSTRUCTIONS))}",
            ) from None
        raise InputError(f"{where}: {_cut(message, 200)}") from None


def _images(
    ast: DockerfileAst,
    path: str,
    build_args: dict[str, str],
    platform: str | None,
    *,
    target: str | None,
    all_stages: bool,
    contexts: _Contexts,
) -> list[BaseImage]:
    meta, groups = _split(ast, path)
    names = [_stage_name(from_, path) for from_, _ in groups]
    target_index = _target(names, target, path)
    target_stage = target or names[-1] or "default"
    lex = _Lexer(ast.escape_token)
    scope = _global_args(meta, lex, path, build_args, platform=platform, target_stage=target_stage)

    stages: list[_Stage] = []
    by_name: dict[str, int] = {}
    replaced: set[int] = set()  # stages a named context stands for: none of their own is built
    for index, (from_, _) in enumerate(groups):
        stage = _Stage(index, names[index], from_.start_line)
        context = contexts.get(stage.name) if stage.name else None
        if context is not None:
            stage.images += contexts.images(context, from_.start_line)
            replaced.add(index)
        else:
            _from(from_, stage, by_name, scope=scope, lex=lex, path=path, contexts=contexts)
        stages.append(stage)
        if stage.name:
            by_name[stage.name] = index
    for stage, (_, commands) in zip(stages, groups, strict=True):
        if stage.index in replaced:
            continue
        for instruction in commands:
            if instruction.name == "COPY":
                _copy_from(
                    instruction, stage, by_name, count=len(stages), lex=lex, path=path, contexts=contexts
                )
            elif instruction.name == "RUN":
                _mount_from(instruction, stage, by_name, path, contexts)

    targets = range(len(stages)) if all_stages else [target_index]
    wanted = set().union(*(_needed(stages, index, path) for index in targets))
    return [image for stage in stages if stage.index in wanted for image in stage.images]


def _split(
    ast: DockerfileAst, path: str
) -> tuple[list[DockerfileInstruction], list[tuple[DockerfileInstruction, list[DockerfileInstruction]]]]:
    """The global ARGs, then each stage's FROM with its instructions."""
    meta: list[DockerfileInstruction] = []
    groups: list[tuple[DockerfileInstruction, list[DockerfileInstruction]]] = []
    for instruction in ast.instructions:
        if instruction.name == "FROM":
            groups.append((instruction, []))
        elif groups:
            groups[-1][1].append(instruction)
        elif instruction.name == "ARG":
            meta.append(instruction)
        else:
            raise InputError(
                f"{path}:{instruction.start_line}: {instruction.name} before the first FROM",
                hint="a Dockerfile starts with FROM (after global ARGs)",
            )
    if not groups:
        raise InputError(f"{path}: no FROM instruction", hint="a Dockerfile needs at least one FROM line")
    return meta, groups


def _stage_name(from_: DockerfileInstruction, path: str) -> str | None:
    args = from_.args
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise InputError(
                f"{path}:{from_.start_line}: invalid name for build stage: {_cut(args[2])!r}",
                hint="a stage name starts with a letter, then letters, digits, -, _ or .",
            )
        return name
    return None


def _target(names: Sequence[str | None], target: str | None, path: str) -> int:
    if target is None:
        return len(names) - 1
    wanted = target.lower()
    for index in range(len(names) - 1, -1, -1):  # a later stage of the same name wins, as in BuildKit
        if names[index] == wanted:
            return index
    named = [name for name in names if name]
    raise InputError(
        f"{path}: no stage named {_cut(target)!r} to build",
        hint=f"the stages are: {', '.join(named)}"
        if named
        else "this Dockerfile names no stage (FROM ... AS name)",
    )


class _Lexer:
    """BuildKit's shell lexer, with errors that name the line."""

    def __init__(self, escape: str) -> None:
        self.escape = escape

    def expand(self, word: str, args: Mapping[str, str], where: str) -> str:
        from e2b_dockerfile_utils import ShellLex

        try:
            result = ShellLex(self.escape, env=args, skip_unset_env=False).process_word(word)
        except ValueError as exc:
            reason = str(exc).removeprefix(f"failed to process {word!r}: ")
            raise InputError(f"{where}: cannot parse {_cut(word)!r}: {_cut(reason, 200)}") from None
        return result


def _global_args(
    meta: Sequence[DockerfileInstruction],
    lex: _Lexer,
    path: str,
    build_args: Mapping[str, str],
    *,
    platform: str | None,
    target_stage: str,
) -> _Globals:
    """The ARGs FROM sees: the predefined ones, then each global ARG in turn (BuildKit's buildMetaArgs)."""
    try:
        predefined = platform_args(platform)
    except ValueError:
        raise InputError(
            f"--platform {_cut(platform or '')!r} is not a platform",
            hint="e.g. linux/amd64, linux/arm64, linux/arm/v7",
        ) from None
    predefined["TARGETSTAGE"] = target_stage
    args = {name: build_args.get(name, value) for name, value in predefined.items()}
    unset: dict[str, int] = {}
    for instruction in meta:
        for word in instruction.args:
            name, eq, default = word.partition("=")
            if not name:
                raise InputError(f"{path}:{instruction.start_line}: ARG names can not be blank")
            if name in build_args:
                args[name] = build_args[name]
            elif eq:
                where = f"{path}:{instruction.start_line}"
                args[name] = _bounded(name, lex.expand(default, args, where), where)
            elif name not in args:
                unset[name] = instruction.start_line
    return _Globals(args, unset)


# An ARG's expanded value at most this long: each ARG is checked as it is expanded, so one that doubles
# the one before it (`ARG A1=${A0}${A0}`, repeated) stops here instead of growing to gigabytes; a
# line can then expand to at most its own length times this.
MAX_ARG_VALUE = 64 * 1024


def _bounded(name: str, value: str, where: str) -> str:
    if len(value) > MAX_ARG_VALUE:
        raise InputError(
            f"{where}: ARG {_cut(name)} expands to more than {MAX_ARG_VALUE // 1024} KiB "
            f"({len(value):,} characters): refused, as no image name needs that",
            hint="an ARG whose default repeats earlier ARGs grows with each line; give the value with "
            "--build-arg (build-args in the action) instead",
        )
    return value


def _from(
    from_: DockerfileInstruction,
    stage: _Stage,
    by_name: Mapping[str, int],
    *,
    scope: _Globals,
    lex: _Lexer,
    path: str,
    contexts: _Contexts,
) -> None:
    where = f"{path}:{from_.start_line}"
    for word in from_.args:  # a quoting error anywhere on the line is reported as such
        lex.expand(word, {}, where)
    if not (len(from_.args) == 1 or (len(from_.args) == 3 and from_.args[1].lower() == "as")):
        raise InputError(
            f"{where}: FROM takes an image and an optional `AS name`, got {_cut(' '.join(from_.args))!r}"
        )
    args = _Args(scope.args)
    name = lex.expand(from_.args[0], args, where)
    platform = None
    for flag in from_.flags:
        if flag.startswith("--platform="):
            platform = lex.expand(flag.removeprefix("--platform="), _Args(scope.args), where)
            if not platform:
                raise InputError(f"{where}: FROM --platform is empty ({_cut(flag)})")
            _check_platform(platform, where)
    if name.lower() in by_name:
        stage.base = by_name[name.lower()]
        return
    if name == "scratch":
        return
    try:
        image = parse_image(name, where)
    except InputError as exc:
        raise _unset_arg(exc, from_.args[0], args.missed, scope, where) from None
    context = contexts.get(image)
    if context is not None:
        stage.images += contexts.images(context, from_.start_line, platform)
        return
    stage.images.append(BaseImage(image, from_.start_line, "FROM", platform))


def _unset_arg(exc: InputError, word: str, missed: Sequence[str], scope: _Globals, where: str) -> InputError:
    """An invalid image name that an ARG without a value made: name the ARG and the fix."""
    for name in missed:
        if name in scope.unset:
            return InputError(
                f"{where}: FROM uses ARG {name}, which has no value (declared without a default at line "
                f"{scope.unset[name]}): {_cut(word)!r} is not a valid image reference",
                hint=f"give it one: --build-arg {name}=...  (or a default: ARG {name}=...)",
            )
    for name in missed:
        return InputError(
            f"{where}: FROM uses ${name}, which no ARG before the first FROM declares, "
            f"so {_cut(word)!r} is not a valid image reference",
            hint=f"declare it at the top:  ARG {name}=<default>  (--build-arg {name}=... then changes it)",
        )
    return exc


def _copy_from(
    copy: DockerfileInstruction,
    stage: _Stage,
    by_name: Mapping[str, int],
    *,
    count: int,
    lex: _Lexer,
    path: str,
    contexts: _Contexts,
) -> None:
    where = f"{path}:{copy.start_line}"
    sources = [flag.removeprefix("--from=") for flag in copy.flags if flag.startswith("--from=")]
    if not sources:
        return
    if len(sources) > 1:
        raise InputError(f"{where}: COPY takes one --from, got {len(sources)}")
    source = sources[0]
    if not source:
        return  # BuildKit (0.13) reads an empty --from as none: the files come from the build context
    if lex.expand(source, {}, where) != source:
        raise InputError(
            f"{where}: COPY --from={_cut(source)} uses a variable, which BuildKit does not expand there",
            hint="name the image in a stage instead: `ARG IMAGE=...` at the top, `FROM ${IMAGE} AS name`, "
            "then `COPY --from=name`",
        )
    if _STAGE_INDEX.match(source):
        index = int(source)
        if not 0 <= index < count:
            raise InputError(
                f"{where}: COPY --from={source}: there is no stage {source} (stages count from 0)"
            )
        stage.deps.add(index)
    elif source.lower() in by_name:
        stage.deps.add(by_name[source.lower()])
    elif source != "scratch":
        _image_or_context(stage, parse_image(source, where), copy.start_line, "COPY --from", contexts)


def _mount_from(
    run: DockerfileInstruction, stage: _Stage, by_name: Mapping[str, int], path: str, contexts: _Contexts
) -> None:
    where = f"{path}:{run.start_line}"
    for flag in run.flags:
        if not flag.startswith("--mount="):
            continue
        try:
            fields = next(csv.reader([flag.removeprefix("--mount=")], strict=True), [])
        except csv.Error as exc:
            raise InputError(f"{where}: cannot parse {_cut(flag)!r}: {exc}") from None
        for item in fields:
            key, _, value = item.partition("=")
            if key.strip().lower() != "from" or not value:
                continue
            if "$" in value[:-1]:
                raise InputError(
                    f"{where}: RUN --mount from={_cut(value)} uses a variable, "
                    "which BuildKit does not expand there",
                    hint="name the image in a stage instead: `ARG IMAGE=...` at the top, "
                    "`FROM ${IMAGE} AS name`, then `--mount=from=name`",
                )
            if value.lower() in by_name:
                stage.deps.add(by_name[value.lower()])
            elif value != "scratch":
                _image_or_context(stage, parse_image(value, where), run.start_line, "RUN --mount", contexts)


def _image_or_context(stage: _Stage, image: ImageRef, line: int, source: str, contexts: _Contexts) -> None:
    """The image a COPY --from or RUN --mount names, or the named context that stands for it."""
    context = contexts.get(image)
    stage.images += contexts.images(context, line) if context else [BaseImage(image, line, source)]


def _needed(stages: Sequence[_Stage], target: int, path: str) -> set[int]:
    """The target and every stage it builds on, copies from or mounts; a stage that comes back to
    itself is refused in BuildKit's words (it names the stage whose dependency closes the loop)."""
    needed: set[int] = set()
    open_: set[int] = set()  # on the current path
    todo: list[tuple[int, bool]] = [(target, True)]
    while todo:
        index, entering = todo.pop()
        if not entering:
            open_.discard(index)
            continue
        if index in needed:
            continue
        needed.add(index)
        open_.add(index)
        todo.append((index, False))
        stage = stages[index]
        for dep in sorted({*stage.deps, *([stage.base] if stage.base is not None else [])}, reverse=True):
            if dep in open_:
                name = stage.name or str(stage.index)
                raise InputError(f"{path}:{stage.line}: circular dependency detected on stage: {_cut(name)}")
            todo.append((dep, True))
    return needed


def _buildkit_only(instruction: DockerfileInstruction) -> str | None:
    name = instruction.name
    if instruction.heredocs:
        return "heredoc"
    if name == "RUN" and instruction.flags:
        return f"RUN {_flag_name(instruction.flags[0])}"
    for flag in instruction.flags:
        if _flag_name(flag).removeprefix("--") in _BUILDKIT_FLAGS.get(name, ()):
            return f"{name} {_flag_name(flag)}"
    sources = [arg.strip("\"'") for arg in instruction.args[:-1]]
    if name == "ADD" and not instruction.json and any(_GIT_SOURCE.search(source) for source in sources):
        return "ADD of a Git repository"
    return None


def _flag_name(flag: str) -> str:
    return flag.partition("=")[0]


_PLATFORM_PART = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_platform(value: str, where: str) -> None:
    """A platform as containerd's parser takes it; refused in its words, as BuildKit then refuses."""
    for part in value.split("/"):
        if not _PLATFORM_PART.match(part):
            raise InputError(
                f"{where}: failed to parse platform {_cut(value)}: {_cut(part)!r} is an invalid component "
                f'of {_cut(value)!r}: platform specifier component must match "^[A-Za-z0-9_-]+$"',
                hint="an ARG in --platform that has no value leaves a part empty: give it one",
            )


def _normalise_platform(value: str) -> str:
    """`os/arch[/variant]` as containerd normalises it (x86_64 -> amd64, arm -> arm/v7, ...)."""
    parts = [part.strip().lower() for part in value.split("/")]
    if len(parts) > 3 or not all(parts):
        raise ValueError(value)
    if len(parts) == 1:  # `arm64` is linux/arm64; `linux` alone is this machine's architecture
        parts = [parts[0], _host_machine()] if parts[0] in _OSES else ["linux", parts[0]]
    os_name = "darwin" if parts[0] == "macos" else parts[0]
    arch, _, variant = _MACHINES.get(parts[1], parts[1]).partition("/")
    variant = parts[2] if len(parts) == 3 else variant
    if (arch, variant) in (("arm64", "v8"), ("arm64", "8"), ("amd64", "v1")):
        variant = ""
    elif arch == "arm":
        variant = {"5": "v5", "6": "v6", "7": "v7", "8": "v8", "": "v7"}.get(variant, variant)
    return "/".join(part for part in (os_name, arch, variant) if part)


def _host_machine() -> str:
    import platform as host

    return _MACHINES.get(host.machine().lower(), host.machine().lower())


def _cut(text: str, limit: int = _LONG) -> str:
    """A user's value, shortened for a message."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
