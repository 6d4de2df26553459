"""An organisation's own audit trail: who read its restricted data, who was refused, when."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.auth import current_principal
from registry.base.errors import Unauthenticated
from registry.base.identity import Principal
from registry.kernel.audit import trail

router = APIRouter(tags=["Audit"])


@router.get("/audit", summary="Your organisation's audit trail (authenticated organisations)")
def audit_trail(
    request: Request,
    principal: Principal = Depends(current_principal),
    after: int = Query(0, ge=0, le=2**62, description="The last event id already seen"),
    limit: int = Query(1000, ge=1, le=10_000),
) -> JSONResponse:
    if principal.organisation is None:
        raise Unauthenticated("the audit trail is an organisation's own: authenticate first")
    events = trail(request.app.state.registry.journal, principal.organisation, after, limit)
    more = events[-1]["id"] if len(events) == limit else None
    return JSONResponse({"organisation": principal.organisation, "events": events, "next": more})
