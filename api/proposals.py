"""Proposals and rules versions over HTTP (registry.rules.proposals, registry.rules.impact,
registry.rules.rules
do the work): standards bodies and market operators propose, the registry reports the impact
on registered records, members comment through the proposal's inbox, the scheme operator
adopts with an effective date. ``/rules`` lists the versions and serves each one's shapes, which
``fdi validate --rules VERSION --registry URL`` downloads. See docs/standards.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import current_principal
from registry.base.activities import activity
from registry.base.identity import Principal
from registry.rules import consultation, impact, proposal_records, proposals, rules

router = APIRouter(tags=["Standards: proposals and rules versions"])


class NewProposal(BaseModel):
    title: str = Field(description="What the proposal changes, in a line.")
    description: str = Field("", description="Why, in words.")
    version: str = Field(description="The version it would make (semver, above the latest).")
    documents: dict[str, str] = Field(
        description="Document name (ontology/NAME, shapes/NAME, shapes/market/SLUG) to its new "
        "Turtle text: it replaces the latest version's document of that name, or adds one."
    )


class Adoption(BaseModel):
    effective: str = Field(
        description="When the version comes into force: an ISO 8601 date-time with a time zone."
    )


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_iri)


@router.post("/proposals", status_code=201, summary="Propose a new version of the rules")
def propose(
    request: Request, body: NewProposal, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    registry = request.app.state.registry
    proposal = proposals.propose(registry, principal, body.model_dump())
    impact.start(registry, proposal.iri)  # the report starts at once, in the background
    out = proposal.as_dict(_base(request), documents=False)
    return JSONResponse(out, status_code=201, headers={"Location": out["url"]})


@router.get("/proposals", summary="Every proposal, newest last")
def listing(request: Request) -> list[dict[str, Any]]:
    registry = request.app.state.registry
    return [p.summary(_base(request)) for p in proposal_records.every(registry)]


@router.get("/proposals/{uid}", summary="One proposal: its documents and comments")
def one(request: Request, uid: str) -> dict[str, Any]:
    registry = request.app.state.registry
    return proposal_records.by_uid(registry, uid).as_dict(_base(request))


@router.get(
    "/proposals/{uid}/impact",
    summary="Which registered records the proposal would refuse (computed in the background)",
)
def impact_report(
    request: Request, uid: str, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    registry = request.app.state.registry
    return impact.view(registry, principal, proposal_records.iri_of(registry, uid))


@router.get("/proposals/{uid}/inbox", summary="The comments on a proposal (an LDN inbox)")
def comments(request: Request, uid: str) -> dict[str, Any]:
    registry = request.app.state.registry
    proposal = proposal_records.by_uid(registry, uid)
    return activity(
        "OrderedCollection",
        id=f"{_base(request)}proposals/{uid}/inbox",
        totalItems=len(proposal.comments),
        orderedItems=[
            {
                "id": c["id"],
                "type": "Note",
                "attributedTo": c["author"],
                "published": c["published"],
                "content": c["content"],
                "inReplyTo": proposal.iri,
            }
            for c in proposal.comments
        ],
    )


@router.post(
    "/proposals/{uid}/inbox", status_code=201, summary="Comment on a proposal (post a Note)"
)
async def comment(
    request: Request, uid: str, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    registry = request.app.state.registry
    made = await run_in_threadpool(consultation.comment, registry, principal, uid, body)
    return JSONResponse(made, status_code=201, headers={"Location": made["id"]})


@router.post("/proposals/{uid}/adoption", summary="Adopt a proposal with an effective date")
def adopt(
    request: Request, uid: str, body: Adoption, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    registry = request.app.state.registry
    return proposals.adopt(registry, principal, uid, body.effective).as_dict()


@router.get("/rules", summary="Every released rules version, with its status and effective date")
def versions(request: Request) -> list[dict[str, Any]]:
    return [v.as_dict() for v in rules.versions(request.app.state.registry)]


@router.get(
    "/rules/{version}",
    summary="One rules version's shapes (Turtle), as fdi validate --rules downloads them",
    response_class=Response,
    responses={200: {"content": {"text/turtle": {}}}},
)
def version_shapes(request: Request, version: str) -> Response:
    v = rules.get(request.app.state.registry, version)
    body = v.shapes().serialize(format="turtle")
    return Response(
        body,
        media_type="text/turtle",
        headers={"Link": f'<{v.iri}>; rel="canonical"', "X-Rules-Version": v.version},
    )


@router.get(
    "/rules/{version}/{name:path}",
    summary="One document of a rules version (Turtle), such as shapes/asset or ontology/fdi",
    response_class=Response,
    responses={200: {"content": {"text/turtle": {}}}},
)
def version_document(request: Request, version: str, name: str) -> Response:
    v = rules.get(request.app.state.registry, version)
    return Response(v.text(name), media_type="text/turtle")
