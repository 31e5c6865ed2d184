"""Minimal edits of YAML text: add an entry to a list in a mapping, and change nothing else.

Dumping a round-trip tree again reflows indentation, quotes and comments that the tree does not hold
exactly. So ruamel.yaml is used here to *find* places (its composed nodes carry exact start and end
marks) and the change is spliced into the original text: every other byte — comments, anchors,
key order, quoting, other documents — stays as it was. Callers check the result by parsing it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from private_registries import yamlbounds
from private_registries.errors import InputError, Location

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
_ALIAS = re.compile(r"\*[^\s,\[\]{}]+")


@dataclass(frozen=True)
class Document:
    """One document of a stream: its composed node (positions) and its plain data (values)."""

    node: Node | None
    data: Any


@dataclass(frozen=True)
class Edit:
    start: int
    end: int  # text[start:end] is replaced (equal: an insertion)
    text: str


@dataclass(frozen=True)
class Style:
    """How this file writes block sequences: the dash's offset from its key, the item's from the dash."""

    sequence_offset: int = 0
    item_offset: int = 2
    newline: str = "\n"
    mapping_indent: int = 2  # a nested block mapping's keys, from its parent key


def parse(text: str, where: str, *, start: int = 0, end: int | None = None) -> list[Document]:
    """Every document of `text` (or of `text[start:end]`), or an InputError naming the file, line and column.

    A part of the text is read alone, and its nodes' marks are moved to where they are in the whole
    text, so edits and line numbers are those of the whole file. `start` must begin a line.
    """
    part = text if start == 0 and end is None else text[start:end]
    line = text.count("\n", 0, start)
    yamlbounds.check(part, where, reader=events, first_line=line)
    try:
        nodes = list(YAML(typ="rt").compose_all(part))
        if any(_merges(node) for node in nodes):  # building data would fold merges into the nodes
            data = load(part)
        else:  # the same data as a safe load, from the nodes at hand (one reading of the text, not two)
            constructor = YAML(typ="safe", pure=True).constructor
            data = [constructor.construct_document(node) for node in nodes]
    except DuplicateKeyError as exc:  # its own message quotes both values: they may be secrets
        raise InputError(
            f"{where}: {_at(exc)}duplicate key", hint="keep one of the two", where=_location(where, exc)
        ) from None
    except MarkedYAMLError as exc:
        hint = "render the template first (helm template ...)" if "{{" in text else None
        raise InputError(
            f"{where}: not valid YAML {_at(exc)}{exc.problem or exc.context}",
            hint=hint,
            where=_location(where, exc),
        ) from None
    except YAMLError as exc:
        raise InputError(f"{where}: not valid YAML ({type(exc).__name__})") from None
    if start:
        for node in nodes:
            _shift(node, start, line)
    return [Document(node, value) for node, value in zip(nodes, data, strict=True)]


def events(text: str) -> Iterable[object]:
    """ruamel.yaml's own events of a text (what yamlbounds reads when libyaml reads it otherwise)."""
    return YAML(typ="rt").parse(text)  # type: ignore[no-any-return]


def load(text: str) -> list[Any]:
    """The plain data of every document (YAML 1.2, duplicate keys refused); raises ruamel.yaml errors."""
    return list(YAML(typ="safe", pure=True).load_all(text))


def _merges(root: Node | None) -> bool:
    """Whether a tree has a merge key (`<<`)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if key.tag == MERGE_TAG:
                    return True
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return False


def _shift(root: Node | None, index: int, line: int) -> None:
    """Move every mark of a tree by `index` characters and `line` lines (each mark once)."""
    nodes: set[int] = set()
    marks: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in nodes:
            continue
        nodes.add(id(node))
        for mark in (node.start_mark, node.end_mark):
            if mark is not None and id(mark) not in marks:
                marks.add(id(mark))
                mark.index += index
                mark.line += line
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            stack += node.value


def _location(where: str, exc: MarkedYAMLError) -> Location:
    mark = exc.problem_mark or exc.context_mark
    return Location(where, mark.line + 1 if mark else None)


def _at(exc: MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"at line {mark.line + 1} column {mark.column + 1}: " if mark else ""


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def entries(node: MappingNode) -> list[tuple[Node, Node]]:
    """A mapping's own entries and, after them, those it merges in (`<<: *base`), as YAML resolves them."""
    own = [(key, value) for key, value in node.value if key.tag != MERGE_TAG]
    for key, value in node.value:
        if key.tag == MERGE_TAG:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            own += [
                entry for source in sources if isinstance(source, MappingNode) for entry in entries(source)
            ]
    return own


def own_key(node: MappingNode, key: str) -> tuple[Node, Node] | None:
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.tag != MERGE_TAG and k.value == key:
            return k, v
    return None


