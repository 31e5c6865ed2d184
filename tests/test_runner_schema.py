"""action.yml as GitHub's runner loads it, and every `uses:` of our workflows and of the README as the
runner parses it.

The runner reads action.yml against its own template schema (actions/runner
src/Runner.Worker/action_yaml.json, copied in tests/data/runner/ with its commit) before the action
starts. Each field's definition lists the contexts (named values) and functions that a `${{ }}`
expression in it may name: `runs.args` and `runs.env` only `inputs`, an input's `default` `github`,
`runner`, `hashFiles()` and a few more, a field whose definition lists none no expression at all.
Anything else and the step fails: "Unrecognized named-value: 'github' ... Failed to load action.yml".

`Reader` walks a YAML file by that schema the way the runner's TemplateReader does
(src/Sdk/WorkflowParser/ObjectTemplating/TemplateReader.cs, with TemplateSchema.cs for built-in types
and one-of): the allowed contexts add up from parent to child definition, a one-of mapping narrows
with each key it holds and must end with one candidate, unknown keys are errors unless the mapping is
loose. So a field added to action.yml later is checked by whatever definition the schema gives it.
`expression_error` lexes an expression as src/Sdk/Expressions/Tokens/LexicalAnalyzer.cs does, far
enough to find its named values and function calls (with their parameter counts), and checks them as
ExpressionToken.IsValidExpression does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_workflows import readme_workflows, shipped_workflows, steps_of

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "tests" / "data" / "runner" / "action_yaml.json"
SCHEMA_COMMIT = "258d6c857db3519913f7deb6004b60172f8043ae"  # actions/runner
SCHEMA_BLOB = "ccb9d2eb45806b796f59c19d1c4dfc6eaeaee5ad"  # src/Runner.Worker/action_yaml.json there

# --- the schema (TemplateSchema.cs) ---------------------------------------------------------------

STRUCTURES = ("null", "boolean", "number", "string", "sequence", "mapping", "one-of")
SCALARS = ("null", "boolean", "number", "string")
# the keys each structure may hold, as far as this reader understands them: a schema that uses any
# other fails loudly here instead of being half read
STRUCTURE_KEYS = {
    "null": set(),
    "boolean": set(),
    "number": set(),
    "string": {"constant", "ignore-case", "require-non-empty"},
    "sequence": {"item-type"},
    "mapping": {"properties", "loose-key-type", "loose-value-type"},
}
BUILTINS: dict[str, dict[str, Any]] = {
    "null": {"null": {}},
    "boolean": {"boolean": {}},
    "number": {"number": {}},
    "string": {"string": {}},
    "sequence": {"sequence": {"item-type": "any"}},
    "mapping": {"mapping": {"loose-key-type": "string", "loose-value-type": "any"}},
    "any": {"one-of": ["null", "boolean", "number", "string", "sequence", "mapping"]},
}


def load_schema(path: Path = SCHEMA_FILE) -> dict[str, dict[str, Any]]:
    """The definitions of a schema file, the built-in types added, each checked to be one this
    reader understands (one structure, known keys, every referenced definition present)."""
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    assert set(document) <= {"version", "definitions"}, set(document)
    definitions: dict[str, dict[str, Any]] = document["definitions"]
    assert not set(definitions) & set(BUILTINS), "a schema may not redefine a built-in type"
    schema = {**BUILTINS, **definitions}
    for name, definition in definitions.items():
        unknown = set(definition) - {"description", "context", *STRUCTURES}
        assert not unknown, f"{name}: {sorted(unknown)}, which this reader does not read"
        structures = [key for key in STRUCTURES if key in definition]
        assert len(structures) == 1, f"{name}: {structures}"
        structure = structures[0]
        referenced: list[str] = []
        if structure == "one-of":
            referenced = list(definition["one-of"])
        else:
            spec = definition[structure]
            unknown = set(spec) - STRUCTURE_KEYS[structure]
            assert not unknown, f"{name}.{structure}: {sorted(unknown)}, which this reader does not read"
            referenced += [
                spec[key] for key in ("item-type", "loose-key-type", "loose-value-type") if key in spec
            ]
            for value in spec.get("properties", {}).values():
                assert isinstance(value, str) or set(value) <= {"type", "required", "description"}, value
                referenced.append(property_type(value))
        for reference in referenced:
            assert reference in schema, f"{name} names {reference}, which the schema does not define"
    return schema


def property_type(value: str | Mapping[str, Any]) -> str:
    return value if isinstance(value, str) else str(value["type"])


def property_required(value: str | Mapping[str, Any]) -> bool:
    return not isinstance(value, str) and bool(value.get("required"))


# --- expressions (LexicalAnalyzer.cs, ExpressionParser.cs, ExpressionConstants.cs) ----------------

# the functions every expression may call, case-insensitive, with their parameter counts
WELL_KNOWN_FUNCTIONS = {
    "case": (3, 255),
    "contains": (2, 2),
    "endswith": (2, 2),
    "format": (1, 255),
    "join": (1, 2),
    "startswith": (2, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
}
CONTEXT_FUNCTION = re.compile(r"^([a-zA-Z0-9_]+)\(([0-9]+),([0-9]+|MAX)\)$")  # "hashFiles(1,255)"
KEYWORD = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")
NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$")
BOUNDARY = set("([)],.!><=&|")
TWO_CHARACTER_OPERATORS = {"!=", ">=", "<=", "==", "&&", "||"}
LITERALS = {"null": "null", "true": "boolean", "false": "boolean", "NaN": "number", "Infinity": "number"}

# which token may follow which (LexicalAnalyzer.CreateToken); None: the first token
VALUE_START: set[str | None] = {
    None,
    "separator",
    "start-group",
    "start-parameters",
    "start-index",
    "logical-operator",
}
AFTER_OPERAND: set[str | None] = {
    "end-group",
    "end-parameters",
    "end-index",
    "wildcard",
    "property-name",
    "named-value",
}
OPERAND_END = AFTER_OPERAND | {"null", "boolean", "number", "string"}
LEGAL_AFTER: dict[str, set[str | None]] = {
    "start-group": VALUE_START,
    "start-index": AFTER_OPERAND,
    "start-parameters": {"function"},
    "end-group": OPERAND_END,
    "end-index": OPERAND_END,
    "end-parameters": OPERAND_END | {"start-parameters"},
    "separator": OPERAND_END,
    "dereference": AFTER_OPERAND,
    "wildcard": {"start-index", "dereference"},
    "not": VALUE_START,
    "logical-operator": OPERAND_END,
    "null": VALUE_START,
    "boolean": VALUE_START,
    "number": VALUE_START,
    "string": VALUE_START,
    "property-name": {"dereference"},
    "function": VALUE_START,
    "named-value": VALUE_START,
}
CLOSES = {"end-group": "start-group", "end-index": "start-index", "end-parameters": "start-parameters"}


@dataclass(frozen=True)
class Token:
    kind: str
    raw: str
    index: int


def lex(expression: str) -> Iterator[Token]:
    """The expression's tokens; an illegal one comes as kind "unexpected" and ends the stream."""
    index, last = 0, None
    unclosed: list[str] = []
    while True:
        while index < len(expression) and expression[index].isspace():
            index += 1
        if index >= len(expression):
            if unclosed:
                yield Token("unclosed", "", index)
            return
        start, c = index, expression[index]
        if c in "([)],*":
            index += 1
            kind = {"[": "start-index", "]": "end-index", ",": "separator", "*": "wildcard"}.get(c, "")
            if c == "(":
                kind = "start-parameters" if last is not None and last.kind == "function" else "start-group"
            elif c == ")":
                kind = "end-parameters" if unclosed and unclosed[-1] == "start-parameters" else "end-group"
        elif c == "'":
            index += 1
            kind = "unexpected"
            while index < len(expression):
                index += 1
                if expression[index - 1] == "'":
                    if index < len(expression) and expression[index] == "'":
                        index += 1  # an escaped quote: ''
                        continue
                    kind = "string"
                    break
        elif c in "!><=&|":
            if expression[index : index + 2] in TWO_CHARACTER_OPERATORS:
                index, kind = index + 2, "logical-operator"
            elif c in "!><":
                index, kind = index + 1, "logical-operator"
            else:
                index = _boundary(expression, index + 1)
                kind = "unexpected"
        elif (c == "." and (last is None or last.kind in VALUE_START - {None})) or c in "-+0123456789":
            index += 1
            while index < len(expression) and (expression[index] not in BOUNDARY or expression[index] == "."):
                if expression[index].isspace():
                    break
                index += 1
            kind = "number" if NUMBER.match(expression[start:index]) else "unexpected"
        elif c == ".":
            index, kind = index + 1, "dereference"
        else:
            index = _boundary(expression, index + 1)
            word = expression[start:index]
            if not KEYWORD.match(word):
                kind = "unexpected"
            elif last is not None and last.kind == "dereference":
                kind = "property-name"
            elif word in LITERALS:
                kind = LITERALS[word]
            else:
                ahead = index
                while ahead < len(expression) and expression[ahead].isspace():
                    ahead += 1
                kind = "function" if expression[ahead : ahead + 1] == "(" else "named-value"
        raw = expression[start:index]
        rule = "not" if (kind, raw) == ("logical-operator", "!") else kind
        if kind != "unexpected" and (last.kind if last else None) not in LEGAL_AFTER[rule]:
            kind = "unexpected"
        if kind in CLOSES or kind == "separator":
            opener = CLOSES.get(kind, "start-parameters")
            if not unclosed or unclosed[-1] != opener:
                kind = "unexpected"
            elif kind != "separator":
                unclosed.pop()
        elif kind.startswith("start-"):
            unclosed.append(kind)
        last = Token(kind, raw, start)
        yield last
        if kind == "unexpected":
            return


