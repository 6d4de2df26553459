"""Common asset registration over HTTP (BUC.2): assets, rights to operate, bulk jobs, updates,
history.

Every route here needs an authenticated principal; registering needs the FSP role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import authenticated_principal, current_principal
from api.records import LINKED_DATA, represent
from api.submissions import BODY_SCHEMA, created, heavy, parse_body, read_body
from registry.assets.attestations import assurance as assess
from registry.assets.attestations import attest as record_attestation
from registry.assets.claims import claim_right
from registry.assets.jobs import JobRunner
from registry.base import iris
from registry.base.errors import NotFound
from registry.base.identity import Principal
from registry.markets import signposting
from registry.messaging.inbox import advertisement
from registry.rules import rules
from registry.submissions.formats import format_for
from registry.trust.access_log import reads_of

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry

router = APIRouter(tags=["Assets (BUC.2)"])
VERSION_NUMBER = Path(ge=1, le=2**62)  # SQLite's integers are 64-bit: 2^63 was a 500


@router.post(
    "/rights-to-operate",
    status_code=201,
    summary="Claim, or take over, the right to operate an asset (202: a claim awaiting consent)",
    openapi_extra=BODY_SCHEMA,
)
async def claim(
    request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """Registered at once (201) when the filer operates the asset today; otherwise kept as a
    claim (202, ``Location: /claims/{id}``) until the current operator or the asset owner
    confirms it. A right with ``fdi:takesOver`` is a switch of operator: the previous right
    ends the day this one starts and both operators are notified."""
    parsed = await parse_body(request)
    registry = request.app.state.registry
    outcome = await run_in_threadpool(claim_right, registry, parsed, principal)
    if isinstance(outcome, dict):
        return JSONResponse(outcome, status_code=202, headers={"Location": outcome["href"]})
    return JSONResponse(outcome.as_dict(), status_code=201, headers=created(outcome))


@router.post(
    "/jobs",
    status_code=202,
    summary="Register many records from a file, as a job",
    openapi_extra=BODY_SCHEMA,
)
async def submit_job(
    request: Request, principal: Principal = Depends(authenticated_principal)
) -> JSONResponse:
    """Good records are registered and each bad one reported by row and field; follow the
    ``Location`` to watch progress."""
    data = await read_body(request)
    fmt = format_for(media_type=request.headers.get("content-type") or "")
    runner: JobRunner = request.app.state.jobs
    job = await heavy(
        len(data),
        runner.submit,
        data,
        fmt,
        request.headers.get("x-filename", "upload"),
        principal,
        principal.organisation,
    )
    return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/jobs/{job.id}"})


@router.get("/jobs/{job_id}", summary="A bulk job's progress and per-row report")
def job(
    job_id: str, request: Request, principal: Principal = Depends(authenticated_principal)
) -> JSONResponse:
    found = request.app.state.jobs.get(job_id)
    if found.owner != principal.organisation and not principal.is_scheme_operator:
        raise NotFound(f"no job {job_id}")
    return JSONResponse(found.as_dict())


@router.put(
    "/id/{kind}/{uid}", summary="Update a record (needs If-Match)", openapi_extra=BODY_SCHEMA
)
async def update(
    kind: str,
    uid: str,
    request: Request,
    principal: Principal = Depends(authenticated_principal),
    if_match: str | None = Header(None),
) -> JSONResponse:
    """Send back the record as GET served it (Turtle, N-Triples or JSON-LD), changed or not,
    with its ETag in ``If-Match``: unchanged makes no new version; a change makes one. What
    only the registry states (status, assurance, roles, identifiers, publisher, assigner,
    provider, operator, created and modified times) must come back as served (403 otherwise).
    """
    registry: Registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    parsed = await parse_body(request)

    def update() -> Registration:  # in the thread pool: both read the register
        served = advertisement(registry, iri)  # served with the record, not part of it
        return registry.update(iri, parsed, principal, if_match, served)

    registration = await run_in_threadpool(update)
    version = registration.records[0]["version"] if registration.records else None
    return JSONResponse(registration.as_dict(), headers={"ETag": f'"{version}"'})


@router.get("/id/{kind}/{uid}/versions", summary="Every version of a record")
def versions(
    kind: str, uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    return JSONResponse({"record": iri, "versions": registry.history(iri, principal)})


@router.get(
    "/id/{kind}/{uid}/versions/{number}",
    summary="One version of a record",
    **LINKED_DATA,
)
def version(
    kind: str,
    uid: str,
    request: Request,
    number: int = VERSION_NUMBER,
    principal: Principal = Depends(current_principal),
) -> Response:
    registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    found, triples = registry.version(iri, number, principal=principal)
    return represent(request, triples, title=f"{iri} (version {found})", iri=iri, version=found)


@router.get(
    "/id/{kind}/{uid}/as-of",
    summary="A record as it was at a time",
    **LINKED_DATA,
)
def as_of(
    kind: str,
    uid: str,
    request: Request,
    time: str = Query(..., description="ISO 8601 time, e.g. 2026-01-31T00:00:00Z"),
    principal: Principal = Depends(current_principal),
) -> Response:
    registry = request.app.state.registry
    iri = iris.record(registry.settings.base_iri, kind, uid)
    found, triples = registry.version(iri, as_of=time, principal=principal)
    return represent(request, triples, title=f"{iri} as of {time}", iri=iri, version=found)


@router.get("/reads", summary="Who read my organisation's data, what and when")
def reads(
    request: Request,
    after: int = Query(0, ge=0, le=2**62, description="The last id already seen."),
    principal: Principal = Depends(authenticated_principal),
) -> JSONResponse:
    """Reads of your records by other organisations (market operators), oldest first."""
    assert principal.organisation is not None
    found = reads_of(request.app.state.registry, principal.organisation, after=after)
    return JSONResponse({"organisation": principal.organisation, "reads": found})


@router.post(
    "/id/asset/{uid}/attestations",
    status_code=201,
    openapi_extra=BODY_SCHEMA,
    summary="Attest facts about an asset (asset owner, installer, manufacturer)",
)
async def attest(
    uid: str, request: Request, principal: Principal = Depends(authenticated_principal)
) -> JSONResponse:
    """The facts are kept with their source and time beside the asset's own values; a value
    that differs is shown as a conflict, never written over the registered one."""
    registry = request.app.state.registry
    parsed = await parse_body(request)
    iri = iris.asset(registry.settings.base_iri, uid)
    registration = await run_in_threadpool(record_attestation, registry, iri, parsed, principal)
    return JSONResponse(registration.as_dict(), status_code=201, headers=created(registration))


@router.get(
    "/id/asset/{uid}/assurance",
    summary="An asset's sources: attested facts, conflicts, whether it can skip manual checks",
)
def assurance(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    registry = request.app.state.registry
    return JSONResponse(assess(registry, iris.asset(registry.settings.base_iri, uid), principal))


@router.get(
    "/id/asset/{uid}/signpost",
    summary="What each market operator still needs of this asset before pre-qualification",
)
def signpost(
    uid: str, request: Request, principal: Principal = Depends(current_principal)
) -> JSONResponse:
    """Every market whose operator publishes requirements (``/signpost``), whether the asset
    meets them, and what is missing (field, rule, message)."""
    registry = request.app.state.registry
    iri = iris.asset(registry.settings.base_iri, uid)
    triples = registry.record(iri, principal)
    return JSONResponse(
        {
            "asset": iri,
            "markets": signposting.check(
                triples, iri, registry.settings.base_iri, rules.in_force(registry)
            ),
        }
    )