def node_at(root: Node | None, path: Sequence[str | int]) -> Node | None:
    """The node at `path` (mapping keys and sequence indexes), through merge keys and aliases."""
    node = root
    for step in path:
        if isinstance(node, MappingNode) and isinstance(step, str):
            node = next((v for k, v in entries(node) if isinstance(k, ScalarNode) and k.value == step), None)
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
    return node


def style_of(root: Node | None, text: str, newline: str | None = None) -> Style:
    """The first block sequence under a block mapping key tells this file's indentation of lists;
    the first block mapping under one, that of mappings."""
    if newline is None:
        newline = "\r\n" if "\r\n" in text else "\n"
    sequence: tuple[int, int] | None = None
    mapping: int | None = None
    for key, value in _walk_entries(root):
        if value.start_mark.index <= key.end_mark.index:  # an alias of a node defined elsewhere
            continue
        if sequence is None and isinstance(value, SequenceNode) and not value.flow_style and value.value:
            offset = value.start_mark.column - key.start_mark.column
            first = value.value[0]
            item = first.start_mark.column - value.start_mark.column if isinstance(first, MappingNode) else 2
            if offset >= 0 and item >= 2:
                sequence = offset, item
        if mapping is None and isinstance(value, MappingNode) and not value.flow_style and value.value:
            indent = value.value[0][0].start_mark.column - key.start_mark.column
            if indent >= 1:
                mapping = indent
        if sequence is not None and mapping is not None:
            break
    offset, item = sequence or (0, 2)
    return Style(offset, item, newline, mapping or 2)


