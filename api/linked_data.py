"""More linked data: the registry's graph IRIs, and each ontology and shapes file at its own
IRI (``/ns/fdi``, ``/shapes/catalogue``, ...; the whole sets stay at ``/ns`` and ``/shapes``).

Negotiated like records (HTML, Turtle, N-Triples, JSON-LD; ``Vary: Accept``, ETag).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.records import LINKED_DATA, represent
from api.vocabulary import rules_page, vocabulary_page
from registry import __version__
from registry import vocabulary_docs as docs
from registry.errors import NotFound
from registry.graphs import describe_graph
from registry.resources import ontology_dir, shapes_dir, ttl_files

router = APIRouter(tags=["Linked data"])


@router.get(
    "/graph/{path:path}",
    summary="What one of the registry's graphs is",
    **LINKED_DATA,  # type: ignore[arg-type]
)
def graph(path: str, request: Request) -> Response:
    triples = describe_graph(request.app.state.registry, path)
    return represent(request, triples, title=f"Graph {path}", iri=triples[0].subject.value)


@router.get(
    "/ns/{name}",
    summary="One file of the ontology (fdi, technologies)",
    **LINKED_DATA,  # type: ignore[arg-type]
)
def ontology_file(name: str, request: Request) -> Response:
    """One file of the ontology, or (``/ns/0.1.0``) the whole ontology as released in a
    version, at its version IRI."""
    if name in docs.released_versions():
        title = f"FDI ontology {name}"
        page = vocabulary_page(request, name, title)
        return represent(request, docs.ontology_triples(name), title=title, html=page)
    page = vocabulary_page(request, __version__, f"Ontology: {name}")
    triples = _triples(_published(ontology_dir(), name))
    return represent(request, triples, title=f"Ontology: {name}", html=page)


@router.get(
    "/shapes/{name}",
    summary="One shapes document (asset, organisation, catalogue, ...)",
    **LINKED_DATA,  # type: ignore[arg-type]
)
def shapes_file(name: str, request: Request) -> Response:
    """One shapes document, or (``/shapes/0.1.0``) every one as released in a version."""
    if name in docs.released_versions():
        title = f"FDI rules {name}"
        page = rules_page(request, name, None, title)
        return represent(request, docs.shapes_triples(name), title=title, html=page)
    triples = _triples(_published(shapes_dir(), name))
    page = rules_page(request, __version__, name.removesuffix(".ttl"), f"Shapes: {name}")
    return represent(request, triples, title=f"Shapes: {name}", html=page)


def _published(directory: Path, name: str) -> Path:
    """The Turtle file ``name`` (with or without ``.ttl``) of a published directory."""
    stem = name.removesuffix(".ttl")
    for path in ttl_files(directory):
        if path.stem == stem:
            return path
    raise NotFound(f"no published file {name}")


@cache
def _triples(path: Path) -> list[ox.Triple]:
    """The file's triples, parsed once (stable blank nodes, so a stable ETag)."""
    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
    ]
