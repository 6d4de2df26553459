"""Inboxes over HTTP: W3C Linked Data Notifications (LDN) with ActivityStreams 2.0 payloads.

``GET {org}/inbox`` lists the notifications (an ``ldp:BasicContainer``, JSON-LD, or Turtle by
``Accept``) to the organisation itself; ``POST {org}/inbox`` delivers an activity from another
member whose scheme roles allow it (403 otherwise); ``POST {org}/inbox/{n}/acknowledgement``
marks a notification as seen. The organisation's IRI advertises the inbox (``Link`` header with
``rel="http://www.w3.org/ns/ldp#inbox"`` and an ``ldp:inbox`` triple).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal, require_role
from api.negotiation import choose
from api.records import represent
from api.submissions import read_body
from registry.base import iris
from registry.base.activities import AS_CONTEXT
from registry.base.errors import UnsupportedFormat
from registry.base.identity import Principal
from registry.messaging import inbox

NUMBER = Path(ge=1, le=2**62)  # SQLite's integers are 64-bit

router = APIRouter(tags=["Inboxes (LDN)"])

ACCEPT_POST = "application/ld+json, application/activity+json"
ACTIVITY_TYPES = ("application/ld+json", "application/activity+json", "application/json")
LD_JSON = f'application/ld+json; profile="{AS_CONTEXT}"'


def _organisation(request: Request, uid: str) -> str:
    return iris.organisation(request.app.state.registry.settings.base_iri, uid)


@router.get("/id/org/{uid}/inbox", summary="An organisation's inbox (to the organisation itself)")
def read(uid: str, request: Request, principal: Principal = Depends(current_principal)) -> Response:
    registry = request.app.state.registry
    container = inbox.container(registry, principal, _organisation(request, uid))
    headers = {"Accept-Post": ACCEPT_POST, "Vary": "Accept"}
    if choose(
        request.headers.get("accept"),
        ["application/ld+json", "application/json", "text/turtle", "application/n-triples"],
    ) in ("text/turtle", "application/n-triples"):
        response = represent(request, inbox.as_triples(container), title=container["id"])
        response.headers.update(headers)
        return response
    return JSONResponse(container, media_type="application/ld+json", headers=headers)


@router.post(
    "/id/org/{uid}/inbox",
    status_code=201,
    summary="Post an ActivityStreams activity (e.g. an Offer expressing interest)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "object"}} for t in ACTIVITY_TYPES},
        }
    },
)
async def post(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> Response:
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ACTIVITY_TYPES:
        raise UnsupportedFormat(
            f"post an ActivityStreams activity as {ACCEPT_POST}, not {media or 'nothing'}"
        )
    body = await read_body(request)
    registry = request.app.state.registry
    posted = await run_in_threadpool(
        inbox.post, registry, principal, _organisation(request, uid), body
    )
    return JSONResponse(posted, status_code=201, headers={"Location": posted["id"]})


@router.get("/id/org/{uid}/inbox/{number}", summary="One notification")
def notification(
    uid: str,
    request: Request,
    number: int = NUMBER,
    principal: Principal = Depends(current_principal),
) -> Response:
    found = inbox.notification(
        request.app.state.registry, principal, _organisation(request, uid), number
    )
    return JSONResponse(found, media_type=LD_JSON)


@router.post("/id/org/{uid}/inbox/{number}/acknowledgement", summary="Acknowledge a notification")
def acknowledge(
    uid: str,
    request: Request,
    number: int = NUMBER,
    principal: Principal = Depends(current_principal),
) -> Response:
    found = inbox.acknowledge(
        request.app.state.registry, principal, _organisation(request, uid), number
    )
    return JSONResponse(found, media_type=LD_JSON)


@router.post(
    "/notifications/certificate-reminders",
    summary="Remind holders of certificates about to expire (scheme operator; run daily)",
)
def certificate_reminders(
    request: Request,
    within_days: int = Query(30, ge=0, le=3660),
    _: Principal = Depends(require_role("SchemeOperator")),
) -> JSONResponse:
    sent = inbox.remind_expiring_certificates(request.app.state.registry, within_days)
    return JSONResponse({"reminders": sent})
