"""Data-sharing agreements over HTTP (BUC.4 step 4): an FSP makes and withdraws them; an
organisation lists what is shared with it.

The body of ``POST /agreements`` is one ``DataSharingAgreement`` as Turtle, JSON-LD or JSON
through the registry's context, e.g.::

    {"type": "DataSharingAgreement", "id": "share-with-dsos",
     "assignee": ["fdi:DistributionSystemOperator"],
     "target": ["fdi:ProviderAssets", "fdi:ProviderCommercialInformation"],
     "permission": {"action": "use", "constraint": {"leftOperand": "purpose",
                    "operatorSymbol": "eq", "rightOperand": "fdi:FlexibilityProcurement"}}}
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from api.submissions import BODY_SCHEMA, parse_body
from registry.base import iris
from registry.base.identity import Principal
from registry.markets import sharing

router = APIRouter(tags=["Data-sharing agreements (BUC.4)"])


@router.post(
    "/agreements",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Make a data-sharing agreement (FSP)",
)
async def make(request: Request, principal: Principal = Depends(current_principal)) -> JSONResponse:
    """The shared copies are made in the same journal entry; each organisation given access is
    told in its inbox."""
    parsed = await parse_body(request)
    registry = request.app.state.registry
    registration = await run_in_threadpool(sharing.make_agreement, registry, parsed, principal)
    iri = registration.records[0]["id"]
    body = {
        **registration.as_dict(),
        "agreement": await run_in_threadpool(sharing.describe, registry, iri),
    }
    return JSONResponse(body, status_code=201, headers={"Location": iri})


@router.get("/agreements", summary="The agreements you have made")
def mine(request: Request, principal: Principal = Depends(current_principal)) -> JSONResponse:
    return JSONResponse(
        {"agreements": sharing.agreements_of(request.app.state.registry, principal)}
    )


@router.post("/agreements/{uid}/withdraw", summary="Withdraw an agreement you made")
def withdraw(
    uid: str,
    request: Request,
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    registry = request.app.state.registry
    iri = iris.agreement(registry.settings.base_iri, uid)
    return JSONResponse(sharing.withdraw(registry, principal, iri, if_match))


@router.get(
    "/shared-with-me", summary="What other organisations share with you, and under which agreement"
)
def shared_with_me(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return JSONResponse(
        {
            "organisation": principal.organisation,
            "shared": sharing.shared_with(request.app.state.registry, principal),
        }
    )
