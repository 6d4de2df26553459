"""Linked data: every minted IRI dereferences, as do the ontology, shapes and JSON-LD context.

HTML for browsers, Turtle, N-Triples or JSON-LD by content negotiation, with ``Vary: Accept``
and a strong ETag over the representation.
"""

from __future__ import annotations

import hashlib

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api import pages
from api.auth import current_principal
from api.negotiation import choose
from registry.access_log import read_record
from registry.errors import NotFound
from registry.identity import Principal
from registry.inbox import advertisement
from registry.resources import context_path, ontology_dir, shapes_dir, ttl_files
from registry.vocab import PREFIXES

router = APIRouter(tags=["Linked data"])

_SUFFIX = {"text/turtle": "ttl", "application/n-triples": "nt", "application/ld+json": "jsonld"}
RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


@router.get("/id/{kind}/{uid}", summary="A registry record (HTML, Turtle, N-Triples, JSON-LD)")
def record(
    kind: str, uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> Response:
    """The record as the requester may see it. Its ETag names the version (``"3.ttl"``): send
    it back in ``If-Match`` to update the record."""
    registry = request.app.state.registry
    iri = f"{registry.settings.base_iri}id/{kind}/{uid}"
    triples = read_record(registry, iri, principal, request.headers.get("x-request-id"))
    advertised = advertisement(registry, iri)  # an organisation's LDN inbox
    info = registry.info(iri)
    response = represent(
        request, triples + advertised, title=iri, iri=iri, version=info.version if info else None
    )
    for t in advertised:
        response.headers.append("Link", f'<{t.object.value}>; rel="{t.predicate.value}"')
    return response


@router.get("/ns", summary="The registry's ontology")
def ontology(request: Request) -> Response:
    return represent(request, _load(ttl_files(ontology_dir())), title="FDI ontology")


@router.get("/shapes", summary="The registry's SHACL shapes: the published rules")
def shapes(request: Request) -> Response:
    return represent(request, _load(ttl_files(shapes_dir())), title="FDI shapes")


@router.get("/ns/context.jsonld", summary="The registry's JSON-LD context")
def context() -> Response:
    return FileResponse(context_path(), media_type="application/ld+json")


def _load(paths: list) -> list[ox.Triple]:  # type: ignore[type-arg]
    triples = []
    for path in paths:
        triples.extend(
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
        )
    if not triples:
        raise NotFound("nothing published here yet")
    return triples


def represent(
    request: Request,
    triples: list[ox.Triple],
    *,
    title: str,
    iri: str | None = None,
    version: int | None = None,
) -> Response:
    """Triples in the negotiated format, with ``Vary: Accept`` and an ETag: ``"<version>.<fmt>"``
    for a versioned record (``If-Match`` compares the version), else a hash of the body."""
    media = choose(request.headers.get("accept"), ["text/html", *RDF_FORMATS]) or "text/turtle"
    if media == "text/html":
        body = pages.render("record.html", title=title, iri=iri, rows=pages.rows(triples)).encode()
    else:
        body = ox.serialize(triples, format=RDF_FORMATS[media], prefixes=PREFIXES)
    if version is not None:
        etag = f'"{version}.{_SUFFIX.get(media, "html")}"'
    else:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Vary": "Accept", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if media == "text/html":
        return HTMLResponse(body, headers=headers)
    return Response(body, media_type=media, headers=headers)