def _boundary(expression: str, index: int) -> int:
    while index < len(expression) and expression[index] not in BOUNDARY and not expression[index].isspace():
        index += 1
    return index


@dataclass
class _Call:
    name: str  # "" for a group or an index
    separators: int = 0
    empty: bool = True


def expression_error(expression: str, allowed: Sequence[str]) -> str | None:
    """Why the runner refuses the expression where `allowed` are the contexts; None: it does not."""
    named = {item.lower() for item in allowed if not CONTEXT_FUNCTION.match(item)}
    functions = dict(WELL_KNOWN_FUNCTIONS)
    for item in allowed:
        match = CONTEXT_FUNCTION.match(item)
        if match:
            maximum = 2**31 - 1 if match[3] == "MAX" else int(match[3])
            functions[match[1].lower()] = (int(match[2]), maximum)
    frames: list[_Call] = []
    last: Token | None = None
    for token in lex(expression):
        problem = token_problem(token, last, named, functions, frames)
        if problem:
            return f"{problem}. Located at position {token.index + 1} within expression: {expression}"
        last = token
    if last is not None and last.kind in {"logical-operator", "dereference", "function"}:
        return f"Unexpected end of expression: '{last.raw}'. Located within expression: {expression}"
    return None


def token_problem(
    token: Token,
    last: Token | None,
    named: set[str],
    functions: Mapping[str, tuple[int, int]],
    frames: list[_Call],
) -> str | None:
    """What is wrong with one token where it stands (ExpressionParser.CreateTree's checks), keeping
    count of each open call's parameters in `frames`."""
    problem = None
    if token.kind == "unexpected":
        problem = f"Unexpected symbol: '{token.raw}'"
    elif token.kind == "unclosed":
        problem = f"Unexpected end of expression: '{last.raw if last else ''}'"
    elif token.kind == "function" and token.raw.lower() not in functions:
        problem = f"Unrecognized function: '{token.raw}'"
    elif token.kind == "named-value" and token.raw.lower() not in named:
        problem = f"Unrecognized named-value: '{token.raw}'"
    elif token.kind in CLOSES:
        frame = frames.pop()
        if token.kind == "end-parameters":
            count = 0 if frame.empty else frame.separators + 1
            low, high = functions[frame.name.lower()]
            if count < low:
                problem = f"Too few parameters supplied: '{frame.name}'"
            elif count > high:
                problem = f"Too many parameters supplied: '{frame.name}'"
            elif frame.name.lower() == "case" and count % 2 == 0:
                problem = "Function 'case' requires an odd number of parameters"
    elif token.kind == "separator":
        frames[-1].separators += 1
    else:
        if frames:
            frames[-1].empty = False
        if token.kind.startswith("start-"):
            frames.append(_Call(last.raw if token.kind == "start-parameters" and last else ""))
    return problem


