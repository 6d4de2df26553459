"""Organisations over HTTP: apply to join (no certificate needed), see where an application
stands and what to do next, and the scheme operator's verify, reject, suspend, reinstate and
revoke. A second application with the same legal identifier gets 409 with ``Location`` and
``Link: <...>; rel="duplicate"`` pointing at the existing record.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base import iris
from registry.base.identity import Principal
from registry.trust import organisation_view, organisations

router = APIRouter(tags=["Organisations"])


class ContactPoint(BaseModel):
    name: str | None = None
    email: str = Field(description="An email address (mailto: is added if missing)")


class Person(BaseModel):
    name: str | None = None
    email: str


class ApplicationBody(BaseModel):
    """KYC evidence: the legal identity and how to reach the organisation."""

    legalName: str
    companyNumber: str | None = Field(None, description="Companies House number, any spelling")
    lei: str | None = Field(None, description="Legal Entity Identifier (ISO 17442)")
    registeredAddress: str | None = None
    website: str | None = None
    contactPoint: ContactPoint
    administrator: Person | None = Field(
        None, description="The first administrator (default: the contact point)"
    )
    csr: str | None = Field(
        None, description="PEM CSR for the administrator's first client certificate"
    )


class VerifyBody(BaseModel):
    assuranceLevel: Literal["SelfAsserted", "DocumentsChecked", "IndependentlyAudited"]
    note: str | None = None


class RejectBody(BaseModel):
    reasons: list[str] = Field(min_length=1)


class ReasonBody(BaseModel):
    reason: str


class OptionalReasonBody(BaseModel):
    reason: str | None = None


def org_iri(request: Request, uid: str) -> str:
    return iris.organisation(request.app.state.settings.base_iri, uid)


def _json(view: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{view["version"]}"'} if "version" in view else {}
    if status == 201:
        headers["Location"] = view["id"]
    return JSONResponse(view, status_code=status, headers=headers)


@router.post("/organisations", status_code=201, summary="Apply to join (KYC evidence)")
def apply(
    body: ApplicationBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    admin = body.administrator
    application = organisations.Application(
        legal_name=body.legalName,
        contact_email=body.contactPoint.email,
        company_number=body.companyNumber,
        lei=body.lei,
        registered_address=body.registeredAddress,
        website=body.website,
        contact_name=body.contactPoint.name,
        administrator_name=admin.name if admin else None,
        administrator_email=admin.email if admin else None,
        csr=body.csr,
    )
    return _json(organisations.apply(request.app.state.registry, application, principal), 201)


@router.get("/organisations/{uid}", summary="An organisation: status, memberships, next step")
def get(uid: str, request: Request) -> JSONResponse:
    return _json(organisation_view.organisation(request.app.state.registry, org_iri(request, uid)))


@router.post("/organisations/{uid}/verify", summary="Verify an applicant (scheme operator)")
def verify(
    uid: str,
    body: VerifyBody,
    request: Request,
    principal: Principal = Depends(current_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    state = request.app.state
    return _json(
        organisations.verify(
            state.registry,
            state.ca,
            principal,
            org_iri(request, uid),
            body.assuranceLevel,
            body.note,
            if_match,
        )
    )


@router.post(
    "/organisations/{uid}/reject", summary="Reject an application, with reasons (scheme operator)"
)
def reject(
    uid: str, body: RejectBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return _json(
        organisations.reject(
            request.app.state.registry, principal, org_iri(request, uid), body.reasons
        )
    )


@router.post("/organisations/{uid}/suspend", summary="Suspend a member (scheme operator)")
def suspend(
    uid: str, body: ReasonBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return _json(
        organisations.suspend(
            request.app.state.registry, principal, org_iri(request, uid), body.reason
        )
    )


@router.post(
    "/organisations/{uid}/reinstate", summary="Reinstate a suspended member (scheme operator)"
)
def reinstate(
    uid: str,
    body: OptionalReasonBody,
    request: Request,
    principal: Principal = Depends(current_principal),
) -> JSONResponse:
    return _json(
        organisations.reinstate(
            request.app.state.registry, principal, org_iri(request, uid), body.reason
        )
    )


@router.post("/organisations/{uid}/revoke", summary="Revoke a member for good (scheme operator)")
def revoke(
    uid: str, body: ReasonBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    return _json(
        organisations.revoke(
            request.app.state.registry, principal, org_iri(request, uid), body.reason
        )
    )
