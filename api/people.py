"""People over HTTP: an organisation's administrators list, add and remove its users and set
their roles (``Administrator``, ``Editor``, ``Viewer``). Removing a person keeps the record
(status ``removed``) and revokes their certificates.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import current_principal
from api.organisations import org_iri
from registry.base import iris
from registry.base.identity import Principal
from registry.trust import people

router = APIRouter(tags=["People"])


class UserBody(BaseModel):
    name: str | None = None
    email: str
    roles: list[str] = Field(min_length=1, description="Administrator, Editor, Viewer")


class RolesBody(BaseModel):
    roles: list[str] = Field(min_length=1)


def user_iri(request: Request, uid: str) -> str:
    return iris.user(request.app.state.settings.base_iri, uid)


@router.get("/organisations/{uid}/users", summary="The organisation's users (its administrators)")
def list_users(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    return people.list_users(request.app.state.registry, principal, org_iri(request, uid))


@router.post(
    "/organisations/{uid}/users", status_code=201, summary="Add a user (organisation administrator)"
)
def add_user(
    uid: str, body: UserBody, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    view = people.add_user(
        request.app.state.registry,
        principal,
        org_iri(request, uid),
        body.name,
        body.email,
        body.roles,
    )
    return JSONResponse(view, status_code=201, headers={"Location": view["href"]})


@router.put(
    "/organisations/{uid}/users/{user}/roles",
    summary="Set a user's roles (organisation administrator)",
)
def set_roles(
    uid: str,
    user: str,
    body: RolesBody,
    request: Request,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return people.set_roles(
        request.app.state.registry,
        principal,
        org_iri(request, uid),
        user_iri(request, user),
        body.roles,
    )


@router.delete(
    "/organisations/{uid}/users/{user}", summary="Remove a user (record kept, certificates revoked)"
)
def remove_user(
    uid: str, user: str, request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return people.remove_user(
        request.app.state.registry, principal, org_iri(request, uid), user_iri(request, user)
    )
