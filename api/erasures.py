"""Erasure of personal data over HTTP (the scheme operator's): erase a data subject's personal
data, and read the register of erasures made (registry.operations.erasure)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base.identity import Principal
from registry.operations import erasure

router = APIRouter(tags=["Erasure"])


class ErasureBody(BaseModel):
    subject: str = Field(
        min_length=1,
        description="The IRI of the data subject: a user, a contact point "
        "(…/id/org/{uid}#contact), an asset or a right to operate; a record IRI covers its "
        "#fragment nodes",
    )
    basis: str = Field(
        min_length=1, description="The legal basis of the erasure, e.g. UK GDPR art. 17(1)(a)"
    )


@router.post("/erasures", summary="Erase a data subject's personal data (scheme operator)")
def erase(
    body: ErasureBody, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return erasure.erase(request.app.state.registry, principal, body.subject, body.basis)


@router.get("/erasures", summary="The register of erasures made (scheme operator)")
def erasures(
    request: Request, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    return erasure.register(request.app.state.registry, principal)