# --- the template reader (TemplateReader.cs) ------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    kind: str  # null, boolean, number, string
    text: str

    @property
    def string(self) -> str:
        """The value as a string token holds it when the reader converts it."""
        return "" if self.kind == "null" else self.text


@dataclass(frozen=True)
class Expression:
    text: str
    directive: str = ""


Scalar = Literal | Expression

NULLS = {"", "~", "null", "Null", "NULL"}
BOOLEANS = {"true", "True", "TRUE", "false", "False", "FALSE"}
CORE_NUMBER = re.compile(
    r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)


def literal_of(node: yaml.ScalarNode) -> Literal:
    """A YAML scalar typed as the runner's YamlObjectReader types it: plain scalars by the YAML 1.2
    core schema (so `yes` and `on` stay strings), any quoted or block scalar a string."""
    text = str(node.value)
    if node.style is None:
        if text in NULLS:
            return Literal("null", text)
        if text in BOOLEANS:
            return Literal("boolean", text.lower())
        if CORE_NUMBER.match(text):
            return Literal("number", text)
    return Literal("string", text)


@dataclass(frozen=True)
class Info:
    """A definition and the contexts allowed in it (DefinitionInfo): its own `context`, added to its
    parent's."""

    name: str
    definition: Mapping[str, Any]
    allowed: tuple[str, ...]


