"""The layers hold (DESIGN.md, Layout): schemas <- service <- edge, hub; edge and hub never
import each other, and no module imports itself back through others (no import cycles, also
not through an import inside a function); no module over 400 lines."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "service", "edge", "hub")
MAY_NOT_IMPORT = {
    "schemas": {"service", "edge", "hub"},
    "service": {"edge", "hub"},
    "edge": {"hub"},
    "hub": {"edge"},
}


def modules() -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports when it runs, anywhere in its file (imports
    for the type checker only are left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from . import errors` imports the module errors
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def test_each_layer_imports_only_the_layers_below_it() -> None:
    known = modules()
    wrong = [
        f"{name} imports {target}"
        for name, path in known.items()
        for target in imports(name, path, known)
        if target.split(".")[0] in MAY_NOT_IMPORT[name.split(".")[0]]
    ]
    assert wrong == []


def test_no_import_cycles() -> None:
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    # a package's __init__ may import its own modules; a module that imports its own package
    # back (for a name the __init__ re-exports) is what makes a cycle, and is listed
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append([*trail[trail.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert cycles == []


def test_no_module_over_400_lines_and_the_median_is_small() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}
    assert statistics.median(sizes.values()) <= 150


def test_type_ignores_only_where_a_library_forces_them() -> None:
    """At most ten, each a library's doing (Jinja's gettext hook, WeasyPrint without types)."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in modules().values()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "type: ignore" in line
    ]
    assert len(found) <= 10, "\n".join(found)
