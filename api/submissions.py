"""Submissions over HTTP: check a file against the rules, or register its records.

The body's ``Content-Type`` names the format (Turtle, N-Triples, JSON-LD, JSON, CSV); RDF/XML
is refused with 415. A POST may carry an ``Idempotency-Key``: a retry with the same key and body
gets the first answer (receipt included) again, and never registers twice.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.auth import authenticated_principal
from registry.assets import register_assets, register_public
from registry.core import Registration
from registry.errors import PayloadTooLarge
from registry.formats import FORMATS, format_for, read_bytes
from registry.idempotency import IdempotencyKey
from registry.identity import Principal
from registry.limits import check_blank_nodes
from registry.validation import parse_and_check

router = APIRouter(tags=["Submissions"])

BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {mt: {"schema": {"type": "string"}} for mt, _ in FORMATS.values()},
    }
}


async def read_body(request: Request) -> bytes:
    limit = request.app.state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request, body: bytes | None = None):  # type: ignore[no-untyped-def]
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    parsed = read_bytes(body if body is not None else await read_body(request), fmt, source="body")
    check_blank_nodes(parsed, request.app.state.settings.max_blank_nodes)
    return parsed


def created(registration: Registration, **headers: str) -> dict[str, str]:
    """Headers for a 201: ``Location`` names the first record the submission created (the
    answer's ``ids`` and ``records`` list them all)."""
    iris = [*registration.ids.values(), *(r["id"] for r in registration.records if "id" in r)]
    return {"Location": iris[0], **headers} if iris else headers


def _idempotency_key(request: Request, principal: Principal, body: bytes) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    media_type = request.headers.get("content-type") or ""
    return IdempotencyKey.of(principal.actor, key, body, media_type)


@router.post(
    "/validate",
    summary="Check a submission against the rules (stores nothing)",
    openapi_extra=BODY_SCHEMA,
)
async def validate(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    parsed = await parse_body(request)
    report = await run_in_threadpool(parse_and_check, parsed, request.app.state.registry.shapes)
    return JSONResponse(report.as_dict())


@router.post(
    "/assets",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Register assets and rights to operate (an FSP's submission)",
)
@router.post(
    "/submissions",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Register a submission (the same as POST /assets)",
)
async def register(
    request: Request, principal: Principal = Depends(authenticated_principal)
) -> JSONResponse:
    """The records of one submission, accepted or refused whole: an FSP's assets and rights to
    operate, in its own graph (``POST /assets`` is the same); the scheme operator's public
    records (no owner: the public graph). Organisations apply at ``POST /organisations``;
    agreements, commercial information and catalogues have their own routes."""
    from starlette.concurrency import run_in_threadpool

    body = await read_body(request)
    parsed = await parse_body(request, body)
    key = _idempotency_key(request, principal, body)
    registry = request.app.state.registry
    if principal.is_scheme_operator:
        action = partial(register_public, registry, parsed, principal, idempotency=key)
    else:
        action = partial(register_assets, registry, parsed, principal, idempotency=key)
    registration = await run_in_threadpool(action)
    replayed = {"Idempotent-Replayed": "true"} if registration.replayed else {}
    headers = created(registration, **replayed)
    return JSONResponse(registration.as_dict(), status_code=201, headers=headers)
