"""Schemes and memberships over HTTP: the scheme's roles, scopes and standard agreement (a
versioned document with its digest), asking to join, the scheme operator's grant, refusal,
suspension and revocation, and the member's acceptance of the agreement. Every membership
response says what the organisation must do next (``next``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base import iris
from registry.base.identity import Principal
from registry.trust import membership_view, memberships, schemes

router = APIRouter(tags=["Schemes and memberships"])


class JoinBody(BaseModel):
    roles: list[str] = Field(min_length=1, description="e.g. FlexibilityServiceProvider")
    note: str | None = None


class GrantBody(BaseModel):
    roles: list[str] = Field(min_length=1)
    scopes: list[str] | None = Field(
        None, description="default: the scheme's default scopes for the roles"
    )
    validFrom: dt.date | None = None
    validTo: dt.date | None = None


class AcceptBody(BaseModel):
    agreement: str | None = Field(
        None, description="the agreement's IRI or version (default: current)"
    )


class RefuseBody(BaseModel):
    reasons: list[str] = Field(min_length=1)


class ReasonBody(BaseModel):
    reason: str


class OptionalReasonBody(BaseModel):
    reason: str | None = None


def membership_iri(request: Request, uid: str) -> str:
    return iris.membership(request.app.state.settings.base_iri, uid)


@router.get("/schemes", summary="The schemes the registry runs")
def list_schemes(request: Request) -> list[dict[str, Any]]:
    return [schemes.describe(request.app.state.registry, s) for s in schemes.SCHEMES.values()]


@router.get("/schemes/{slug}", summary="A scheme: roles, scopes, operator, current agreement")
def get_scheme(slug: str, request: Request) -> dict[str, Any]:
    return schemes.describe(request.app.state.registry, schemes.scheme(slug))


@router.get(
    "/schemes/{slug}/agreement", summary="The current standard agreement (redirects to its version)"
)
def current_agreement(slug: str) -> Response:
    s = schemes.scheme(slug)
    return RedirectResponse(f"/schemes/{slug}/agreements/{s.current_version}", status_code=307)


@router.get("/schemes/{slug}/agreements/{version}", summary="One version of the standard agreement")
def agreement(slug: str, version: str) -> Response:
    text = schemes.scheme(slug).agreement_text(version)
    digest = hashlib.sha256(text).digest()
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={
            "ETag": f'"{digest.hex()[:32]}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:",
        },
    )


@router.post(
    "/schemes/{slug}/memberships",
    status_code=201,
    summary="Ask to join a scheme (organisation administrator)",
)
def join(
    slug: str, body: JoinBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    view = memberships.request_membership(
        request.app.state.registry, principal, schemes.scheme(slug), body.roles, body.note
    )
    return JSONResponse(view, status_code=201, headers={"Location": view["id"]})


@router.get("/memberships/{uid}", summary="A membership: roles, scopes, period, status, next step")
def get_membership(uid: str, request: Request) -> dict[str, Any]:
    return membership_view.membership(request.app.state.registry, membership_iri(request, uid))


@router.post(
    "/memberships/{uid}/grant", summary="Grant roles and scopes for a period (scheme operator)"
)
def grant(
    uid: str,
    body: GrantBody,
    request: Request,
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> dict[str, Any]:
    return memberships.grant(
        request.app.state.registry,
        principal,
        membership_iri(request, uid),
        body.roles,
        body.scopes,
        body.validFrom,
        body.validTo,
        if_match,
    )


@router.post(
    "/memberships/{uid}/accept",
    summary="Accept the scheme's standard agreement (organisation administrator)",
)
def accept(
    uid: str, body: AcceptBody, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return memberships.accept_agreement(
        request.app.state.registry, principal, membership_iri(request, uid), body.agreement
    )


@router.post(
    "/memberships/{uid}/refuse", summary="Refuse a request to join, with reasons (scheme operator)"
)
def refuse(
    uid: str, body: RefuseBody, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return memberships.refuse(
        request.app.state.registry, principal, membership_iri(request, uid), body.reasons
    )


@router.post("/memberships/{uid}/suspend", summary="Suspend a membership (scheme operator)")
def suspend(
    uid: str, body: ReasonBody, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return memberships.suspend(
        request.app.state.registry, principal, membership_iri(request, uid), body.reason
    )


@router.post(
    "/memberships/{uid}/reinstate", summary="Reinstate a suspended membership (scheme operator)"
)
def reinstate(
    uid: str,
    body: OptionalReasonBody,
    request: Request,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return memberships.reinstate(
        request.app.state.registry, principal, membership_iri(request, uid), body.reason
    )


@router.post("/memberships/{uid}/revoke", summary="Revoke a membership (scheme operator)")
def revoke(
    uid: str, body: ReasonBody, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return memberships.revoke(
        request.app.state.registry, principal, membership_iri(request, uid), body.reason
    )
