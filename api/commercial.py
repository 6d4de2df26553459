"""Commercial information and signposting over HTTP (BUC.4 step 3).

An FSP POSTs its commercial information (Turtle, JSON-LD or JSON through the registry's
context) once and PUTs new versions with ``If-Match``; ``/commercial-information/check`` gives
the same report without storing anything. ``/signpost`` lists the markets and what each market
operator requires; each market's requirements are a shapes document at
``/shapes/market/{slug}``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from api.records import represent
from api.submissions import BODY_SCHEMA, parse_body
from registry.base.identity import Principal
from registry.markets import commercial, signposting
from registry.rules import rules

router = APIRouter(tags=["Commercial information (BUC.4)"])


@router.post(
    "/commercial-information",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Submit your commercial information (FSP)",
)
async def submit(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """Registered if it meets the registry's rules (422 with the report otherwise); the report
    says what is missing, recommended, optional and what each market operator requires."""
    parsed = await parse_body(request)
    registration, report = await run_in_threadpool(
        commercial.submit, request.app.state.registry, parsed, principal
    )
    iri = registration.records[0]["id"]
    body = {**registration.as_dict(), "id": iri, "report": report.as_dict()}
    return JSONResponse(body, status_code=201, headers={"Location": iri, "ETag": '"1"'})


@router.put(
    "/commercial-information",
    openapi_extra=BODY_SCHEMA,
    summary="Replace your commercial information with a new version (needs If-Match)",
)
async def replace(
    request: Request,
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    parsed = await parse_body(request)
    registration, report = await run_in_threadpool(
        commercial.update, request.app.state.registry, parsed, principal, if_match
    )
    version = registration.records[0]["version"] if registration.records else None
    iri = registration.records[0]["id"] if registration.records else None
    body = {**registration.as_dict(), "id": iri, "report": report.as_dict()}
    return JSONResponse(body, headers={"ETag": f'"{version}"'})


@router.get("/commercial-information", summary="Your commercial information and its report")
def mine(request: Request, principal: Principal = Depends(current_principal)) -> JSONResponse:
    body = commercial.of(request.app.state.registry, principal)
    return JSONResponse(body, headers={"ETag": f'"{body["version"]}"'})


@router.post(
    "/commercial-information/check",
    openapi_extra=BODY_SCHEMA,
    summary="Check commercial information against the rules and every market's requirements",
)
async def check(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    parsed = await parse_body(request)
    report = await run_in_threadpool(
        commercial.assess, request.app.state.registry, parsed, principal
    )
    return JSONResponse(report.as_dict())


@router.get("/signpost", summary="The markets and what each market operator requires")
def signpost(
    request: Request,
    market: str | None = Query(
        None, description="A market's slug (neso), name (market-neso) or IRI"
    ),
) -> JSONResponse:
    registry = request.app.state.registry
    base = registry.settings.base_iri
    version = rules.in_force(registry)  # market operators version their requirements
    if market:
        return JSONResponse(signposting.describe(signposting.market(market, version), base))
    markets = [signposting.in_version(m, version) for m in signposting.markets().values()]
    return JSONResponse({"markets": [signposting.describe(m, base) for m in markets]})


@router.get("/shapes/market/{slug}", summary="One market operator's published requirements (SHACL)")
def market_shapes(slug: str, request: Request) -> Response:
    m, triples = signposting.document(slug, rules.in_force(request.app.state.registry))
    return represent(request, triples, title=f"Requirements: {m.name}", iri=m.requirements)
