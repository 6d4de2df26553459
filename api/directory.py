"""The public directory over HTTP (BUC.4 step 5): search members, the licence registry and a
bulk export. No certificate needed: everything here comes from the public graph.

JSON by default; RDF (Turtle, N-Triples, JSON-LD) by content negotiation. Organisation pages
are the organisations' own IRIs (``/id/org/{uid}``), which dereference the same way and
advertise each organisation's inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api import pages
from api.auth import current_principal
from api.negotiation import choose, negotiate
from api.records import RDF_FORMATS, represent
from api.submissions import BODY_SCHEMA, created, parse_body
from registry.base.identity import Principal
from registry.markets import directory

router = APIRouter(tags=["Directory (BUC.4)"])

OFFERS = ["application/json", *RDF_FORMATS]
ROLES = [
    "FlexibilityServiceProvider",
    "MarketOperator",
    "DistributionSystemOperator",
    "TransmissionSystemOperator",
    "AssetOwner",
    "SchemeOperator",
]


@router.get("/directory", summary="Search the members (JSON, or RDF by Accept)")
def search(
    request: Request,
    name: str | None = Query(None, description="Part of the legal name, any case"),
    role: str | None = Query(None, description="A market role, e.g. MarketOperator"),
    scheme: str | None = Query(None, description="A scheme, e.g. fdi"),
    region: str | None = Query(None, description="A licence area, e.g. area-london or London"),
    technology: str | None = Query(None, description="A technology, e.g. BatteryStorage"),
    service: str | None = Query(None, description="A flexibility service, e.g. service-sustain"),
    market: str | None = Query(None, description="A market, e.g. market-ukpn or ukpn"),
    status: str | None = Query(None, description="The organisation's status, e.g. verified"),
) -> Response:
    registry = request.app.state.registry
    found = directory.members(
        registry,
        name=name,
        role=role,
        scheme=scheme,
        region=region,
        technology=technology,
        service=service,
        market=market,
        status=status,
    )
    return _answer(
        request,
        {"members": found, "count": len(found)},
        lambda: directory.entry_triples(registry, found),
        "Directory",
        page=("directory.html", {"given": {"name": name, "role": role}, "roles": ROLES}),
    )


@router.get("/directory/export", summary="The whole public directory as RDF (N-Triples by default)")
def export(request: Request) -> Response:
    triples = directory.export(request.app.state.registry)
    if choose(request.headers.get("accept"), OFFERS) in (None, "application/json"):
        return Response(
            ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES),
            media_type="application/n-triples",
            headers={"Vary": "Accept"},
        )
    return represent(request, triples, title="Directory export")


@router.get(
    "/licences", summary="The public licence registry: scheme licences and the scopes they cover"
)
def licences(request: Request) -> Response:
    registry = request.app.state.registry
    return _answer(
        request,
        {"licences": directory.licences(registry)},
        lambda: directory.licence_triples(registry),
        "Licences",
        page=("licences.html", {}),
    )


@router.post(
    "/licences",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Publish a scheme licence (scheme operator)",
)
async def publish(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    parsed = await parse_body(request)
    registration = await run_in_threadpool(
        directory.publish_licence, request.app.state.registry, parsed, principal
    )
    return JSONResponse(registration.as_dict(), status_code=201, headers=created(registration))


def _answer(
    request: Request,
    body: dict[str, Any],
    triples: Callable[[], list[ox.Triple]],
    title: str,
    page: tuple[str, dict[str, Any]] | None = None,
) -> Response:
    """JSON, the RDF of the same answer when the client asks for RDF, or for a browser the
    ``page`` (template and its context). Raises NotAcceptable."""
    offers = [*OFFERS, "text/html"] if page else OFFERS
    media = negotiate(request.headers.get("accept"), offers)
    if media == "application/json":
        return JSONResponse(body, headers={"Vary": "Accept"})
    if media == "text/html" and page is not None:
        template, context = page
        html = pages.render(
            template, body=body, base=request.app.state.settings.base_iri, **context
        )
        return HTMLResponse(html, headers={"Vary": "Accept"})
    return represent(request, triples(), title=title)
