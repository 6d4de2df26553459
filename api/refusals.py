"""Refused requests: counted per source as they leave (ASGI middleware), shown to the operator.

The middleware sits outermost, so it sees every 4xx, those the body limit answers (413) and
those for requests that never reach a route included. ``GET /refusals`` (scheme operator) lists
the sources with the most refusals; see ``registry.operations.refusals`` for the counting and
logging.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import client_address, require_role
from api.limits import ASGIApp, Message, Receive, Send
from registry.base.identity import Principal
from registry.operations.refusals import Refusals

router = APIRouter(tags=["Audit"])


class CountRefusals:
    """Count every response with a 4xx status against the client's address."""

    def __init__(self, app: ASGIApp, refusals: Refusals) -> None:
        self.app = app
        self.refusals = refusals

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                source = client_address(Request(scope))  # nginx's X-Real-IP, with the secret
                self.refusals.record(
                    source, message["status"], f"{scope['method']} {scope['path']}"
                )
            await send(message)

        await self.app(scope, receive, counting_send)


@router.get("/refusals", summary="Refused requests (4xx) per source (scheme operator)")
def refusals(
    request: Request,
    limit: int = Query(100, ge=1, le=10_000),
    _: Principal = Depends(require_role("SchemeOperator")),
) -> dict[str, object]:
    """The sources with the most refused requests since the server started, most first: how
    many of each status, when first and last, and their most refused requests."""
    return {"sources": request.app.state.refusals.summary(limit)}
