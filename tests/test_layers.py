"""The import graph: layers that run one way, and no cycles.

``registry/`` is packages by concept, each allowed to import only the packages before it in
``LAYERS`` (``base`` imports none of them); ``api/`` sits above them all. Every import counts,
at module level or inside a function, because an import hidden in a function is still an edge
a reader has to follow; one under ``TYPE_CHECKING`` (annotations only, never run) counts for
the layers but not for cycles. docs/architecture.md draws the same map.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry"
FORBIDDEN = {"api", "fastapi", "starlette", "uvicorn", "click", "typer", "rich", "jinja2"}

# Lowest first. Packages on one line are side by side: neither imports the other.
LAYERS = [
    {"base"},
    {"store", "submissions"},
    {"shacl", "proof", "query"},
    {"kernel"},
    {"trust"},
    {"messaging"},
    {"assets", "rules"},
    {"markets"},
    {"publishing"},
    {"assembly"},  # registry/assembly.py: the kernel with every feature plugged in
    {"operations"},  # backup and restore open the assembled registry
]
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def typing_only_lines(tree: ast.Module) -> set[int]:
    """The lines of imports made only for type checkers (``if TYPE_CHECKING:``)."""
    return {
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        for inner in ast.walk(child)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }


def imports(path: Path, run_time_only: bool = False) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, with the line: absolute names, relative ones resolved
    (``run_time_only``: leaving out those under ``TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = typing_only_lines(tree) if run_time_only else set()
    package = module_name(path).split(".") if path.is_relative_to(ROOT) else []
    if package and path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for top in ("registry", "api")
        for p in (ROOT / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def graph(run_time_only: bool = False) -> dict[str, dict[str, int]]:
    """module → {imported project module: line}."""
    modules = project_modules()
    return {
        name: {
            target: line
            for target, line in imports(path, run_time_only)
            if target in modules and target != name
        }
        for name, path in modules.items()
    }


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "registry" or len(parts) < 2:
        return None
    return parts[1]


def upward(edges: dict[str, dict[str, int]]) -> list[str]:
    found = []
    for source, targets in edges.items():
        if source.startswith("api"):
            continue
        mine = package_of(source)
        for target, line in targets.items():
            theirs = package_of(target)
            if target.startswith("api"):
                found.append(f"{source}:{line} imports {target} (registry never imports api)")
            elif mine is None or theirs is None or mine == theirs:
                continue
            elif mine not in RANK or theirs not in RANK:
                found.append(f"{source}:{line}: {mine} or {theirs} is in no layer")
            elif RANK[theirs] >= RANK[mine]:
                found.append(f"{source}:{line} imports {target} ({mine} may not use {theirs})")
    return sorted(found)


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle():
    assert cycles(graph(run_time_only=True)) == []


def test_no_import_runs_up_the_layers():
    assert upward(graph()) == []


def test_every_registry_package_is_in_a_layer_and_says_what_lives_there():
    packages = {p.parent.name for p in REGISTRY.glob("*/__init__.py")}
    assert packages - RANK.keys() == set()
    for package in packages:
        assert ast.get_docstring(ast.parse((REGISTRY / package / "__init__.py").read_text()))


def test_registry_imports_neither_api_nor_web_or_cli_libraries():
    offenders = {
        str(path.relative_to(REGISTRY)): sorted(
            {name.split(".")[0] for name, _ in imports(path)} & FORBIDDEN
        )
        for path in REGISTRY.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checks_see_a_cycle_an_upward_import_and_a_forbidden_one(tmp_path):
    edges = {
        "registry.base.a": {"registry.kernel.b": 3},
        "registry.kernel.b": {"registry.base.a": 1},
    }
    assert cycles(edges) == [["registry.base.a", "registry.kernel.b"]]
    assert upward(edges) == [
        "registry.base.a:3 imports registry.kernel.b (base may not use kernel)"
    ]
    hinted = tmp_path / "hinted.py"
    hinted.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import api.app\n")
    assert [name for name, _ in imports(hinted)] == ["typing", "typing.TYPE_CHECKING", "api.app"]
    assert "api.app" not in [name for name, _ in imports(hinted, run_time_only=True)]
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from fastapi import FastAPI\nimport api.app\n")
    assert {name.split(".")[0] for name, _ in imports(bad)} & FORBIDDEN == {"fastapi", "api"}


def test_the_architecture_page_draws_the_same_layers():
    page = (ROOT / "docs" / "architecture.md").read_text()
    drawing = page.split("## Layers", 1)[1].split("```")[1]
    drawn: dict[int, set[str]] = {}
    rank = None
    for line in drawing.splitlines():
        head = line[:17].split()
        if head and head[0].isdigit():
            rank = int(head[0])
            head = head[1:]
        elif not head or rank is None:
            continue
        if head and head[0] != "ontology/" and head[0].endswith(("/", ".py")):
            name = head[0].removesuffix("/").removesuffix(".py")
            drawn.setdefault(rank, set()).add(name)
    assert [drawn[r] for r in sorted(drawn)] == LAYERS


def test_the_architecture_page_names_every_module():
    page = (ROOT / "docs" / "architecture.md").read_text()
    drawing = page.split("## Layers", 1)[1].split("```")[1]
    modules = {p.name for p in REGISTRY.rglob("*.py") if p.name != "__init__.py"}
    assert {m for m in modules if m not in drawing} == set()


def test_no_module_is_over_400_lines():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for top in ("registry", "api")
        for p in (ROOT / top).rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}


# The register's table is the kernel's: everyone else reads it through Registry.records /
# record_iris / info. The one exception joins it in a delivery query, in one statement.
REGISTER_SQL_ALLOWED = {"registry/messaging/webhook_delivery.py"}


def test_only_the_kernel_writes_sql_against_the_register():
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for top in ("registry", "api")
        for p in (ROOT / top).rglob("*.py")
        if not p.is_relative_to(REGISTRY / "kernel")
        and str(p.relative_to(ROOT)) not in REGISTER_SQL_ALLOWED
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\b(FROM|JOIN)\s+record\b", line)
    ]
    assert found == []
