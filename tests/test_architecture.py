"""The package's shape, read from its source: no import circles, the action apart from the CLI's
commands, services that print nothing, and only the console writing to the terminal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "private_registries"
NAME = "private_registries"


def module_name(path: Path) -> str:
    parts = [NAME, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def imports(tree: ast.Module) -> set[str]:
    """Every module of the package this one imports, at its top or inside a function (lazily)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {name for name in found if name in MODULES and name != NAME}


GRAPH = {name: imports(tree) for name, tree in trees().items()}


def closure(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in GRAPH[todo.pop()] - seen:
            seen.add(child)
            todo.append(child)
    return seen


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in GRAPH[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in GRAPH[node]:
                found.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_package() -> None:
    assert {f"{NAME}.cli", f"{NAME}.keychain", f"{NAME}.services.build"} <= set(GRAPH)
    assert "private_registries.keychain" in GRAPH["private_registries.preflight"]  # edges are found


def test_no_import_circles() -> None:
    assert cycles() == []


def test_cycle_finder_finds_one() -> None:
    """The check itself can fail: a made-up circle is found."""
    saved = dict(GRAPH)
    try:
        GRAPH["private_registries.errors"] = {"private_registries.gha"}  # gha imports errors
        assert ["private_registries.errors", "private_registries.gha"] in cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_the_action_does_not_use_the_commands() -> None:
    for name in GRAPH:
        if name.startswith(f"{NAME}.action"):
            assert not {m for m in closure(name) if m.startswith(f"{NAME}.commands")}, name


FACES = ("console", "views", "commands", "action", "cli")
UNSEEN = {("os", "environ"), ("sys", "stdout"), ("sys", "stderr")}


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if n.startswith(f"{NAME}.services")))
def test_services_print_nothing_and_read_no_environment(name: str) -> None:
    reached = closure(name) | {name}
    faces = {m for m in reached if m.split(".")[1] in FACES}
    assert not faces, f"{name} reaches the faces: {sorted(faces)}"
    for module in reached:
        source = MODULES[module].read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in UNSEEN, f"{module}:{node.lineno}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "input"}, f"{module}:{node.lineno}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert "argparse" not in names, f"{module}:{node.lineno}"


def test_only_the_console_writes_to_the_terminal() -> None:
    for name, tree in trees().items():
        if name == f"{NAME}.console":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in {("sys", "stdout"), ("sys", "stderr")}, (
                    f"{name}:{node.lineno}"
                )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{name}:{node.lineno}"
