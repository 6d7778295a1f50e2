"""The code's layout: no import circle inside app/, domain packages of a size one person holds in mind,
each opening with a docstring that says what it owns and what it may call."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"


pytestmark = pytest.mark.one_pass("reads the source files")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in APP.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that runs (module level or inside functions), not those only for type checkers."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from app.services import audit" imports the module app.services.platform.audit
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                # importing a.b.c runs a and a.b first: a package's __init__ counts as imported too
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    dep = ".".join(parts[:i])
                    if dep in modules and dep != name:
                        graph[name].add(dep)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's __init__ importing its own modules is how packages work, not a circle of design."""
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_no_import_circle_inside_app() -> None:
    assert _cycles(_without_packages(_graph())) == []


def test_the_checker_finds_a_planted_circle() -> None:
    graph = _without_packages(_graph())
    graph["app.services.errors"] = {*graph["app.services.errors"], "app.services.storage"}
    assert any({"app.services.errors", "app.services.storage"} <= set(c) for c in _cycles(graph))


def test_service_packages_are_small_and_say_what_they_own() -> None:
    services = APP / "services"
    packages = [p for p in services.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert len(packages) >= 8
    for package in packages:
        modules = [p for p in package.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 10, f"{package.name} holds {len(modules)} modules"
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "may call:" in doc.lower(), (
            f"{package.name}/__init__.py must say what it owns and what it may call"
        )
    flat = [p for p in services.glob("*.py") if p.name != "__init__.py"]
    assert len(flat) <= 6, sorted(p.name for p in flat)


def test_calls_only_go_down_between_service_packages() -> None:
    """The packages' order in app/services/__init__.py is the direction of calls: none imports a later one."""
    import app.services

    order: list[str] = app.services.LAYERS
    graph = _graph()
    for module, deps in graph.items():
        if not module.startswith("app.services."):
            continue
        own = module.split(".")[2]
        for dep in deps:
            if not dep.startswith("app.services.") or dep.split(".")[2] == own:
                continue
            other = dep.split(".")[2]
            if own in order and other in order:
                assert order.index(other) < order.index(own), f"{module} calls up into {dep}"
