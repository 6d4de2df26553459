"""Webhooks over HTTP: a member registers HTTPS URLs that receive its inbox's notifications,
signed as Standard Webhooks says (``registry.messaging.webhooks``; docs/webhooks.md).

``POST /id/org/{uid}/webhooks`` with ``{"url": "https://..."}`` registers one for the
organisation itself and answers its secret, once; ``GET`` lists them (without secrets);
``DELETE /id/org/{uid}/webhooks/{hook}`` stops one; ``GET .../{hook}/deliveries`` shows what was
sent, what failed and when the next attempt is due.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base import iris
from registry.base.identity import Principal
from registry.messaging import webhooks

router = APIRouter(tags=["Webhooks"])
HOOK = Path(pattern=r"^wh_[0-9a-f]{32}$")


class NewWebhook(BaseModel):
    url: str = Field(max_length=webhooks.MAX_URL, examples=["https://fsp.example/fdi-webhook"])


def _organisation(request: Request, uid: str) -> str:
    return iris.organisation(request.app.state.registry.settings.base_iri, uid)


@router.post(
    "/id/org/{uid}/webhooks",
    status_code=201,
    summary="Register a webhook for the organisation's notifications (its secret is shown once)",
)
def register(
    uid: str, body: NewWebhook, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """The URL must be HTTPS and must not resolve into the operator's denied address ranges.
    The answer's ``secret`` signs every delivery (``webhook-signature``); keep it."""
    registry = request.app.state.registry
    made = webhooks.register(registry, principal, _organisation(request, uid), body.url)
    location = f"/id/org/{uid}/webhooks/{made['id']}"
    return JSONResponse(made, status_code=201, headers={"Location": location})


@router.get("/id/org/{uid}/webhooks", summary="The organisation's webhooks (to itself)")
def listing(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    registry = request.app.state.registry
    return {"webhooks": webhooks.webhooks(registry, principal, _organisation(request, uid))}


@router.get("/id/org/{uid}/webhooks/{hook}", summary="One of the organisation's webhooks")
def one(
    uid: str,
    request: Request,
    hook: str = HOOK,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    registry = request.app.state.registry
    return webhooks.webhook(registry, principal, _organisation(request, uid), hook)


@router.delete("/id/org/{uid}/webhooks/{hook}", status_code=204, summary="Stop a webhook")
def remove(
    uid: str,
    request: Request,
    hook: str = HOOK,
    principal: Principal = Depends(current_principal),
) -> Response:
    webhooks.remove(request.app.state.registry, principal, _organisation(request, uid), hook)
    return Response(status_code=204)


@router.get(
    "/id/org/{uid}/webhooks/{hook}/deliveries",
    summary="What was sent to a webhook: delivered, pending (with the next attempt) or failed",
)
def deliveries(
    uid: str,
    request: Request,
    hook: str = HOOK,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    registry = request.app.state.registry
    found = webhooks.deliveries(registry, principal, _organisation(request, uid), hook)
    return {"deliveries": found}
