"""What anyone needs to check the registry's word: its public keys and journal checkpoints.

``/.well-known/jwks.json`` publishes every signing key the registry has used (receipts and
checkpoints verify offline against it: ``fdi receipt verify``, ``fdi journal verify
--checkpoint``); ``/journal/checkpoints`` lists the signed checkpoints of the journal's head.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from registry.base.errors import NotFound
from registry.proof import checkpoints

router = APIRouter(tags=["Integrity"])

_MAX_SEQ = 2**62  # SQLite integers are 64-bit; larger values are refused with 422, not a 500


@router.get("/.well-known/jwks.json", summary="The registry's public signing keys (JWK Set)")
def jwks(request: Request) -> JSONResponse:
    keys = request.app.state.registry.keys.jwks()
    return JSONResponse(keys, media_type="application/jwk-set+json")


@router.get("/journal/checkpoints", summary="Signed checkpoints of the journal, oldest first")
def checkpoint_list(
    request: Request,
    after: int = Query(0, ge=0, le=_MAX_SEQ, description="Only checkpoints after this entry"),
    limit: int = Query(100, ge=1, le=1000),
) -> JSONResponse:
    journal = request.app.state.registry.journal
    return JSONResponse({"checkpoints": checkpoints.published(journal, after, limit)})


@router.get("/journal/checkpoints/latest", summary="The latest signed checkpoint of the journal")
def checkpoint_latest(request: Request) -> JSONResponse:
    latest = checkpoints.latest(request.app.state.registry.journal)
    if latest is None:
        raise NotFound("no checkpoint has been made yet")
    return JSONResponse(latest)