@dataclass
class Reader:
    schema: Mapping[str, Mapping[str, Any]]
    errors: list[str] = field(default_factory=list)

    def read_text(self, text: str, root: str = "action-root") -> list[str]:
        node = yaml.compose(text, Loader=yaml.BaseLoader)  # nodes keep their style; no types resolved
        assert node is not None, "an empty file"
        self.read(node, self.info(root, None), "")
        return self.errors

    def info(self, name: str, parent: Info | None) -> Info:
        definition = self.schema[name]
        own = tuple(definition.get("context", ()))
        if parent is None:
            allowed = own
        elif own:
            seen = {item.lower() for item in parent.allowed}
            allowed = parent.allowed + tuple(item for item in own if item.lower() not in seen)
        else:
            allowed = parent.allowed
        return Info(name, definition, allowed)

    def structures(self, info: Info, kind: str) -> list[Mapping[str, Any]]:
        """The definition's specs of one kind, looking one level into a one-of (TemplateSchema.Get)."""
        if kind in info.definition:
            return [info.definition[kind]]
        return [
            self.schema[ref][kind] for ref in info.definition.get("one-of", ()) if kind in self.schema[ref]
        ]

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where or '(root)'}: {message}")

    def read(self, node: yaml.Node, info: Info, where: str) -> None:
        if isinstance(node, yaml.ScalarNode):
            self.validate(self.scalar(literal_of(node), info.allowed, where), info, where)
        elif isinstance(node, yaml.SequenceNode):
            sequences = self.structures(info, "sequence")
            if not sequences:
                self.error(where, "A sequence was not expected")
                return
            item = self.info(sequences[0]["item-type"], info)
            for number, child in enumerate(node.value):
                self.read(child, item, f"{where}[{number}]")
        elif isinstance(node, yaml.MappingNode):
            mappings = self.structures(info, "mapping")
            if not mappings:
                self.error(where, "A mapping was not expected")
            elif len(mappings) > 1 or mappings[0].get("properties") or not mappings[0].get("loose-key-type"):
                self.well_known(node, info, list(mappings), where)
            else:
                self.all_loose(node, info, mappings[0], where)

    def scalar(self, literal: Literal, allowed: Sequence[str], where: str) -> Scalar:
        """A string holding `${{ }}` split into its expressions, each checked against `allowed`
        (TemplateReader.ParseScalar); on an error, the literal as it was."""
        raw = literal.text
        start = raw.find("${{") if literal.kind == "string" else -1
        if start < 0:
            return literal
        segments: list[Scalar] = []
        index = 0
        while index < len(raw):
            if index == start:
                end, in_string = -1, False
                index += 3
                while index < len(raw):
                    if raw[index] == "'":
                        in_string = not in_string  # '' (an escaped quote) toggles twice
                    elif not in_string and raw[index] == "}" and raw[index - 1] == "}":
                        end = index
                        index += 1
                        break
                    index += 1
                if end < start:
                    self.error(
                        where,
                        "The expression is not closed. An unescaped ${{ sequence was found, "
                        "but the closing }} sequence was not found.",
                    )
                    return literal
                expression, problem = parse_expression(raw[start + 3 : end - 1], allowed)
                if problem:
                    self.error(where, problem)
                    return literal
                assert expression is not None
                if expression.directive and (start != 0 or index < len(raw)):
                    self.error(where, f"The directive '{expression.directive}' is not allowed inline")
                    return literal
                segments.append(expression)
                start = raw.find("${{", index)
            elif start > index:
                segments.append(Literal("string", raw[index:start]))
                index = start
            else:
                segments.append(Literal("string", raw[index:]))
                break
        if len(segments) == 1 and isinstance(segments[0], Expression):
            text = expression_string(segments[0].text)
            return segments[0] if text is None else Literal("string", text)
        return Expression(" ".join(s.text for s in segments if isinstance(s, Expression)))

    def validate(self, scalar: Scalar, info: Info, where: str) -> None:
        """A literal must match one of the definition's scalar kinds (a non-string also as a string);
        an expression needs a definition that allows some context (TemplateReader.Validate)."""
        if isinstance(scalar, Expression):
            if scalar.directive:
                self.error(where, f"Unexpected value '${{{{ {scalar.text} }}}}'")
            elif not info.allowed:
                self.error(where, "A template expression is not allowed in this context")
            return
        for kind in SCALARS:
            for spec in self.structures(info, kind):
                if kind == scalar.kind and (kind != "string" or string_matches(spec, scalar.text)):
                    return
        if scalar.kind != "string" and any(
            string_matches(spec, scalar.string) for spec in self.structures(info, "string")
        ):
            return
        self.error(where, f"Unexpected value '{scalar.string}'")

    def key(self, node: yaml.Node, info: Info, where: str) -> Scalar | None:
        if not isinstance(node, yaml.ScalarNode):
            self.error(where, "A mapping key must be a scalar")
            return None
        return self.scalar(literal_of(node), info.allowed, where)

    def well_known(
        self, node: yaml.MappingNode, info: Info, mappings: list[Mapping[str, Any]], where: str
    ) -> None:
        """Properties first, then loose keys if the first mapping takes them; a one-of narrows to the
        mappings that hold each key met, and must end with one (HandleMappingWithWellKnownProperties)."""
        loose_key, loose_value = mappings[0].get("loose-key-type"), mappings[0].get("loose-value-type")
        keys: set[str] = set()
        expression_key = False
        for key_node, value_node in node.value:
            key = self.key(key_node, info, where)
            if key is None:
                continue
            if isinstance(key, Expression):
                expression_key = True
                if info.allowed:
                    self.read(value_node, self.info("any", info), f"{where}[{key.text}]")
                else:
                    self.error(where, "A template expression is not allowed in this context")
                continue
            name, at = key.string, f"{where}.{key.string}" if where else key.string
            if name.lower() in keys:
                self.error(at, f"'{name}' is already defined")
                continue
            keys.add(name.lower())
            holding = [m for m in mappings if name in m.get("properties", {})]
            if holding:
                mappings[:] = holding
                self.read(value_node, self.info(property_type(holding[0]["properties"][name]), info), at)
            elif loose_key and loose_value:
                self.validate(Literal("string", name), self.info(loose_key, info), at)
                self.read(value_node, self.info(loose_value, info), at)
            else:
                self.error(at, f"Unexpected value '{name}'")
        if len(mappings) > 1:
            counts = Counter(key for m in mappings for key in m.get("properties", {}))
            telling = ", ".join(sorted(key for key, count in counts.items() if count == 1))
            self.error(
                where,
                "There's not enough info to determine what you meant. "
                f"Add one of these properties: {telling}",
            )
        elif not expression_key:
            for name, value in mappings[0].get("properties", {}).items():
                if property_required(value) and name.lower() not in keys:
                    self.error(where, f"Required property is missing: {name}")

    def all_loose(self, node: yaml.MappingNode, info: Info, mapping: Mapping[str, Any], where: str) -> None:
        """Every key of the loose key type, every value of the loose value type
        (HandleMappingWithAllLooseProperties)."""
        key_info = self.info(mapping["loose-key-type"], info)
        value_info = self.info(mapping["loose-value-type"], info)
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = self.key(key_node, info, where)
            if key is None:
                continue
            if isinstance(key, Expression):
                if info.allowed:
                    self.read(value_node, value_info, f"{where}[{key.text}]")
                else:
                    self.error(where, "A template expression is not allowed in this context")
                continue
            at = f"{where}.{key.string}" if where else key.string
            if key.string.lower() in keys:
                self.error(at, f"'{key.string}' is already defined")
                continue
            keys.add(key.string.lower())
            self.validate(key, key_info, at)
            self.read(value_node, value_info, at)


