"""Linked data: every minted IRI dereferences, as does the JSON-LD context (the ontology and
shapes: api/vocabulary.py).

HTML for browsers, Turtle, N-Triples or JSON-LD by content negotiation, with ``Vary: Accept``
and a strong ETag over the representation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypedDict

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api import pages
from api.auth import current_principal
from api.logs import request_id
from api.negotiation import SUFFIX, format_url, negotiate, none_match
from registry.base import iris, rdf
from registry.base.identity import Principal
from registry.base.media import GRAPH_FORMATS
from registry.base.resources import context_path
from registry.base.vocab import PREFIXES
from registry.messaging.inbox import advertisement
from registry.rules import rules
from registry.submissions.jsonld import compacted
from registry.trust.access_log import read_record

router = APIRouter(tags=["Linked data"])

RDF_FORMATS = GRAPH_FORMATS  # RDF/XML too, for harvesters that read only RDF/XML
FORMATS = {suffix: media for media, suffix in SUFFIX.items()}  # ?format=ttl -> text/turtle
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}, "text/html": {}}
# What the OpenAPI document says a negotiated linked-data document answers.
RDF_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The document, in the format Accept (or ?format=) asks for; Link headers "
        "name the other formats.",
        "content": {media: {"schema": {"type": "string"}} for media in SUFFIX},
    },
    304: {"description": "Not modified: If-None-Match matched the ETag (weakly, or *)."},
    404: {"description": "No such document.", "content": _PROBLEM},
    406: {"description": "None of the offered types is acceptable.", "content": _PROBLEM},
}


class LinkedData(TypedDict):
    """The route options of every linked-data document: ``**LINKED_DATA`` on its route."""

    response_class: type[Response]
    responses: dict[int | str, dict[str, Any]]


LINKED_DATA: LinkedData = {"response_class": Response, "responses": RDF_RESPONSES}
SHAPES_BY_KIND = {
    "asset": "asset",
    "right-to-operate": "right-to-operate",
    "org": "organisation",
    "catalogue": "catalogue",
    "commercial": "commercial",
    "agreement": "policy",
    "licence": "policy",
}


@router.get(
    "/id/{kind}/{uid}",
    summary="A registry record (HTML, Turtle, N-Triples, JSON-LD, RDF/XML)",
    **LINKED_DATA,
)
def record(
    kind: str, uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> Response:
    """The record as the requester may see it. Its ETag names the version (``"3.ttl"``): send
    it back in ``If-Match`` to update the record."""
    registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    triples = read_record(registry, iri, principal, request_id())
    advertised = advertisement(registry, iri)  # an organisation's LDN inbox
    info = registry.info(iri)
    response = represent(
        request,
        triples + advertised,
        title=iri,
        iri=iri,
        version=info.version if info else None,
        describedby=shapes_for(request, kind),
    )
    # The rules version that validated the record: metadata of the record, in a Link header
    # only (the body stays the record exactly, as its receipt's hash covers it).
    for t in advertised + rules.conforms_to(registry, iri):
        response.headers.append("Link", f'<{rdf.value(t.object)}>; rel="{t.predicate.value}"')
    return response


@router.get(
    "/ns/context.jsonld",
    summary="The registry's JSON-LD context",
    response_class=Response,
    responses={
        200: {"description": "The context.", "content": {"application/ld+json": {}}},
        304: {"description": "Not modified: If-None-Match matched the ETag."},
    },
)
def context(request: Request) -> Response:
    body = context_path().read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/ld+json", headers={"ETag": etag})


def represent(
    request: Request,
    triples: list[ox.Triple],
    *,
    title: str,
    iri: str | None = None,
    version: int | None = None,
    describedby: str | None = None,
    html: Callable[[], bytes] | None = None,
) -> Response:
    """Triples in the negotiated format (``?format=ttl`` and the like overrides ``Accept``),
    with ``Vary: Accept``, ``Link`` headers to the other formats (and to the shapes that
    describe the record), and an ETag: ``"<version>.<fmt>"`` for a versioned record
    (``If-Match`` compares the version), else a hash of the body. Raises NotAcceptable."""
    offers = ["text/html", *RDF_FORMATS]
    media = negotiate(
        request.headers.get("accept"), offers, FORMATS.get(request.query_params.get("format", ""))
    )
    if media == "text/html" and html is not None:
        body = html()  # a page of its own (the vocabulary and rules documentation)
    elif media == "text/html":
        body = pages.render_record(request, triples, title=title, iri=iri, version=version)
    elif media == "application/ld+json":
        body = compacted(triples)
    else:
        body = rdf.serialize(triples, RDF_FORMATS[media], PREFIXES)
    if version is not None:
        etag = f'"{version}.{SUFFIX[media]}"'
    else:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Vary": "Accept", "ETag": etag, "Link": alternates(request, media, describedby)}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if media == "text/html":
        return HTMLResponse(body, headers=headers)
    return Response(body, media_type=media, headers=headers)


def alternates(request: Request, media: str, describedby: str | None = None) -> str:
    """``Link`` values naming every other format of this resource at its ``?format=`` URL."""
    links = [
        f'<{format_url(request, suffix)}>; rel="alternate"; type="{other}"'
        for other, suffix in SUFFIX.items()
        if other != media
    ]
    if describedby:
        links.append(f'<{describedby}>; rel="describedby"; type="text/turtle"')
    return ", ".join(links)


def shapes_for(request: Request, kind: str) -> str:
    """The shapes document that describes records of ``kind`` (the whole set when none does)."""
    name = SHAPES_BY_KIND.get(kind)
    base: str = request.app.state.settings.base_iri
    return base + (f"shapes/{name}" if name else "shapes")
