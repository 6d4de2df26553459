"""Where the bundled ontology, shapes and JSON-LD context are.

Installed from a wheel they sit inside the package (``registry/ontology``, ``registry/shapes``);
in a source checkout they are the repository's top-level ``ontology/`` and ``shapes/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # registry/, not registry/base/


def _bundled(name: str) -> Path:
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def ontology_dir() -> Path:
    return _bundled("ontology")


def shapes_dir() -> Path:
    return _bundled("shapes")


def fixtures_dir() -> Path:
    """The shape fixtures (valid and invalid examples per rule) the vocabulary pages quote:
    ``registry/fixtures/shapes`` in a wheel, ``tests/fixtures/shapes`` in a source checkout."""
    inside = _PACKAGE / "fixtures" / "shapes"
    return inside if inside.is_dir() else _PACKAGE.parent / "tests" / "fixtures" / "shapes"


def context_path() -> Path:
    return _PACKAGE / "context.jsonld"


def ttl_files(directory: Path) -> list[Path]:
    """The Turtle files of a directory, in a stable order."""
    return sorted(p for p in directory.glob("*.ttl") if p.is_file())
