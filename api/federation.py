"""Federation over HTTP: ``GET /lookup`` finds records by natural key here and at the peer
registries on the allow-list; ``POST /id/{kind}/{uid}/same-as`` links a record to an
equivalent one (``owl:sameAs``)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from registry.base import iris
from registry.base.errors import UnusableInput
from registry.base.identity import Principal
from registry.publishing.federation import link_same_as, lookup

router = APIRouter(tags=["Federation"])


@router.get("/lookup", summary="Find records by natural key, here and at peer registries")
def find(
    request: Request,
    mpan: str | None = Query(None, description="An asset's MPAN core (13 digits)."),
    company_number: str | None = Query(
        None, description="An organisation's Companies House number."
    ),
    lei: str | None = Query(None, description="An organisation's LEI."),
    principal: Principal = Depends(current_principal),
) -> JSONResponse:
    given = {
        k: v for k, v in {"mpan": mpan, "company_number": company_number, "lei": lei}.items() if v
    }
    if len(given) != 1:
        raise UnusableInput("give exactly one of mpan, company_number, lei")
    ((key, value),) = given.items()
    return JSONResponse(lookup(request.app.state.registry, key, value, principal))


@router.post(
    "/id/{kind}/{uid}/same-as", summary="Link a record to an equivalent record (owl:sameAs)"
)
async def same_as(
    kind: str,
    uid: str,
    request: Request,
    other: str = Body(..., embed=True, alias="sameAs", description="The equivalent record's IRI."),
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    action = partial(link_same_as, registry, iri, other, principal, if_match)
    registration = await run_in_threadpool(action)
    version = registration.records[0]["version"] if registration.records else None
    return JSONResponse(registration.as_dict(), headers={"ETag": f'"{version}"'})
