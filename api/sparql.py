"""``/sparql``: the SPARQL 1.1 Protocol for queries (GET, form POST, direct POST).

The route table follows Oxigraph's server: ``query`` in the URL or a form body, or the query
itself as ``application/sparql-query``; any other body is 415. ``default-graph-uri`` and
``named-graph-uri`` choose the dataset among the graphs the requester may see. ``GET /sparql``
without a query answers the service description. Updates are not accepted: the registry is
written through its submissions. See docs/sparql.md.

``GET`` and ``POST`` are answered by :class:`SparqlRoute`, a plain ASGI handler the
application puts in front of FastAPI's routing: FastAPI's per-request parameter validation and
dependency solving cost more than the rest of a lookup (measured in docs/sparql.md). The
FastAPI routes below document ``/sparql`` in the OpenAPI document and answer the same way when
the router is used without it; both call :func:`respond`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import requester
from api.sparql_page import page
from api.sparql_protocol import (
    FORM_MEDIA,
    QUERY_MEDIA,
    ProtocolRequest,
    Wanted,
    read_protocol,
    run_query,
    wanted_media,
)
from registry.base.errors import RegistryError
from registry.base.identity import Principal
from registry.base.vocab import FORMATS, RDFS, SD
from registry.query.sparql_results import GRAPH_MEDIA, SOLUTION_MEDIA

router = APIRouter(tags=["SPARQL"])

PATH = "/sparql"
DESCRIPTION_PREFIXES = {"sd": SD.iri, "formats": FORMATS.iri, "rdfs": RDFS.iri}


# Declared for the OpenAPI document; read_protocol reads the parameters themselves, because
# the protocol says what a repeated "query" means (400) and FastAPI would keep the last one.
QueryText = Annotated[
    str | None,
    Query(description="The SPARQL 1.1 query; without it, GET answers the service description."),
]
DefaultGraphs = Annotated[
    list[str] | None,
    Query(alias="default-graph-uri", description="Graphs whose union is the default graph."),
]
NamedGraphs = Annotated[
    list[str] | None, Query(alias="named-graph-uri", description="The named graphs.")
]


_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}, "text/html": {}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer: solutions or a boolean in a SPARQL results format, a graph "
        "(CONSTRUCT, DESCRIBE, the service description) in an RDF format, or the SPARQL page "
        "(text/html). A cut answer has FDI-Results-Truncated: true and links "
        "fdi:TruncatedResults from its head.",
        "content": {
            media: {"schema": {"type": "string"}}
            for media in [*SOLUTION_MEDIA, *GRAPH_MEDIA, "text/html"]
        },
    },
    400: {"description": "A malformed or refused query, or an update.", "content": _PROBLEM},
    406: {"description": "None of the offered types is acceptable.", "content": _PROBLEM},
    415: {"description": "A body that is neither a form nor a query.", "content": _PROBLEM},
    503: {
        "description": "The query ran past the time limit, or no worker was free.",
        "content": _PROBLEM,
    },
}


@router.get(
    PATH,
    summary="Run a SPARQL query (GET), or describe the service",
    response_class=Response,
    responses=RESPONSES,
)
def sparql_get(
    request: Request,
    query: QueryText = None,
    default_graph_uri: DefaultGraphs = None,
    named_graph_uri: NamedGraphs = None,
) -> Response:
    return respond(request, None)


@router.post(
    PATH,
    summary="Run a SPARQL query (form POST or direct POST)",
    response_class=Response,
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                FORM_MEDIA: {
                    "schema": {"type": "object", "properties": {"query": {"type": "string"}}}
                },
                QUERY_MEDIA: {"schema": {"type": "string"}},
            }
        }
    },
)
async def sparql_post(
    request: Request,
    default_graph_uri: DefaultGraphs = None,
    named_graph_uri: NamedGraphs = None,
) -> Response:
    body = await request.body()
    return await run_in_threadpool(respond, request, body)


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class SparqlRoute:
    """ASGI middleware answering ``GET`` and ``POST`` on ``/sparql`` itself, and passing every
    other request on. A registry error becomes the response ``render_problem(request, error)``
    gives (the application's RFC 9457 renderer); anything else propagates as from a route.

    Everything that may block (authenticating a certificate, the query, the read audit,
    rendering a refusal, which journals it) runs in one trip to the thread pool."""

    def __init__(
        self, app: ASGIApp, render_problem: Callable[[Request, RegistryError], Response]
    ) -> None:
        self.app = app
        self.render_problem = render_problem

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "POST")
            or scope["path"][len(scope.get("root_path", "")) :] != PATH
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body() if scope["method"] == "POST" else None
        response = await run_in_threadpool(self._respond, request, body)
        await response(scope, receive, send)

    def _respond(self, request: Request, body: bytes | None) -> Response:
        try:
            return respond(request, body)
        except RegistryError as error:
            return self.render_problem(request, error)


def respond(request: Request, body: bytes | None) -> Response:
    """Answer a protocol request (``body``: a POST's body, None for a GET): the query's
    answer, or the service description. Raises Unauthenticated (a certificate the registry
    does not accept), UnsupportedFormat, QueryRefused and the errors of
    ``SparqlEndpoint.answer``."""
    principal = requester(request)
    content_type = request.headers.get("content-type") if body is not None else None
    asked = read_protocol(request.query_params.multi_items(), content_type, body)
    wanted = wanted_media(request.headers.get("accept"), request.query_params.get("format"))
    if wanted.page:
        return page(request, asked, principal)
    if asked.query is None:
        return _description(request, principal, wanted)
    return _answer(request, asked, principal, wanted)


def _answer(
    request: Request, asked: ProtocolRequest, principal: Principal, wanted: Wanted
) -> Response:
    registry = request.app.state.registry
    answer = run_query(request, asked, principal, wanted)
    headers = {"Vary": "Accept", "FDI-Result-Limit": str(registry.settings.max_results)}
    if answer.truncated:
        headers["FDI-Results-Truncated"] = "true"
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _description(request: Request, principal: Principal, wanted: Wanted) -> Response:
    registry = request.app.state.registry
    triples = registry.sparql.description(registry.dataset_for(principal))
    media = wanted.graph
    body = ox.serialize(triples, format=GRAPH_MEDIA[media], prefixes=DESCRIPTION_PREFIXES)
    return Response(body, media_type=media, headers={"Vary": "Accept"})
