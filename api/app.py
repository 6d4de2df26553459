"""The HTTP service: application factory, error rendering, and the routers.

Handlers that touch the store are plain ``def`` functions: FastAPI runs them in its thread pool,
so a slow query never blocks the event loop (pyoxigraph calls hold no ``await``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from api import (
    agreements,
    assets,
    audit,
    auth,
    cases,
    catalogue,
    certificates,
    claims,
    commercial,
    directory,
    erasures,
    federation,
    feed,
    inbox,
    integrity,
    linked_data,
    logs,
    member_pages,
    monitor,
    oauth,
    organisations,
    pages,
    people,
    problems,
    proposals,
    records,
    refusals,
    schemes,
    sequence,
    sparql,
    statistics,
    submissions,
    vocabulary,
    webhooks,
)
from api.authorisation import gate
from api.conventions import Conventions
from api.limits import BodySizeLimit
from registry import __version__
from registry.assembly import Registry
from registry.assets.jobs import JobRunner
from registry.base.errors import (
    Forbidden,
    RegistryError,
    Unauthenticated,
)
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.markets import sharing
from registry.messaging import webhook_delivery
from registry.operations import monitoring
from registry.operations.demo_files import load_demo
from registry.operations.refusals import Refusals
from registry.trust import authorisation_server
from registry.trust.access_log import DigestSender
from registry.trust.ca import CertificateAuthority

DESCRIPTION = """
An open registry for Britain's flexibility digital infrastructure (Ofgem FDI BUC.4 and BUC.2):
organisations, flexible assets, rights to operate, scheme licences and data-sharing agreements
as RDF, every submission checked against the published SHACL shapes (`/shapes`), queried with
SPARQL 1.1 (`/sparql`). Errors are RFC 9457 problem details.

Every answer carries `FDI-Sequence`, the journal sequence the answering registry had applied.
Sent back as `FDI-Min-Sequence` on a read (to any replica), it is answered once that replica has
applied the journal that far, or 503 `not-caught-up` with `Retry-After` (docs/replicas.md).
"""


def create_app(settings: Settings | None = None, *, demo_assets: int = 0) -> FastAPI:
    """Build the application around one registry (opened here, closed on shutdown)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.jobs.resume()  # bulk jobs a crash or restart interrupted carry on
        app.state.monitor.start()  # endpoint checks every monitor_interval seconds
        app.state.digests.start()  # reads of members' data, digested to them
        app.state.webhooks.start()  # notifications also POSTed to members' webhooks
        app.state.operator_copies.start()  # rights dated ahead, or ending, move SPARQL copies
        yield
        app.state.operator_copies.stop()
        app.state.webhooks.stop()
        app.state.digests.stop()
        app.state.monitor.stop()
        app.state.registry.close()

    # Swagger UI (/docs) from the registry's own origin: its script and styles ship in the
    # fastapi-offline package, so the page works with no internet and tells no third party who
    # reads it. No validator badge (it would call validator.swagger.io); no ReDoc (its page
    # loads a logo from Redocly's CDN).
    app = FastAPIOffline(
        title="FDI registry",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        static_url="/docs/assets",
        redoc_url=None,
        swagger_ui_parameters={"validatorUrl": None},
        # Every operation's rule (registry/kernel/authorisation.py) is applied before its handler.
        dependencies=[Depends(gate)],
    )
    registry = Registry(settings)
    if demo_assets and not any(registry.counts().values()):
        load_demo(registry, assets=demo_assets)
    app.state.registry = registry
    app.state.settings = settings
    app.state.jobs = JobRunner(registry)
    app.state.digests = DigestSender(registry, settings.digest_interval)
    app.state.webhooks = webhook_delivery.Sender(registry)
    app.state.operator_copies = sharing.OperatorCopies(registry)
    app.state.ca = CertificateAuthority.open(settings.data_dir)
    app.state.refusals = Refusals()
    app.state.authorisation = authorisation_server.Server(registry, app.state.ca)
    app.state.monitor = monitoring.Monitor(registry)
    app.add_exception_handler(RegistryError, _problem)  # type: ignore[arg-type]
    # the framework's own refusals leave through the same renderer
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    for module in (pages, member_pages, sparql, records, submissions):
        app.include_router(module.router)
    for module in (integrity, audit, refusals, erasures):
        app.include_router(module.router)
    for module in (organisations, schemes, people, certificates, auth, oauth):
        app.include_router(module.router)
    app.include_router(assets.router)
    app.include_router(claims.router)
    app.include_router(catalogue.router)
    app.include_router(federation.router)
    app.include_router(vocabulary.router)  # /ns/diff before /ns/{name}
    app.include_router(linked_data.router)
    app.include_router(feed.router)
    for module in (commercial, agreements, directory, monitor, cases, inbox, webhooks, proposals):
        app.include_router(module.router)
    app.include_router(statistics.router)
    app.include_router(vocabulary.versions)  # /shapes/{version}/{name}, after /shapes/market/
    # GET and POST /sparql are answered before routing (api/sparql.py); inside the body limit.
    app.add_middleware(sparql.SparqlRoute, render_problem=_problem)
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_body_bytes,
        anonymous=settings.anonymous_max_body_bytes,
    )
    # FDI-Sequence on every answer; a read waits for FDI-Min-Sequence (replicas)
    app.add_middleware(sequence.Sequence, render_problem=_problem)
    app.add_middleware(Conventions)  # HEAD, OPTIONS, CORS
    # every 4xx, the body limit's 413s included, is counted per source
    app.add_middleware(refusals.CountRefusals, refusals=app.state.refusals)
    # around all: the request's ID (X-Request-ID, on every log record), one log line per
    # answer, and the 500 problem for an error nothing else caught (api/logs.py)
    app.add_middleware(logs.RequestIds)
    return app


def _problem(
    request: Request, error: RegistryError, headers: dict[str, str] | None = None
) -> Response:
    """Render a registry error (api/problems.py). An authorisation refusal (403, or 401 for a
    certificate the registry no longer accepts) is journaled as an audit event first."""
    _audit_refusal(request, error)
    return problems.render(request, error, headers)


def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    return _problem(request, problems.invalid_request(error))


def _http_error(request: Request, error: HTTPException) -> Response:
    return _problem(request, problems.protocol_error(error), dict(error.headers or {}))


def _audit_refusal(request: Request, error: RegistryError) -> None:
    """Journal a refusal: who was refused what, in which request. Requests without any
    certificate that meet a 401 are not refusals of a member and are not journaled."""
    if not isinstance(error, (Forbidden, Unauthenticated)):
        return
    if isinstance(error, Unauthenticated) and not auth.presents_certificate(request):
        return
    try:
        principal = auth.requester(request)
    except RegistryError:  # the certificate itself was refused: record the refusal anonymously
        principal = Principal.anonymous()
    request.app.state.registry.audit(
        principal,
        "refused",
        f"{request.method} {request.url.path}",
        logs.request_id(),
    )