def _walk_entries(node: Node | None, seen: set[int] | None = None) -> list[tuple[Node, Node]]:
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return []
    seen.add(id(node))
    found: list[tuple[Node, Node]] = []
    if isinstance(node, MappingNode):
        for key, value in node.value:
            found.append((key, value))
            found += _walk_entries(value, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found += _walk_entries(item, seen)
    return found


def scalar(value: str, *, json_style: bool) -> str:
    """`value` as YAML reads it back unchanged: plain where that is safe, else double-quoted."""
    if json_style:
        return json.dumps(value)
    try:
        plain_ok = YAML(typ="safe", pure=True).load(f"k: {value}\n") == {"k": value}
    except YAMLError:
        plain_ok = False
    return value if plain_ok and value == value.strip() and "#" not in value else json.dumps(value)


def flow_item(item: Mapping[str, str], *, json_style: bool) -> str:
    parts = [
        f"{scalar(k, json_style=json_style)}: {scalar(v, json_style=json_style)}" for k, v in item.items()
    ]
    return "{" + ", ".join(parts) + "}"


def add_to_list(
    text: str,
    mapping: MappingNode,
    key: str,
    items: Sequence[Mapping[str, str]],
    style: Style,
    *,
    inherited: Sequence[Mapping[str, str]] = (),
    within: Sequence[str] = (),
) -> Edit:
    """The edit that appends `items` to the list at `key` of `mapping`, making the key if it is missing.

    `inherited` are items the mapping only merges in (`<<: *base`): a new own key must repeat them.
    `within` are keys of mappings to make first, one inside the other, from `mapping` down to the list
    (`podTemplate:` then `imagePullSecrets:`); `mapping` must then have no `within[0]` of its own.
    """
    json_style = _json_style(mapping)
    found = own_key(mapping, within[0] if within else key)
    if within and found is not None:
        raise InputError(f"line {line_of(mapping)}: {within[0]} is there already")
    if found is None:
        return _new_key(
            text,
            mapping=mapping,
            key=key,
            items=[*inherited, *items],
            style=style,
            json_style=json_style,
            within=within,
        )
    key_node, value = found
    if value.start_mark.index < key_node.end_mark.index:
        raise InputError(
            f"line {line_of(key_node)}: {key} is an alias of a list defined elsewhere; it was left as it is",
            hint=f"write the {key} list out in place",
        )
    if isinstance(value, ScalarNode) and value.tag == NULL_TAG:
        flow = "[" + ", ".join(flow_item(i, json_style=json_style) for i in items) + "]"
        if value.start_mark.index == value.end_mark.index:  # `key:` with nothing after it
            colon = text.index(":", key_node.end_mark.index)
            return Edit(colon + 1, colon + 1, " " + flow)
        return Edit(value.start_mark.index, value.end_mark.index, flow)
    if not isinstance(value, SequenceNode):
        raise InputError(
            f"line {line_of(key_node)}: {key} is not a list", hint=f"write it as\n{key}:\n- name: ..."
        )
    if value.flow_style:
        rendered = ", ".join(flow_item(i, json_style=json_style) for i in items)
        if not value.value:
            return Edit(value.start_mark.index + 1, value.start_mark.index + 1, rendered)
        last = value.value[-1]
        end = _end(text, last, _floor(value, len(value.value) - 1))
        return Edit(end, end, _flow_separator(value, last, style) + rendered)
    dash = value.start_mark.column
    first = value.value[0]
    item_offset = first.start_mark.column - dash if isinstance(first, MappingNode) else style.item_offset
    at = _line_after(text, _end(text, value.value[-1], _floor(value, len(value.value) - 1)))
    block = "".join(_block_item(i, dash, item_offset, style) for i in items)
    return _at_line(text, at, block, style)


def _new_key(
    text: str,
    *,
    mapping: MappingNode,
    key: str,
    items: Sequence[Mapping[str, str]],
    style: Style,
    json_style: bool,
    within: Sequence[str] = (),
) -> Edit:
    names = [scalar(k, json_style=json_style) for k in (*within, key)]
    if mapping.flow_style:
        flow = "[" + ", ".join(flow_item(i, json_style=json_style) for i in items) + "]"
        for name in reversed(names):
            flow = f"{{{name}: {flow}}}"
        flow = flow[1:-1]  # the outermost key goes into this mapping itself
        if not mapping.value:
            return Edit(mapping.start_mark.index + 1, mapping.start_mark.index + 1, flow)
        last_key, last_value = mapping.value[-1]
        end = _end(text, last_value, last_key.end_mark.index)
        return Edit(end, end, _flow_separator(mapping, last_key, style) + flow)
    if not mapping.value:
        raise InputError(f"line {line_of(mapping)}: cannot add {key} to an empty block mapping")
    column = mapping.value[0][0].start_mark.column
    last_key, last_value = mapping.value[-1]
    at = _line_after(text, _end(text, last_value, last_key.end_mark.index))
    block = ""
    for depth, name in enumerate(names):
        block += " " * (column + depth * style.mapping_indent) + f"{name}:{style.newline}"
    dash = column + (len(names) - 1) * style.mapping_indent + style.sequence_offset
    block += "".join(_block_item(i, dash, style.item_offset, style) for i in items)
    return _at_line(text, at, block, style)


def _flow_separator(collection: Node, last: Node, style: Style) -> str:
    """`, ` on one line; in a flow collection written over several lines, a new line like the last one's."""
    if last.start_mark.line == collection.start_mark.line:
        return ", "
    return "," + style.newline + " " * int(last.start_mark.column)


def _block_item(item: Mapping[str, str], dash: int, item_offset: int, style: Style) -> str:
    lines = []
    for index, (k, v) in enumerate(item.items()):
        lead = " " * dash + "-" + " " * (item_offset - 1) if index == 0 else " " * (dash + item_offset)
        lines.append(f"{lead}{scalar(k, json_style=False)}: {scalar(v, json_style=False)}{style.newline}")
    return "".join(lines)


def _at_line(text: str, at: int, block: str, style: Style) -> Edit:
    if at == len(text) and text and not text.endswith("\n"):
        block = style.newline + block.removesuffix(style.newline)
    return Edit(at, at, block)


def _json_style(mapping: MappingNode) -> bool:
    """A mapping whose keys are double-quoted is JSON (or written like it): keep writing it so."""
    return bool(mapping.value) and getattr(mapping.value[0][0], "style", None) == '"'


def _floor(sequence: SequenceNode, index: int) -> int:
    """Where item `index` of a sequence can start at the earliest (to tell an alias from a node)."""
    if index == 0:
        return int(sequence.start_mark.index)
    previous = sequence.value[index - 1]
    return _end_plain(previous) if previous.start_mark.index >= sequence.start_mark.index else 0


def _end_plain(node: Node) -> int:
    return int(node.end_mark.index)


def _end(text: str, node: Node, floor: int) -> int:
    """Where the text of `node` ends, written at or after `floor`.

    A node that starts before `floor` is an alias (`*name`): the composer hands back the anchored node,
    whose marks are elsewhere, so the alias token itself is found in the text.
    """
    if node.start_mark.index < floor:
        match = _ALIAS.search(text, floor)
        if match is None:  # cannot happen for text the composer accepted
            raise InputError(f"line {line_of(node)}: cannot place an edit after this alias")
        return match.end()
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        last_key, last_value = node.value[-1]
        return _end(text, last_value, last_key.end_mark.index)
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _end(text, node.value[-1], _floor(node, len(node.value) - 1))
    return int(node.end_mark.index)


def _line_after(text: str, index: int) -> int:
    """The start of the line after the one `index` is on (`index` itself if it starts a line)."""
    if index == 0 or text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def apply(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits (from the end backwards, so earlier positions stay valid)."""
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text
