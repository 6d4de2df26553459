"""DCAT over HTTP: the registry's catalogue (``/catalogue``, paged) and members' catalogues
(``POST /catalogues``, ``PUT /catalogues/{uid}``).

The catalogue is negotiated like every linked-data document (HTML, Turtle, N-Triples, JSON-LD;
``Vary: Accept``, ETag); pages link to each other in the RDF (Hydra) and in ``Link`` headers.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from api.records import LINKED_DATA, represent
from api.submissions import BODY_SCHEMA, parse_body
from registry.base import iris
from registry.base.identity import Principal
from registry.publishing.catalogue import catalogue
from registry.publishing.member_catalogues import submit_catalogue, update_catalogue

router = APIRouter(tags=["Catalogue (DCAT)"])


@router.get(
    "/catalogue",
    summary="The registry's DCAT catalogue (paged with ?page=N)",
    **LINKED_DATA,
)
def registry_catalogue(
    request: Request,
    page: int = Query(
        1, ge=1, le=2**40, description="The page, from 1; each lists up to 50 member catalogues."
    ),
    principal: Principal = Depends(current_principal),
) -> Response:
    found = catalogue(request.app.state.registry, principal, page)
    response = represent(request, found.triples, title="Catalogue", iri=found.iri)
    links = [f'<{found.link(1)}>; rel="first"', f'<{found.link(found.pages)}>; rel="last"']
    links += [f'<{found.next}>; rel="next"'] if found.next else []
    links += [f'<{found.previous}>; rel="prev"'] if found.previous else []
    response.headers["Link"] = ", ".join(links)
    return response


@router.post(
    "/catalogues",
    status_code=201,
    summary="Publish your organisation's catalogue",
    openapi_extra=BODY_SCHEMA,
)
async def publish(
    request: Request,
    audience: str = Query("public", description="Who may see it: public, or scheme members."),
    principal: Principal = Depends(current_principal),
) -> JSONResponse:
    """One or more ``fdi:MemberCatalogue`` records whose publisher is your organisation."""
    parsed = await parse_body(request)
    action = partial(submit_catalogue, request.app.state.registry, parsed, principal, audience)
    registration = await run_in_threadpool(action)
    location = next(iter(registration.ids.values()), None)
    headers = {"Location": location} if location else {}
    return JSONResponse(registration.as_dict(), status_code=201, headers=headers)


@router.put(
    "/catalogues/{uid}",
    summary="Replace your catalogue (needs If-Match)",
    openapi_extra=BODY_SCHEMA,
)
async def replace(
    uid: str,
    request: Request,
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    registry = request.app.state.registry
    iri = iris.catalogue(registry.settings.base_iri, uid)
    parsed = await parse_body(request)
    action = partial(update_catalogue, registry, iri, parsed, principal, if_match)
    registration = await run_in_threadpool(action)
    version = registration.records[0]["version"] if registration.records else None
    return JSONResponse(registration.as_dict(), headers={"ETag": f'"{version}"'})