def string_matches(spec: Mapping[str, Any], value: str) -> bool:
    constant = str(spec.get("constant") or "")
    if constant:
        return value.lower() == constant.lower() if spec.get("ignore-case") else value == constant
    return bool(value) or not spec.get("require-non-empty")


def parse_expression(text: str, allowed: Sequence[str]) -> tuple[Expression | None, str | None]:
    """An expression's body (between `${{` and `}}`): the `insert` directive, or an expression whose
    named values and functions `allowed` holds (TemplateReader.ParseExpression)."""
    trimmed = text.strip()
    if not trimmed:
        return None, "An expression was expected"
    if re.match(r"^insert(\s|$)", trimmed):
        parameters = trimmed.split()[1:]
        if parameters:
            return (
                None,
                "Exactly 0 parameters were expected following the directive 'insert'. "
                f"Actual: {len(parameters)}",
            )
        return Expression(trimmed, directive="insert"), None
    problem = expression_error(trimmed, allowed)
    return (None, problem) if problem else (Expression(trimmed), None)


def expression_string(trimmed: str) -> str | None:
    """The value of an expression that is only a string literal (`${{ '{{ x }}' }}`), else None
    (TemplateReader.IsExpressionString)."""
    if not trimmed.startswith("'"):
        return None
    value, in_string = [], False
    for index, c in enumerate(trimmed):
        if c == "'":
            in_string = not in_string
            if in_string and index != 0:
                value.append(c)
        elif not in_string:
            return None
        else:
            value.append(c)
    return "".join(value)


