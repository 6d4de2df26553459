"""The change feeds (registry.publishing.feed): Linked Data Event Streams of the public graph, for
anyone,
and of the copies shared with one organisation, for that organisation (docs/change-feed.md).

Served as TriG (or N-Quads): the stream and page descriptions in the default graph, each
member's record triples in the member's named graph. A full page is ``immutable``; the stream
root and the last page are revalidated (``no-cache``) with an ETag.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypedDict

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from api.auth import current_principal
from api.logs import request_id
from api.negotiation import negotiate, none_match
from registry.base import iris
from registry.base.errors import NotFound
from registry.base.identity import Principal
from registry.publishing.feed import Feed, Stream, serialise
from registry.trust.access_log import audit_reads

router = APIRouter(tags=["Change feed"])

OFFERS = ["application/trig", "application/n-quads"]
_MAX_PAGE = 2**40
# A full page never changes but for an erasure of personal data, which caches must see within
# a day (a year, as LDES suggests, would keep erased values in them that long).
_IMMUTABLE = "max-age=86400, immutable"


class _RouteOptions(TypedDict):
    responses: dict[int | str, dict[str, Any]]
    response_class: type[Response]


_RDF: _RouteOptions = {
    "responses": {
        200: {"content": {m: {} for m in OFFERS}, "description": "TriG or N-Quads"},
        304: {"description": "Not modified (If-None-Match)"},
    },
    "response_class": Response,
}


def _feed(request: Request) -> Feed:
    feed = getattr(request.app.state, "feed", None)
    if feed is None:
        feed = request.app.state.feed = Feed(request.app.state.registry)
    return feed


def _shared(request: Request, uid: str, principal: Principal) -> Stream:
    """The stream shared with the organisation ``uid``: its own members only (the gate has
    checked the rule; a stream of another organisation is not there for the requester)."""
    registry = request.app.state.registry
    organisation = iris.organisation(registry.settings.base_iri, uid)
    if principal.organisation != organisation:
        raise NotFound(f"no change feed {request.url.path}")
    return _feed(request).shared(organisation)


def _answer(request: Request, quads: list[ox.Quad], cache: str) -> Response:
    media = negotiate(request.headers.get("accept"), OFFERS)
    body = serialise(quads, media)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept"}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


@router.get("/feed/public", summary="The public change feed (an LDES event stream)", **_RDF)
def public_stream(request: Request) -> Response:
    return _answer(request, _feed(request).public().description(), "public, no-cache")


@router.get(
    "/feed/public/{page}",
    summary="One page of the public change feed",
    **_RDF,
)
def public_page(request: Request, page: int = Path(ge=0, le=_MAX_PAGE)) -> Response:
    found = _feed(request).public().page(page)
    return _answer(request, found.quads, "public, " + (_IMMUTABLE if found.full else "no-cache"))


@router.get(
    "/feed/shared/{uid}",
    summary="The change feed of the records shared with your organisation",
    **_RDF,
)
def shared_stream(
    request: Request, uid: str, principal: Principal = Depends(current_principal)
) -> Response:
    return _answer(request, _shared(request, uid, principal).description(), "private, no-cache")


@router.get(
    "/feed/shared/{uid}/{page}",
    summary="One page of the change feed of the records shared with your organisation",
    **_RDF,
)
def shared_page(
    request: Request,
    uid: str,
    page: int = Path(ge=0, le=_MAX_PAGE),
    principal: Principal = Depends(current_principal),
) -> Response:
    found = _shared(request, uid, principal).page(page)
    # BUC.2 step 6a: the shared copies a page shows are reads of their owners' records.
    audit_reads(request.app.state.registry, principal, found.records, request_id())
    return _answer(request, found.quads, "private, " + (_IMMUTABLE if found.full else "no-cache"))
