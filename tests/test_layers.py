"""The domain layer never reaches up into the interfaces."""

import ast
from pathlib import Path

REGISTRY = Path(__file__).resolve().parent.parent / "registry"
FORBIDDEN = {"api", "fastapi", "starlette", "uvicorn", "click", "typer", "rich", "jinja2"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_registry_imports_neither_api_nor_web_or_cli_libraries():
    offenders = {
        str(path.relative_to(REGISTRY)): sorted(imported_modules(path) & FORBIDDEN)
        for path in REGISTRY.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_sees_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fastapi import FastAPI\nimport api.app\n")
    assert imported_modules(bad) & FORBIDDEN == {"fastapi", "api"}