def action_errors(text: str) -> list[str]:
    return Reader(load_schema()).read_text(text)


ACTION = (REPO / "action.yml").read_text()


# --- action.yml -----------------------------------------------------------------------------------


def test_action_yml_loads_as_the_runner_reads_it() -> None:
    assert action_errors(ACTION) == []


def test_the_schema_copy_is_the_runners_and_gives_each_field_its_contexts() -> None:
    """The copy is read whole (load_schema refuses a key it does not understand), and the reader
    derives from it the rules action.yml must keep: args and env only inputs, a default the job's
    contexts."""
    schema = load_schema()
    reader = Reader(schema)
    root = reader.info("action-root", None)
    runs = [reader.info(name, root) for name in schema["runs"]["one-of"]]
    container = next(info for info in runs if "image" in info.definition["mapping"]["properties"])
    args = reader.info(container.definition["mapping"]["properties"]["args"], container)
    item = reader.info(args.definition["sequence"]["item-type"], args)
    env = reader.info(container.definition["mapping"]["properties"]["env"], container)
    value = reader.info(env.definition["mapping"]["loose-value-type"], env)
    assert item.allowed == ("inputs",) and value.allowed == ("inputs",)
    inputs = reader.info(schema["action-root"]["mapping"]["properties"]["inputs"], root)
    one = reader.info(inputs.definition["mapping"]["loose-value-type"], inputs)
    default = reader.info(one.definition["mapping"]["properties"]["default"], one)
    assert set(default.allowed) == {"github", "strategy", "matrix", "job", "runner", "hashFiles(1,255)"}
    # byte for byte the runner's file at the commit its README names: the blob id git gives it there
    data = SCHEMA_FILE.read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    assert blob == SCHEMA_BLOB
    assert SCHEMA_COMMIT in (SCHEMA_FILE.parent / "README.md").read_text()


def test_the_old_args_are_refused() -> None:
    """`${{ github.workspace }}` in runs.args: what the runner refused to load."""
    old = ACTION.replace("    - ${{ inputs.workspace }}\n", "    - ${{ github.workspace }}\n")
    assert old != ACTION
    errors = action_errors(old)
    assert len(errors) == 1, errors
    assert errors[0].startswith("runs.args[1]: Unrecognized named-value: 'github'"), errors


