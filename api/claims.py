"""Claims to operate an asset, and disputes, over HTTP (``registry.assets.claims``).

``POST /rights-to-operate`` from an FSP that does not operate the asset today answers 202 with
the pending claim (``Location: /claims/{id}``); the asset's current operator or its owner
confirms or contests it here. Disputes are listed to their parties and the scheme operator.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.auth import current_principal
from registry.assets import claims
from registry.base import iris
from registry.base.identity import Principal

router = APIRouter(tags=["Claims and disputes"])


class Decision(BaseModel):
    reason: str | None = None


def claim_iri(request: Request, uid: str) -> str:
    return iris.claim(request.app.state.settings.base_iri, uid)


@router.get("/claims/{uid}", summary="A claim to operate an asset (its parties only)")
def get(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    registry = request.app.state.registry
    return JSONResponse(claims.claim(registry, principal, claim_iri(request, uid)))


@router.post(
    "/claims/{uid}/confirm",
    summary="Confirm a claim: the claimant's right is registered (current operator or asset owner)",
)
def confirm(
    uid: str, body: Decision, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return _decide(request, principal, uid, body, confirm=True)


@router.post(
    "/claims/{uid}/contest",
    summary="Contest a claim with a reason: it becomes a dispute (current operator or asset owner)",
)
def contest(
    uid: str, body: Decision, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return _decide(request, principal, uid, body, confirm=False)


def _decide(
    request: Request, principal: Principal, uid: str, body: Decision, *, confirm: bool
) -> JSONResponse:
    """A plain ``def`` route's work: FastAPI runs it in the thread pool, off the event loop."""
    registry = request.app.state.registry
    view = claims.decide(
        registry, principal, claim_iri(request, uid), confirm=confirm, reason=body.reason
    )
    return JSONResponse(view)


@router.get("/disputes", summary="Disputed claims the requester is a party to")
def disputes(request: Request, principal: Principal = Depends(current_principal)) -> JSONResponse:
    return JSONResponse({"disputes": claims.disputes(request.app.state.registry, principal)})
