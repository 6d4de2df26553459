"""The certificate authority over HTTP: its certificate and revocation list (public), issuing a
client certificate from a CSR (an organisation administrator), listing and revoking.

``POST /organisations/{id}/certificates`` takes either JSON (``{"csr": "-----BEGIN ...",
"name": ..., "roles": [...], "scopes": [...], "user": ..., "days": ...}``) or the CSR itself
(``Content-Type: application/pkcs10``, PEM) with ``name``, ``role``, ``scope``, ``user`` and
``days`` as query parameters. Roles and scopes default to everything the organisation holds.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from api.organisations import org_iri
from registry.base import iris
from registry.base.errors import UnusableInput
from registry.base.identity import Principal
from registry.trust import certificates
from registry.trust.authentication import request_certificate, revoke_certificate
from registry.trust.people import require_admin

router = APIRouter(tags=["Certificates"])
PEM = "application/x-pem-file"

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["csr"],
                    "properties": {
                        "csr": {"type": "string"},
                        "name": {"type": "string"},
                        "user": {"type": "string"},
                        "roles": {"type": "array", "items": {"type": "string"}},
                        "scopes": {"type": "array", "items": {"type": "string"}},
                        "days": {"type": "integer"},
                    },
                }
            },
            "application/pkcs10": {"schema": {"type": "string"}},
        },
    }
}


class RevokeBody(BaseModel):
    reason: str | None = None


@router.get(
    "/ca/certificate",
    summary="The registry CA's certificate (PEM)",
    response_class=Response,
    responses={200: {"description": "The CA certificate.", "content": {PEM: {}}}},
)
def ca_certificate(request: Request) -> Response:
    return Response(request.app.state.ca.pem, media_type=PEM)


@router.get(
    "/ca/crl",
    summary="The CA's certificate revocation list (DER)",
    response_class=Response,
    responses={200: {"description": "The CRL (DER).", "content": {"application/pkix-crl": {}}}},
)
def crl(request: Request) -> Response:
    state = request.app.state
    return Response(
        certificates.revocation_list(state.registry, state.ca), media_type="application/pkix-crl"
    )


@router.post(
    "/organisations/{uid}/certificates",
    status_code=201,
    openapi_extra=_REQUEST_BODY,
    summary="Issue a client certificate from a CSR (organisation administrator)",
)
async def issue(
    uid: str,
    request: Request,
    principal: Principal = Depends(current_principal),
    name: str | None = None,
    user: str | None = None,
    days: int | None = Query(None, ge=1, le=36_600),
    role: list[str] | None = Query(None),
    scope: list[str] | None = Query(None),
) -> JSONResponse:
    raw = await request.body()
    fields: _CertificateFields = {
        "csr": raw.decode("utf-8", "replace"),
        "name": name,
        "user": user,
        "days": days,
        "roles": role,
        "scopes": scope,
    }
    if (request.headers.get("content-type") or "").startswith("application/json"):
        fields = _json_fields(raw)
    state = request.app.state
    given_user = fields.get("user")
    if given_user and "/" not in given_user:
        fields["user"] = iris.user(state.settings.base_iri, given_user)
    issued = await run_in_threadpool(
        request_certificate,
        state.registry,
        state.ca,
        principal,
        org_iri(request, uid),
        fields["csr"],
        name=fields.get("name"),
        user=fields.get("user"),
        roles=fields.get("roles"),
        scopes=fields.get("scopes"),
        days=fields.get("days"),
    )
    view = await run_in_threadpool(certificates.describe, state.registry, issued.iri)
    view.update(certificate=issued.pem, keyFingerprint=issued.key_fingerprint)
    return JSONResponse(view, status_code=201, headers={"Location": view["href"]})


@router.get(
    "/organisations/{uid}/certificates",
    summary="The organisation's certificates (its administrators)",
)
def list_certificates(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    org = require_admin(principal, org_iri(request, uid))
    return certificates.certificates_of(request.app.state.registry, org)


@router.get(
    "/certificates/{serial}", summary="An issued certificate (PEM; certificates are public)"
)
def certificate(serial: str, request: Request) -> Response:
    return Response(certificates.pem(request.app.state.registry, serial), media_type=PEM)


@router.post(
    "/certificates/{serial}/revoke",
    summary="Revoke a certificate (holder's administrator or scheme operator)",
)
def revoke(
    serial: str,
    body: RevokeBody,
    request: Request,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return revoke_certificate(request.app.state.registry, principal, serial, body.reason)


class _CertificateFields(TypedDict):
    """What a certificate request gives, in its query or as a JSON body (values as given)."""

    csr: str
    name: str | None
    user: str | None
    days: int | None
    roles: list[str] | None
    scopes: list[str] | None


def _json_fields(raw: bytes) -> _CertificateFields:
    try:
        fields = json.loads(raw)
    except ValueError as e:
        raise UnusableInput(f"the body is not JSON: {e}") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("csr"), str):
        raise UnusableInput('give the CSR as {"csr": "-----BEGIN CERTIFICATE REQUEST-----..."}')
    return {
        "csr": fields["csr"],
        "name": fields.get("name"),
        "user": fields.get("user"),
        "days": fields.get("days"),
        "roles": fields.get("roles"),
        "scopes": fields.get("scopes"),
    }