def with_runs(runs: str) -> str:
    head, marker, _ = ACTION.partition("\nruns:\n")
    assert marker
    return f"{head}\nruns:\n{runs}"


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        # an unknown key of a docker action's runs
        (
            "  using: docker\n  image: Dockerfile\n  entrypoint-args: [x]\n",
            "runs.entrypoint-args: Unexpected value 'entrypoint-args'",
        ),
        # a key of another run kind: image narrows runs to a container action, which has no main
        ("  using: docker\n  image: Dockerfile\n  main: index.js\n", "runs.main: Unexpected value 'main'"),
        # using alone cannot tell which run kind is meant
        ("  using: docker\n", "runs: There's not enough info to determine what you meant"),
        (
            "  using: docker\n  image: Dockerfile\n  env:\n    A: ${{ env.HOME }}\n",
            "Unrecognized named-value: 'env'",
        ),
        (
            "  using: docker\n  image: Dockerfile\n  args: [\"${{ hashFiles('x') }}\"]\n",
            "function: 'hashFiles'",
        ),
        # image allows no context: an expression fails on its first named value, or else as such
        ("  using: docker\n  image: ${{ inputs.image }}\n", "runs.image: Unrecognized named-value: 'inputs'"),
        (
            "  using: docker\n  image: ${{ format('a{0}', 'b') }}\n",
            "runs.image: A template expression is not",
        ),
        ('  using: docker\n  image: Dockerfile\n  args: ["${{ inputs.a "]\n', "The expression is not closed"),
        ("  using: docker\n  image: Dockerfile\n  args: {a: b}\n", "runs.args: A mapping was not expected"),
        ("  using: docker\n  image: ''\n", "runs.image: Unexpected value ''"),
        ("  - using: docker\n", "runs: A sequence was not expected"),
    ],
)
def test_a_runs_the_runner_refuses_is_refused(runs: str, message: str) -> None:
    errors = action_errors(with_runs(runs))
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize(
    "runs",
    [
        '  using: docker\n  image: docker://alpine:3\n  args: ["--x=${{ inputs.a }}/${{ INPUTS.b }}"]\n',
        "  using: docker\n  image: Dockerfile\n  env:\n"
        "    A: ${{ format('{0}-{1}', inputs.a, toJSON(inputs)) }}\n",
        # a string literal names nothing; operators between named values
        "  using: docker\n  image: Dockerfile\n  args:\n"
        "    - ${{ 'github.workspace' }}\n    - ${{ inputs.a == 'x' && '1' || '2' }}\n",
        "  using: node20\n  main: index.js\n  post-if: always()\n",
        "  using: composite\n  steps:\n    - run: echo ${{ github.sha }}\n      shell: bash\n",
    ],
)
def test_a_runs_the_runner_loads_is_loaded(runs: str) -> None:
    assert action_errors(with_runs(runs)) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # a description is read as `any`, which allows no context: the runner parses the expression
        # with no named values at all
        (
            "  x:\n    description: set ${{ github.token }}\n",
            "inputs.x.description: Unrecognized named-value: 'github'",
        ),
        (
            "  x:\n    default: ${{ secrets.TOKEN }}\n",
            "inputs.x.default: Unrecognized named-value: 'secrets'",
        ),
        ("  x:\n    default: ${{ inputs.y }}\n", "inputs.x.default: Unrecognized named-value: 'inputs'"),
        ("  x:\n    default: ${{ contains(github.ref) }}\n", "Too few parameters supplied: 'contains'"),
        ("  x:\n    default: ${{ github.ref ) }}\n", "Unexpected symbol: ')'"),
        ("  x:\n    default: ${{ }}\n", "An expression was expected"),
        ("  x:\n    default: a\n    default: b\n", "'default' is already defined"),
    ],
)
def test_an_input_the_runner_refuses_is_refused(extra: str, message: str) -> None:
    text = ACTION.replace("\ninputs:\n", f"\ninputs:\n{extra}", 1)
    errors = action_errors(text)
    assert any(message in error for error in errors), errors


def test_an_input_default_may_name_the_jobs_contexts() -> None:
    extra = (
        "  x:\n    default: ${{ hashFiles('**/Dockerfile') }}-${{ runner.os }}-${{ matrix.v || job.status }}"
    )
    extra += "\n"
    assert action_errors(ACTION.replace("\ninputs:\n", f"\ninputs:\n{extra}", 1)) == []


def test_an_unknown_top_level_key_is_loose_and_outputs_are_strict() -> None:
    assert action_errors(ACTION + "x-anything:\n  nested: [1, true]\n") == []
    unknown = ACTION.replace(
        "\noutputs:\n", "\noutputs:\n  x:\n    description: d\n    value: v\n    when: never\n"
    )
    assert action_errors(unknown) == ["outputs.x.when: Unexpected value 'when'"]


