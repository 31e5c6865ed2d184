"""The base images of a Dockerfile: what a build will pull, found with dockerfile-parse.

Every `FROM` (with the global `ARG` defaults and `--build-arg` overrides applied, and `--platform`
kept), `COPY --from=<image>`, `RUN --mount=...,from=<image>` and the `# syntax=` frontend. A name
that is an earlier stage (or `scratch`) is not an image.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from private_registries.errors import InputError
from private_registries.images import ImageRef, parse_image

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip
_SYNTAX = re.compile(r"^#\s*syntax\s*=\s*(\S+)\s*$", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^#\s*[a-zA-Z_]+\s*=")
# $NAME, ${NAME}, ${NAME:-default}, ${NAME:+alternative}
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class BaseImage:
    image: ImageRef
    line: int  # 1-based, where it is named
    source: str  # FROM, COPY --from, RUN --mount, # syntax
    platform: str | None = None

    def __str__(self) -> str:
        return str(self.image)


@dataclass
class _Scope:
    """What a stage sees: the global ARGs, the stages before it, and the build args given."""

    path: str
    build_args: Mapping[str, str]
    global_args: dict[str, str | None] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
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
    text: str, path: str, build_args: Mapping[str, str] | None = None, platform: str | None = None
) -> list[BaseImage]:
    """Every image the build will pull, in order, each once."""
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(fileobj=_Text(text), env_replace=False)
    scope = _Scope(path, dict(build_args or {}))
    scope.global_args.update(platform_args(platform))
    found: list[BaseImage] = []
    syntax = _syntax(text)
    if syntax:
        found.append(BaseImage(parse_image(syntax[1], f"{path}:{syntax[0]}"), syntax[0], "# syntax"))
    seen_from = False
    stage_args: dict[str, str | None] = {}
    for instruction in parser.structure:
        name, value, line = instruction["instruction"], instruction["value"], instruction["startline"] + 1
        if name == "COMMENT":
            continue
        where = f"{path}:{line}"
        if name not in INSTRUCTIONS:
            raise InputError(
                f"{where}: unknown instruction {name}",
                hint=f"Dockerfile instructions are: {', '.join(sorted(INSTRUCTIONS))}",
            )
        if name == "ARG":
            target = stage_args if seen_from else scope.global_args
            target.update(_declared_args(value, where))
        elif name == "FROM":
            seen_from = True
            stage_args = {}
            found += _from(value, where, line, scope)
        elif not seen_from:
            raise InputError(
                f"{where}: {name} before the first FROM",
                hint="a Dockerfile starts with FROM (after global ARGs)",
            )
        elif name == "COPY":
            found += _copy_from(value, where, line, scope, stage_args)
        elif name == "RUN":
            found += _mount_from(value, where, line, scope, stage_args)
    if not seen_from:
        raise InputError(f"{path}: no FROM instruction", hint="a Dockerfile needs at least one FROM line")
    unique: dict[str, BaseImage] = {}
    for base in found:
        unique.setdefault(str(base.image), base)
    return list(unique.values())


class _Text:
    """The file-like object dockerfile-parse reads (it wants bytes lines and a name)."""

    def __init__(self, text: str) -> None:
        self.name = "Dockerfile"
        self._lines = [line.encode() for line in text.splitlines(keepends=True)]

    def readlines(self) -> list[bytes]:
        return list(self._lines)

    def seek(self, *_: object) -> None:
        pass

    def read(self) -> bytes:
        return b"".join(self._lines)


def platform_args(target: str | None) -> dict[str, str | None]:
    """The ARGs every build predefines (BUILDPLATFORM, TARGETARCH, ...), for this host and target."""
    import platform as host

    machine = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7"}.get(host.machine(), host.machine())
    build = f"linux/{machine}"
    args: dict[str, str | None] = {}
    for prefix, value in (("BUILD", build), ("TARGET", target or build)):
        os_name, _, arch = value.partition("/")
        arch, _, variant = arch.partition("/")
        args.update(
            {
                f"{prefix}PLATFORM": value,
                f"{prefix}OS": os_name,
                f"{prefix}ARCH": arch,
                f"{prefix}VARIANT": variant,
            }
        )
    return args


def _syntax(text: str) -> tuple[int, str] | None:
    """The `# syntax=` parser directive: only in the directives at the very top of the file."""
    for number, line in enumerate(text.splitlines(), 1):
        match = _SYNTAX.match(line.strip())
        if match:
            return number, match[1]
        if not _DIRECTIVE.match(line.strip()):
            return None
    return None


def _declared_args(value: str, where: str) -> dict[str, str | None]:
    args: dict[str, str | None] = {}
    for word in _split(value, where):
        name, eq, default = word.partition("=")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise InputError(f"{where}: ARG {word!r} is not a valid argument name")
        args[name] = default if eq else None
    return args


def _from(value: str, where: str, line: int, scope: _Scope) -> list[BaseImage]:
    words = _split(value, where)
    flags = [w for w in words if w.startswith("--")]
    rest = [w for w in words if not w.startswith("--")]
    platform = next((w.split("=", 1)[1] for w in flags if w.startswith("--platform=")), None)
    if len(rest) == 3 and rest[1].lower() == "as":
        image_text, alias = rest[0], rest[2].lower()
    elif len(rest) == 1:
        image_text, alias = rest[0], None
    else:
        raise InputError(f"{where}: FROM takes an image and an optional `AS name`, got {value!r}")
    args = _visible(scope.global_args, scope, where)
    image_text = _expand(image_text, args, where, "FROM")
    if platform:
        platform = _expand(platform, args, where, "FROM --platform")
    result: list[BaseImage] = []
    if image_text.lower() not in scope.stages and image_text != "scratch":
        result.append(BaseImage(parse_image(image_text, where), line, "FROM", platform))
    scope.stages.append(alias or f"#{len(scope.stages)}")
    return result


def _copy_from(
    value: str, where: str, line: int, scope: _Scope, stage_args: dict[str, str | None]
) -> list[BaseImage]:
    for word in _split(value, where):
        if not word.startswith("--"):
            break
        if word.startswith("--from="):
            source = _expand(
                word.split("=", 1)[1],
                _visible({**scope.global_args, **stage_args}, scope, where),
                where,
                "COPY --from",
            )
            return _image_unless_stage(source, where, line, scope, "COPY --from")
    return []


def _mount_from(
    value: str, where: str, line: int, scope: _Scope, stage_args: dict[str, str | None]
) -> list[BaseImage]:
    found: list[BaseImage] = []
    for word in _split(value, where):
        if not word.startswith("--"):
            break
        if word.startswith("--mount="):
            options = dict(part.split("=", 1) for part in word[len("--mount=") :].split(",") if "=" in part)
            if options.get("from"):
                source = _expand(
                    options["from"],
                    _visible({**scope.global_args, **stage_args}, scope, where),
                    where,
                    "RUN --mount",
                )
                found += _image_unless_stage(source, where, line, scope, "RUN --mount")
    return found


def _image_unless_stage(source: str, where: str, line: int, scope: _Scope, kind: str) -> list[BaseImage]:
    if source.lower() in scope.stages or (source.isdigit() and int(source) < len(scope.stages)):
        return []
    return [BaseImage(parse_image(source, where), line, kind)]


def _visible(declared: Mapping[str, str | None], scope: _Scope, where: str) -> dict[str, str | None]:
    """Declared ARGs with --build-arg overrides (an undeclared build arg does not reach FROM)."""
    return {name: scope.build_args.get(name, default) for name, default in declared.items()}


def _expand(text: str, args: Mapping[str, str | None], where: str, what: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        value = args.get(name)
        if match["op"] == "-":
            return value if value else match["word"]
        if match["op"] == "+":
            return match["word"] if value else ""
        if name not in args:
            raise InputError(
                f"{where}: {what} uses ${name}, which no ARG before the first FROM declares",
                hint=f"declare it at the top:  ARG {name}=<default>",
            )
        if value is None:
            raise InputError(
                f"{where}: {what} uses ARG {name}, which has no value",
                hint=f"give it one: --build-arg {name}=...  (or a default: ARG {name}=...)",
            )
        return value

    return _VARIABLE.sub(substitute, text)


def _split(value: str, where: str) -> list[str]:
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError as exc:
        raise InputError(f"{where}: cannot parse {value!r}: {exc}") from None
