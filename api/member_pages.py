"""Member pages, behind the organisation's client certificate (mutual TLS in the browser):
who I am, validate a file (the same report as ``fdi validate``), my assets and rights, who
read my data, my notifications. Without a certificate each answers 401 with a page saying how
to sign in. Plain HTML forms: no JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.auth import authenticated_principal
from api.pages import render
from registry.base.errors import UnusableInput
from registry.base.identity import Principal
from registry.markets.agreement_terms import organisation_name
from registry.markets.sharing import agreements_of, shared_with
from registry.messaging.inbox import container
from registry.publishing.my_records import owned_assets_and_rights
from registry.shacl.validation import parse_and_check
from registry.submissions.formats import format_for, read_bytes
from registry.trust.access_log import reads_of

router = APIRouter(tags=["Member pages"], include_in_schema=True)
Member = Depends(authenticated_principal)


def _page(request: Request, template: str, principal: Principal, **context: object) -> HTMLResponse:
    registry = request.app.state.registry
    name = organisation_name(registry, principal.organisation or "")
    html = render(
        template,
        base=registry.settings.base_iri,
        me=principal,
        me_name=name,
        roles=sorted(r.rsplit("#", 1)[-1] for r in principal.roles),
        **context,
    )
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store", "Vary": "Accept"})


@router.get("/me", response_class=HTMLResponse, summary="My organisation (member page)")
def me(request: Request, principal: Principal = Member) -> HTMLResponse:
    return _page(request, "me.html", principal)


@router.get("/me/validate", response_class=HTMLResponse, summary="Validate a file (member page)")
def validate_form(request: Request, principal: Principal = Member) -> HTMLResponse:
    return _page(request, "me_validate.html", principal, report=None)


@router.post("/me/validate", response_class=HTMLResponse, summary="Validate a file (member page)")
async def validate_file(request: Request, principal: Principal = Member) -> HTMLResponse:
    """The uploaded file checked against the rules, findings by record, row and field (stores
    nothing)."""
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise UnusableInput("choose a file to validate")
    data = await upload.read()
    fmt = format_for(upload.filename)
    parsed = await run_in_threadpool(read_bytes, data, fmt, upload.filename)
    report = await run_in_threadpool(parse_and_check, parsed, request.app.state.registry.shapes)
    return _page(
        request, "me_validate.html", principal, report=report.as_dict(), filename=upload.filename
    )


@router.get("/me/assets", response_class=HTMLResponse, summary="My assets and rights (member page)")
def my_assets(request: Request, principal: Principal = Member) -> HTMLResponse:
    records = owned_assets_and_rights(request.app.state.registry, principal.organisation or "")
    return _page(request, "me_assets.html", principal, records=records)


@router.get("/me/reads", response_class=HTMLResponse, summary="Who read my data (member page)")
def my_reads(request: Request, principal: Principal = Member) -> HTMLResponse:
    registry = request.app.state.registry
    found = reads_of(registry, principal.organisation or "")
    names = {reader: organisation_name(registry, reader) for reader in {r["reader"] for r in found}}
    return _page(request, "me_reads.html", principal, reads=found[::-1], names=names)


@router.get(
    "/me/notifications", response_class=HTMLResponse, summary="My notifications (member page)"
)
def my_notifications(request: Request, principal: Principal = Member) -> HTMLResponse:
    registry = request.app.state.registry
    inbox = container(registry, principal, principal.organisation or "")
    return _page(request, "me_notifications.html", principal, notifications=inbox["contains"])


@router.get("/me/agreements", response_class=HTMLResponse, summary="My agreements (member page)")
def my_agreements(request: Request, principal: Principal = Member) -> HTMLResponse:
    """The data-sharing agreements the organisation made, and what others share with it."""
    registry = request.app.state.registry
    made = agreements_of(registry, principal)
    shared = shared_with(registry, principal)
    parties = {p for a in made for p in a["assignees"] + a["sharedWith"]}
    parties |= {s["assigner"] for s in shared}
    names = {p: organisation_name(registry, p) for p in parties if p}
    return _page(request, "me_agreements.html", principal, made=made, shared=shared, names=names)