@pytest.mark.parametrize(
    ("expression", "allowed", "problem"),
    [
        ("inputs.a", ["inputs"], None),
        ("inputs['runner-temp']", ["inputs"], None),
        ("github.event.commits[0].id", ["github"], None),
        ("github.*.x", ["github"], None),
        ("fromJSON('[1]')[0]", [], None),
        ("'github' == 'x'", [], None),
        ("!(inputs.a == 'x')", ["inputs"], None),
        ("1.5 > -2 && .5", [], None),
        ("hashFiles('a', 'b')", ["hashFiles(1,255)"], None),
        ("github.workspace", ["inputs"], "Unrecognized named-value: 'github'"),
        ("inputs.a && github.b", ["inputs"], "Unrecognized named-value: 'github'"),
        ("format('{0}', env.X)", ["inputs"], "Unrecognized named-value: 'env'"),
        ("hashFiles()", ["hashFiles(1,255)"], "Too few parameters"),
        ("toJSON(inputs, 1)", ["inputs"], "Too many parameters"),
        ("always()", ["inputs"], "Unrecognized function: 'always'"),
        ("inputs.a inputs.b", ["inputs"], "Unexpected symbol: 'inputs'"),
        ("inputs.a ==", ["inputs"], "Unexpected end of expression"),
        ("format('x'", [], "Unexpected end of expression"),
        ("(inputs.a   ", ["inputs"], "Unexpected end of expression"),
        ("inputs[0", ["inputs"], "Unexpected end of expression"),
        ("'unclosed", [], "Unexpected symbol"),
        ("inputs.a = 'x'", ["inputs"], "Unexpected symbol: '='"),
    ],
)
def test_expressions_are_checked_as_the_runner_parses_them(
    expression: str, allowed: list[str], problem: str | None
) -> None:
    found = expression_error(expression, allowed)
    assert (found is None) if problem is None else (found is not None and problem in found), found


# --- uses: (PipelineTemplateConverter.ConvertToStep) ----------------------------------------------


def uses_error(uses: str) -> str | None:
    """Why the runner cannot parse a step's `uses:`; None: it can.

    As actions/runner src/Sdk/DTPipelines/Pipelines/ObjectTemplating/PipelineTemplateConverter.cs
    (ConvertToStep) splits it: `docker://IMAGE`; `./PATH` (or `.\\PATH`), the workspace's checkout;
    `$/PATH`, this repository at the workflow's commit (PipelineConstants.TryParseSelfRepository: the
    prefix, then PATH with its leading slashes trimmed, which must not be empty, so `$/` alone falls
    through to the last form and fails); else `OWNER/REPO[/PATH]@REF`: one `@`, at least two
    non-empty path segments (split on / and \\), a non-empty ref.
    """
    if uses.startswith("docker://"):
        return None if uses[len("docker://") :] else "docker:// names no image"
    if uses.startswith(("./", ".\\")):
        return None
    if uses.startswith("$/") and uses[2:].lstrip("/"):
        return None
    parts = uses.split("@")
    segments = [s for s in re.split(r"[/\\]", parts[0]) if s]
    if len(parts) != 2 or len(segments) < 2 or not parts[1]:
        return f"Expected format {{org}}/{{repo}}[/path]@ref. Actual '{uses}'"
    return None


@pytest.mark.parametrize(
    "uses",
    [
        "./",
        "./.github/actions/x",
        ".\\x",
        "docker://alpine:3.20",
        "actions/checkout@v4",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "owner/repo/path/to/action@main",
        "$/path/to/action",
        "$//path",
    ],
)
def test_uses_forms_the_runner_parses(uses: str) -> None:
    assert uses_error(uses) is None


@pytest.mark.parametrize(
    "uses",
    ["$/", "$//", "owner@v1", "owner/repo", "owner/repo@", "owner/repo@a@b", "docker://", ".", "checkout"],
)
def test_uses_forms_the_runner_refuses(uses: str) -> None:
    assert uses_error(uses) is not None


@pytest.fixture(scope="module")
def readme(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return readme_workflows(tmp_path_factory.mktemp("readme") / ".github" / "workflows")


def test_every_uses_of_our_workflows_and_the_readme_parses(readme: list[Path]) -> None:
    seen = 0
    for path in [*shipped_workflows(), *readme]:
        workflow = yaml.safe_load(path.read_text())
        for job in workflow.get("jobs", {}).values():
            assert "uses" not in job, f"{path.name}: a reusable workflow call, which this test does not read"
        for step in steps_of(workflow):
            if "uses" in step:
                seen += 1
                problem = uses_error(str(step["uses"]))
                assert problem is None, f"{path.name}: {problem}"
    assert seen
