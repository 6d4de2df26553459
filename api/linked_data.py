"""More linked data: the registry's graph IRIs, and each ontology and shapes file at its own
IRI (``/ns/fdi``, ``/shapes/catalogue``, ...; the whole sets stay at ``/ns`` and ``/shapes``).

Negotiated like records (HTML, Turtle, N-Triples, JSON-LD; ``Vary: Accept``, ETag).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.records import LINKED_DATA, represent
from api.vocabulary import rules_page, vocabulary_page
from registry.base import rdf
from registry.publishing.graphs import describe_graph
from registry.rules import releases

router = APIRouter(tags=["Linked data"])


@router.get(
    "/graph/{path:path}",
    summary="What one of the registry's graphs is",
    **LINKED_DATA,
)
def graph(path: str, request: Request) -> Response:
    triples = describe_graph(request.app.state.registry, path)
    return represent(request, triples, title=f"Graph {path}", iri=rdf.value(triples[0].subject))


@router.get(
    "/ns/{name}",
    summary="One file of the ontology (fdi, technologies)",
    **LINKED_DATA,
)
def ontology_file(name: str, request: Request) -> Response:
    """One file of the ontology, or (``/ns/0.1.0``) the whole ontology as released in a
    version, at its version IRI."""
    registry = request.app.state.registry
    if name in releases.released_versions(registry):
        title = f"FDI ontology {name}"
        page = vocabulary_page(request, name, title)
        return represent(request, releases.ontology_triples(registry, name), title=title, html=page)
    version = releases.in_force(registry)
    triples = releases.ontology_document(registry, version, name)
    page = vocabulary_page(request, version, f"Ontology: {name}")
    return represent(request, triples, title=f"Ontology: {name}", html=page)


@router.get(
    "/shapes/{name}",
    summary="One shapes document (asset, organisation, catalogue, ...)",
    **LINKED_DATA,
)
def shapes_file(name: str, request: Request) -> Response:
    """One shapes document, or (``/shapes/0.1.0``) every one as released in a version."""
    registry = request.app.state.registry
    if name in releases.released_versions(registry):
        title = f"FDI rules {name}"
        page = rules_page(request, name, None, title)
        return represent(request, releases.shapes_triples(registry, name), title=title, html=page)
    version = releases.in_force(registry)
    triples = releases.shapes_triples(registry, version, name)
    page = rules_page(request, version, name.removesuffix(".ttl"), f"Shapes: {name}")
    return represent(request, triples, title=f"Shapes: {name}", html=page)
