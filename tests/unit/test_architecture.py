"""Layer rules of style.md: `core` is pure (stdlib and itself only, no clock, no floats), and the
public API lists only what exists."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import medsettle

CORE = Path(medsettle.__file__).parent / "core"
CORE_FILES = sorted(CORE.rglob("*.py"))
CLOCK_CALLS = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("time", "time"),
               ("datetime", "today")}


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(module: ast.Module) -> list[tuple[int, str]]:
    """(line, module name) for every import; relative imports count as medsettle.core."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            name = "medsettle.core" if node.level else (node.module or "")
            found.append((node.lineno, name))
    return found


def allowed_in_core(name: str) -> bool:
    top = name.split(".")[0]
    return (top == "__future__" or top in sys.stdlib_module_names
            or name == "medsettle.core" or name.startswith("medsettle.core."))


def called_names(module: ast.Module) -> list[tuple[int, str, str]]:
    """(line, owner, attribute) for calls such as `date.today()` or `datetime.datetime.now()`."""
    calls = []
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = (owner.id if isinstance(owner, ast.Name)
                          else owner.attr if isinstance(owner, ast.Attribute) else "")
            calls.append((node.lineno, owner_name, node.func.attr))
    return calls


def test_core_has_modules_to_check() -> None:
    names = {p.name for p in CORE_FILES}
    assert {"benefits.py", "cases.py", "catalogue.py", "lines.py", "policy.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=[p.name for p in CORE_FILES])
def test_core_imports_only_the_standard_library_and_itself(path: Path) -> None:
    bad = [(line, name) for line, name in imported_modules(tree(path))
           if not allowed_in_core(name)]
    assert bad == [], f"{path.name} imports outside stdlib/medsettle.core: {bad}"


@pytest.mark.parametrize("path", CORE_FILES, ids=[p.name for p in CORE_FILES])
def test_core_never_reads_the_clock(path: Path) -> None:
    bad = [(line, f"{owner}.{attr}") for line, owner, attr in called_names(tree(path))
           if (owner, attr) in CLOCK_CALLS]
    assert bad == [], f"{path.name} reads the clock: {bad}"


@pytest.mark.parametrize("path", CORE_FILES, ids=[p.name for p in CORE_FILES])
def test_core_never_converts_to_float(path: Path) -> None:
    bad = [node.lineno for node in ast.walk(tree(path))
           if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
           and node.func.id == "float"]
    assert bad == [], f"{path.name} calls float() on lines {bad}"


def test_the_checks_would_catch_a_violation() -> None:
    sample = ast.parse("import yaml\nfrom datetime import date\nfrom . import money\n"
                       "x = date.today()\ny = float('1.5')\nz = datetime.datetime.now()\n")
    assert [name for _, name in imported_modules(sample) if not allowed_in_core(name)] == ["yaml"]
    assert {(o, a) for _, o, a in called_names(sample)} & CLOCK_CALLS == {
        ("date", "today"), ("datetime", "now")}


def test_the_public_api_lists_only_names_that_exist() -> None:
    assert medsettle.__all__, "medsettle.__all__ is empty"
    assert len(set(medsettle.__all__)) == len(medsettle.__all__)
    missing = [name for name in medsettle.__all__ if not hasattr(medsettle, name)]
    assert missing == []
    assert medsettle.__version__ == "0.1.0"


PACKAGE = Path(medsettle.__file__).parent
SERVICES_FILES = sorted((PACKAGE / "services").glob("*.py"))
FRAMEWORKS = ("fastapi", "starlette", "httpx", "sqlalchemy", "uvicorn", "alembic", "psycopg")


@pytest.mark.parametrize("path", SERVICES_FILES, ids=[p.name for p in SERVICES_FILES])
def test_services_import_no_web_http_or_database_framework(path: Path) -> None:
    bad = [(line, name) for line, name in imported_modules(tree(path))
           if name.split(".")[0] in FRAMEWORKS or name.startswith("medsettle.adapters")]
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "sim").glob("*.py")),
                         ids=lambda p: p.name)
def test_the_simulator_imports_no_adapter(path: Path) -> None:
    bad = [(line, name) for line, name in imported_modules(tree(path))
           if name.startswith("medsettle.adapters")]
    assert bad == [], f"{path.name} imports {bad}"


def module_imports() -> dict[str, set[str]]:
    """Every medsettle module → the medsettle modules it imports (TYPE_CHECKING ones too)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(("medsettle", *path.relative_to(PACKAGE).with_suffix("").parts))
        name = name.removesuffix(".__init__")
        targets = set()
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module.startswith("medsettle"):
                    targets.add(node.module)
                    targets.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("medsettle"))
        graph[name] = targets
    return {name: {t for t in targets if t in graph and t != name}
            for name, targets in graph.items()}


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = module_imports()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                todo.extend(graph.get(here, ()))
        return False
    cycles = sorted((a, b) for a, targets in graph.items() for b in targets
                    if a < b and reaches(b, a))
    assert cycles == []


def blocking_calls(function: ast.AsyncFunctionDef) -> list[int]:
    """Lines where an async function itself (not a function it defines) opens a transaction or
    runs SQL: that would block the event loop of every request of the node."""
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr in ("tx", "execute", "connect")):
                found.append(child.lineno)
            visit(child)
    visit(function)
    return found


ADAPTER_FILES = sorted((PACKAGE / "adapters").rglob("*.py"))


@pytest.mark.parametrize("path", ADAPTER_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_async_route_calls_the_database_on_the_event_loop(path: Path) -> None:
    bad = [(node.name, line) for node in ast.walk(tree(path))
           if isinstance(node, ast.AsyncFunctionDef) for line in blocking_calls(node)]
    assert bad == []
