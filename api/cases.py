"""Customer services and redress over HTTP (registry.markets.redress does the work): members raise
complaints and disputes, the parties take the steps, the scheme operator resolves escalated
cases. Only the parties and the operator see a case. See docs/redress.md."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base import iris
from registry.base.identity import Principal
from registry.markets import redress

router = APIRouter(tags=["Customer services and redress"])


class NewCase(BaseModel):
    kind: Literal["complaint", "dispute"]
    summary: str = Field(description="What the case is about, in words.")
    against: str | None = Field(None, description="The member organisation's IRI.")
    about: str | None = Field(None, description="The record concerned (e.g. a right to operate).")


class Step(BaseModel):
    note: str | None = Field(None, description="The answer, why it is escalated, or the remedy.")
    outcome: str | None = Field(None, description="For resolve: " + ", ".join(redress.OUTCOMES))


def _iri(request: Request, uid: str) -> str:
    return iris.case(request.app.state.settings.base_iri, uid)


@router.post("/cases", status_code=201, summary="Raise a complaint or a dispute")
def raise_case(
    request: Request, body: NewCase, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    case = redress.raise_case(
        request.app.state.registry, principal, body.kind, body.summary, body.against, body.about
    )
    return JSONResponse(case, status_code=201, headers={"Location": case["id"]})


@router.get("/cases", summary="The cases you are a party to (all of them, for the operator)")
def cases(request: Request, principal: Principal = Depends(current_principal)) -> list[Any]:
    return redress.cases_of(request.app.state.registry, principal)


@router.get("/cases/{uid}", summary="One case, with every step taken")
def case(
    request: Request, uid: str, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return redress.view(request.app.state.registry, principal, _iri(request, uid))


@router.post(
    "/cases/{uid}/{step}",
    summary="Take a step: acknowledge, answer, escalate or resolve",
)
def take_step(
    request: Request,
    uid: str,
    step: Literal["acknowledge", "answer", "escalate", "resolve"],
    body: Step,
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    registry = request.app.state.registry
    return redress.take_step(registry, principal, _iri(request, uid), step, body.note, body.outcome)
