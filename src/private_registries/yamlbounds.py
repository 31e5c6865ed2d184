"""Bounds on a YAML text, checked from its events before anyone builds it.

Aliases make a small text a huge tree: `&a [*b, *b]` doubles at each level, and a merge key
(`<<: [*a, *a]`) copies its mappings in as they are built. A few hundred bytes then make billions of
nodes, which hang whatever walks them (a constructor, a comparison, an error message). Deep nesting
exhausts the recursion of the pure-Python readers, slowly (seconds of work before the error).

`check` reads the text's events only (libyaml's parser when there is one: some 80 ms for 2 MB),
counts the nodes the tree would have with every alias expanded and how deep it nests, and refuses a
text past either bound with an error that names the file and the line. A text that is not YAML is
left to the reader, which says what is wrong and where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import yaml

from private_registries.errors import InputError

MAX_DEPTH = 100  # collections inside collections; Kubernetes manifests nest some 10 deep
MAX_ALIAS_NODES = 1_000_000  # nodes that aliases may add to a text, beyond the ones it writes

# What each event does: 0 a scalar, 1 an alias, 2 a collection starts, 3 one ends, 4 anything else.
_KINDS = {"ScalarEvent": 0, "AliasEvent": 1, "MappingStartEvent": 2, "SequenceStartEvent": 2}
_KINDS |= {"MappingEndEvent": 3, "SequenceEndEvent": 3}

Events = Callable[[str], Iterable[object]]


def check(text: str, where: str, *, reader: Events | None = None, first_line: int = 0) -> None:
    """Raise InputError if `text` nests deeper than MAX_DEPTH or its aliases add more than
    MAX_ALIAS_NODES nodes. `reader` gives the events of the parser that will read the text, for when
    libyaml cannot (PyYAML's own parser by default); `first_line` is where the text starts in its file."""
    try:
        _scan(_libyaml_events(text), where, first_line)
        return
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own bound, 1000 levels
            raise _too_deep(where, exc.problem_mark, first_line) from None
    except yaml.YAMLError:
        pass  # libyaml reads some texts otherwise than the reader: ask the reader's own parser
    try:
        _scan((reader or _pyyaml_events)(text), where, first_line)
    except InputError:
        raise
    except Exception:  # noqa: S110 - not YAML: the reader will say what is wrong, and where
        pass


def _libyaml_events(text: str) -> Iterator[object]:
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        raise yaml.YAMLError("libyaml is not available")
    loader = loader_class(text)
    try:
        while (event := loader.get_event()) is not None:
            yield event
    finally:
        loader.dispose()


def _pyyaml_events(text: str) -> Iterable[object]:
    return yaml.parse(text, Loader=yaml.SafeLoader)


def _scan(events: Iterable[object], where: str, first_line: int) -> None:
    kinds: dict[type, int] = {}
    sizes: dict[str, int] = {}  # anchor -> nodes of its tree, aliases expanded
    anchors: list[str | None] = [None]  # of the collections open, outermost first (after the stream's)
    counts: list[int] = [0]  # nodes in each of them so far, aliases expanded
    written = expanded = 0
    for event in events:
        kind = kinds.get(type(event))
        if kind is None:
            kind = kinds[type(event)] = _KINDS.get(type(event).__name__, 4)
        if kind == 0:
            written += 1
            expanded += 1
            counts[-1] += 1
            anchor = getattr(event, "anchor", None)
            if anchor:
                sizes[anchor] = 1
        elif kind == 1:
            name = getattr(event, "anchor", None) or ""
            if name in anchors:  # the collection it names is still open: a tree that holds itself
                raise InputError(
                    f"{where}: {_line(event, first_line)}the alias *{name[:40]} is inside the "
                    "collection it names (a tree that holds itself); it was not read"
                )
            size = sizes.get(name, 1)
            expanded += size
            counts[-1] += size
            if expanded - written > MAX_ALIAS_NODES:
                raise InputError(
                    f"{where}: {_line(event, first_line)}its aliases make a tree of more than "
                    f"{MAX_ALIAS_NODES:,} nodes; it was not read",
                    hint="write the repeated parts out, or alias them from fewer places",
                )
        elif kind == 2:
            written += 1
            expanded += 1
            anchors.append(getattr(event, "anchor", None))
            counts.append(1)
            if len(counts) > MAX_DEPTH + 1:
                raise _too_deep(where, getattr(event, "start_mark", None), first_line)
        elif kind == 3 and len(counts) > 1:
            anchor, size = anchors.pop(), counts.pop()
            counts[-1] += size
            if anchor:
                sizes[anchor] = size


def _too_deep(where: str, mark: object, first_line: int) -> InputError:
    return InputError(
        f"{where}: {_at(mark, first_line)}nested more than {MAX_DEPTH} levels deep; it was not read"
    )


def _line(event: object, first_line: int) -> str:
    return _at(getattr(event, "start_mark", None), first_line)


def _at(mark: object, first_line: int) -> str:
    line = getattr(mark, "line", None)
    return f"line {first_line + line + 1}: " if isinstance(line, int) else ""
