"""The authorisation server's routes (registry.trust.authorisation_server does the work): discovery
metadata (RFC 8414, OpenID), its key set, the token, pushed-request, authorisation and
introspection endpoints. See docs/authorisation-server.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api import pages
from api.auth import authenticated_principal, client_certificate
from registry.base.identity import Principal
from registry.trust.authorisation_server import Server
from registry.trust.oauth_objects import Call, Reply

router = APIRouter(tags=["Authorisation server"])

FORM = {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}


def _server(request: Request) -> Server:
    server: Server = request.app.state.authorisation
    return server


async def _call(request: Request) -> Call:
    form = await request.form() if request.method == "POST" else {}
    # the registry's public URL (behind a TLS-terminating proxy the request itself is http)
    public = request.app.state.settings.base_iri.rstrip("/") + request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    return Call(
        request.method,
        public + query,
        dict(request.headers),
        dict(request.query_params),
        {k: v for k, v in form.items() if isinstance(v, str)},
        client_certificate(request),
    )


def _reply(reply: Reply) -> Response:
    headers = {k: v for k, v in reply.headers if k.lower() != "content-type"}
    headers.setdefault("Cache-Control", "no-store")
    if isinstance(reply.body, dict):
        return JSONResponse(reply.body, status_code=reply.status, headers=headers)
    return Response(reply.body or b"", status_code=reply.status, headers=headers)


@router.get("/.well-known/oauth-authorization-server", summary="Authorisation server metadata")
def metadata(request: Request) -> dict[str, Any]:
    return _server(request).metadata()


@router.get("/.well-known/openid-configuration", summary="OpenID discovery metadata")
def openid_configuration(request: Request) -> dict[str, Any]:
    return _server(request).metadata(openid=True)


@router.get("/oauth/jwks", summary="The keys access tokens are signed with")
def jwks(request: Request) -> dict[str, Any]:
    return _server(request).key.jwks()


@router.post(
    "/oauth/token",
    summary="Token endpoint: client credentials, authorisation code, refresh token",
    openapi_extra={"requestBody": {"content": FORM}},
)
async def token(request: Request) -> Response:
    return _reply(await run_in_threadpool(_server(request).token, await _call(request)))


@router.post(
    "/oauth/par",
    summary="Pushed authorisation request (RFC 9126)",
    status_code=201,
    openapi_extra={"requestBody": {"content": FORM}},
)
async def pushed_authorisation_request(request: Request) -> Response:
    return _reply(await run_in_threadpool(_server(request).push, await _call(request)))


@router.post(
    "/oauth/introspect",
    summary="Token introspection (RFC 7662) for members' resource servers",
    openapi_extra={"requestBody": {"content": FORM}},
)
async def introspect(request: Request) -> Response:
    return _reply(await run_in_threadpool(_server(request).introspect, await _call(request)))


@router.get(
    "/oauth/authorize",
    summary="The consent page an administrator approves a pushed request on",
    response_class=HTMLResponse,
)
def consent_page(
    request: Request,
    client_id: str = Query(),
    request_uri: str = Query(),
    principal: Principal = Depends(authenticated_principal),
) -> HTMLResponse:
    consent = _server(request).consent(principal, client_id, request_uri)
    return HTMLResponse(pages.render("consent.html", consent=consent))


@router.post("/oauth/authorize", summary="The administrator's decision on a pushed request")
async def decide(
    request: Request,
    client_id: str = Form(),
    request_uri: str = Form(),
    consent: str = Form(),
    decision: str = Form(),
    principal: Principal = Depends(authenticated_principal),
) -> Response:
    reply = await run_in_threadpool(
        _server(request).authorize,
        await _call(request),
        principal,
        client_id,
        request_uri,
        consent,
        decision == "approve",
    )
    return _reply(reply)
