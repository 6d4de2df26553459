"""Every error the HTTP service answers is built here, once: an RFC 9457 problem document
(``application/problem+json``: ``type``, ``title``, ``status``, ``detail``, ``instance`` and the
error's own members), or the same problem as an HTML page for a browser that asks for one.

The registry's errors (``registry.base.errors``) carry their status and title. The framework's
own refusals become registry errors first: ``invalid_request`` for FastAPI's 422,
``protocol_error`` for Starlette's ``HTTPException`` (404 no route, 405, 400 unreadable body),
``unexpected`` for anything no handler caught (500, naming only the request's ID, under which
api/logs.py logs the traceback). Middleware that answers before any route (the body limit,
``OPTIONS``, api/logs.py) sends its problem with ``send``.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Scope, Send

from api import pages
from api.negotiation import choose
from registry.base.errors import (
    InternalError,
    InvalidRequest,
    InvalidToken,
    ProtocolError,
    RegistryError,
    ValidationFailed,
)

TYPES = "https://w3id.org/fdi/problems/"
MEDIA_TYPE = "application/problem+json"


def document(error: RegistryError, instance: str) -> dict[str, object]:
    """The problem document of ``error`` met at ``instance`` (the request's path).

    >>> from registry.base.errors import NotFound
    >>> document(NotFound("no asset 7"), "/id/asset/7")["type"]
    'https://w3id.org/fdi/problems/not-found'
    """
    body: dict[str, object] = {
        "type": TYPES + error.type_slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        **error.extra,
    }
    if isinstance(error, ValidationFailed):
        body["report"] = error.report.as_dict()
    return body


def render(
    request: Request, error: RegistryError, headers: dict[str, str] | None = None
) -> Response:
    """``error`` as the answer to ``request``: its problem document, or an HTML page when the
    request prefers one, with ``headers`` and the error's own (``Location`` of an existing
    record a conflict points at, ``WWW-Authenticate`` for a refused token)."""
    body = document(error, str(request.url.path))
    extra: dict[str, str] = {}
    # A conflict with an existing record (a second application, a duplicate asset) points at it.
    existing = error.extra.get("existing")
    if isinstance(existing, str):
        extra = {"Location": existing, "Link": f'<{existing}>; rel="duplicate"'}
    if isinstance(error, InvalidToken):  # RFC 6750 section 3
        extra["WWW-Authenticate"] = error.challenge
    extra.update(headers or {})
    if choose(request.headers.get("accept"), [MEDIA_TYPE, "text/html"]) == "text/html":
        return HTMLResponse(pages.render("problem.html", problem=body), error.status, headers=extra)
    return JSONResponse(body, error.status, headers=extra, media_type=MEDIA_TYPE)


async def send(scope: Scope, send: Send, error: RegistryError, **headers: str) -> None:
    """Answer with ``error`` from ASGI middleware, before (or instead of) any route."""
    await render(Request(scope), error, headers)(scope, _no_body, send)


async def _no_body() -> Message:  # a problem is sent without reading the request's body
    return {"type": "http.disconnect"}


def invalid_request(error: RequestValidationError) -> InvalidRequest:
    """FastAPI's 422 for parameters and JSON bodies, without the offending input (which may be
    a whole body): where each problem is, and what."""
    errors = [
        {"where": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in error.errors()
    ]
    return InvalidRequest("the request does not match the API", errors=errors)


def protocol_error(error: HTTPException) -> ProtocolError:
    """Starlette's refusals (404 no route, 405, 400 unreadable body) with the status's phrase
    as their title."""
    title = HTTPStatus(error.status_code).phrase
    return ProtocolError(str(error.detail), status=error.status_code, title=title)


def unexpected(request_id: str | None) -> InternalError:
    """The 500 for an error no handler caught: nothing of the exception, only where the
    operator finds it in the log."""
    where = f" under request ID {request_id}" if request_id else ""
    return InternalError(f"the registry met an unexpected error; it is logged{where}")
