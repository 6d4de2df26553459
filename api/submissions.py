"""Submissions over HTTP: check a file against the rules, or register its records.

The body's ``Content-Type`` names the format (Turtle, N-Triples, JSON-LD, JSON, CSV); RDF/XML
is refused with 415. A POST may carry an ``Idempotency-Key``: a retry with the same key and body
gets the first answer (receipt included) again, and never registers twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from functools import partial
from itertools import chain
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import authenticated_principal
from registry.assets.assets import register_assets, register_public
from registry.base.cycles import collector_paused
from registry.base.errors import PayloadTooLarge
from registry.base.identity import Principal
from registry.kernel.core import Registration
from registry.kernel.idempotency import IdempotencyKey
from registry.shacl.validation import Shapes, parse_and_check
from registry.submissions.formats import FORMATS, Parsed, format_for, read_bytes
from registry.submissions.limits import check_blank_nodes

router = APIRouter(tags=["Submissions"])
T = TypeVar("T")

BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {mt: {"schema": {"type": "string"}} for mt, _ in FORMATS.values()},
    }
}


async def read_body(request: Request) -> bytes:
    """The whole body (already bounded per requester by ``api.limits``; this is a backstop)."""
    limit = request.app.state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request, body: bytes | None = None) -> Parsed:
    """The body parsed and bounded, in the thread pool: parsing is CPU-bound and a big body
    parsed on the event loop would stall every other client."""
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    data = body if body is not None else await read_body(request)
    limit = request.app.state.settings.max_blank_nodes
    return await heavy(len(data), _parse, data, fmt, limit)


# Above this, the cyclic garbage collector is paused while a body is parsed and checked: its
# full collections held the interpreter lock, and so stalled other clients, for up to 0.9 s.
BIG_BODY = 256 * 1024


async def heavy(size: int, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` on a body of ``size`` bytes, in the thread pool (see ``BIG_BODY``)."""
    if size <= BIG_BODY:
        return await run_in_threadpool(work, *args)
    return await run_in_threadpool(_paused, work, *args)


def _paused(work: Callable[..., T], *args: Any) -> T:
    with collector_paused():
        return work(*args)


def _parse(data: bytes, fmt: str, max_blank_nodes: int) -> Parsed:
    parsed = read_bytes(data, fmt, source="body")
    check_blank_nodes(parsed, max_blank_nodes)
    return parsed


def created(registration: Registration, **headers: str) -> dict[str, str]:
    """Headers for a 201: ``Location`` names the first record the submission created (the
    answer's ``ids`` and ``records`` list them all)."""
    ids = (r["id"] for r in registration.records if "id" in r)
    first = next(chain(registration.ids.values(), ids), None)
    return {"Location": first, **headers} if first else headers


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
async def validate(request: Request) -> Response:
    body = await read_body(request)
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    registry = request.app.state.registry
    limit = request.app.state.settings.max_blank_nodes
    # one trip to the thread pool for parsing and checking (as for a registration)
    shapes, on = registry.shapes, registry.today()
    return await heavy(len(body), _report, body, fmt, limit, shapes, on)


def _report(body: bytes, fmt: str, max_blank_nodes: int, shapes: Shapes, on: date) -> Response:
    parsed = _parse(body, fmt, max_blank_nodes)
    report = parse_and_check(parsed, shapes, on).as_dict()
    return Response(_json_in_pieces(report), media_type="application/json")


def _json_in_pieces(document: dict[str, Any]) -> bytes:
    """``document`` as JSONResponse renders it, but each item of its lists encoded on its own:
    one ``json.dumps`` of a 40 MB report held the interpreter lock (and stalled every other
    client) for over a second; between items, other threads run."""

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def piece(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ",".join(dumps(item) for item in value) + "]"
        return dumps(value)

    return ("{" + ",".join(f"{dumps(k)}:{piece(v)}" for k, v in document.items()) + "}").encode()


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
    body = await read_body(request)
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    # One trip to the thread pool for the whole write (parse, check, journal, index, receipt):
    # each trip costs a hand-over between threads, a large share of a one-asset write.
    work = partial(_parse_and_register, request, principal, body, fmt)
    registration = await heavy(len(body), work)
    replayed = {"Idempotent-Replayed": "true"} if registration.replayed else {}
    headers = created(registration, **replayed)
    return JSONResponse(registration.as_dict(), status_code=201, headers=headers)


def _parse_and_register(
    request: Request, principal: Principal, body: bytes, fmt: str
) -> Registration:
    registry = request.app.state.registry
    parsed = _parse(body, fmt, request.app.state.settings.max_blank_nodes)
    key = _idempotency_key(request, principal, body)
    register_as = register_public if principal.is_scheme_operator else register_assets
    return register_as(registry, parsed, principal, idempotency=key)
