"""Submissions over HTTP: check a file against the rules, or register its records.

The body's ``Content-Type`` names the format (Turtle, N-Triples, JSON-LD, JSON, CSV); RDF/XML
is refused with 415.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from registry.errors import PayloadTooLarge
from registry.formats import FORMATS, format_for, read_bytes
from registry.validation import parse_and_check

router = APIRouter(tags=["Submissions"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {mt: {"schema": {"type": "string"}} for mt, _ in FORMATS.values()},
    }
}


async def _parsed(request: Request):  # type: ignore[no-untyped-def]
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    limit = request.app.state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return read_bytes(b"".join(chunks), fmt, source="body")


@router.post("/validate", summary="Check a submission against the rules (stores nothing)",
             openapi_extra=_BODY)
async def validate(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    parsed = await _parsed(request)
    report = await run_in_threadpool(parse_and_check, parsed, request.app.state.registry.shapes)
    return JSONResponse(report.as_dict())


@router.post("/submissions", status_code=201, summary="Register the records of a submission",
             openapi_extra=_BODY)
async def register(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    parsed = await _parsed(request)
    registration = await run_in_threadpool(request.app.state.registry.register, parsed, "anonymous")
    body = {
        "seq": registration.seq,
        "hash": registration.hash,
        "time": registration.time,
        "ids": registration.ids,
        "records": registration.records,
        "warnings": [f.as_dict() for f in registration.report.warnings],
    }
    return JSONResponse(body, status_code=201)
