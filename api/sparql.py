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
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import client_address, requester
from api.logs import request_id
from api.negotiation import choose, negotiate
from registry.base.errors import QueryRefused, RegistryError, UnsupportedFormat
from registry.base.identity import Principal
from registry.query.sparql_results import GRAPH_MEDIA, SOLUTION_MEDIA, QueryAnswer
from registry.trust.access_log import audit_query_reads

router = APIRouter(tags=["SPARQL"])

PATH = "/sparql"
QUERY_MEDIA = "application/sparql-query"
FORM_MEDIA = "application/x-www-form-urlencoded"
UPDATE_PARAMETERS = {"update", "using-graph-uri", "using-named-graph-uri"}
DESCRIPTION_PREFIXES = {
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "formats": "http://www.w3.org/ns/formats/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
_SOLUTION_OFFERS = list(SOLUTION_MEDIA)
_GRAPH_OFFERS = list(GRAPH_MEDIA)
PAGE = "text/html"  # the SPARQL page: a form, example queries, results as a table
# ?format= names a media type for links that cannot set Accept (the page's downloads).
FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "html": PAGE,
}


@dataclass
class ProtocolRequest:
    """What a protocol request asks: the query (None: the service description) and dataset."""

    query: str | None
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)


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
        from api.sparql_page import page

        return page(request, asked, principal)
    if asked.query is None:
        return _description(request, principal, wanted)
    return _answer(request, asked, principal, wanted)


@dataclass(frozen=True)
class Wanted:
    """What a request asks to be answered in: the page, or a type for solutions and booleans
    and one for graphs (CONSTRUCT, DESCRIBE, the service description)."""

    page: bool
    solutions: str
    graph: str


def wanted_media(accept: str | None, format_name: str | None = None) -> Wanted:
    """Read ``Accept`` (or ``?format=``, which wins). A browser's Accept gets the page; ``*/*``
    or no header, SPARQL results JSON and Turtle. Raises NotAcceptable when nothing offered
    is acceptable.

    >>> wanted_media("text/html,application/xml;q=0.9,*/*;q=0.8").page
    True
    >>> wanted_media("text/csv").solutions, wanted_media(None, "ttl").graph
    ('text/csv', 'text/turtle')
    """
    if format_name is not None:
        media = negotiate(None, list(FORMATS.values()), FORMATS.get(format_name, format_name))
        accept = media
    else:
        negotiate(accept, [*_SOLUTION_OFFERS, *_GRAPH_OFFERS, PAGE])  # raises NotAcceptable
    best = choose(accept, [*_SOLUTION_OFFERS, *_GRAPH_OFFERS, PAGE])
    return Wanted(
        best == PAGE,
        choose(accept, _SOLUTION_OFFERS) or _SOLUTION_OFFERS[0],
        choose(accept, _GRAPH_OFFERS) or _GRAPH_OFFERS[0],
    )


def read_protocol(
    url_parameters: list[tuple[str, str]], content_type: str | None, body: bytes | None
) -> ProtocolRequest:
    """Read a protocol request: URL parameters, and for a POST its content type and body.

    Raises UnsupportedFormat (415) for a body that is neither a form nor a query (an update
    included), QueryRefused (400) for updates, two queries, or a body that is not UTF-8.

    >>> read_protocol([("query", "ASK {}")], None, None).query
    'ASK {}'
    >>> read_protocol([], "application/sparql-query", b"ASK {}").query
    'ASK {}'
    """
    parameters = list(url_parameters)
    if body is not None:
        media, charset = _media_type(content_type)
        if charset not in (None, "utf-8"):
            raise UnsupportedFormat(f"the body must be UTF-8, not {charset}")
        if media == QUERY_MEDIA:
            parameters.append(("query", _utf8(body)))
        elif media == FORM_MEDIA:
            parameters += parse_qsl(_utf8(body), keep_blank_values=True)
        else:
            raise UnsupportedFormat(
                f"content type {media or '(none)'} is not accepted: send {QUERY_MEDIA} or "
                f"{FORM_MEDIA}; SPARQL Update is not accepted, the registry is written through "
                "its submissions"
            )
    names = [name for name, _ in parameters]
    if UPDATE_PARAMETERS & set(names):
        raise QueryRefused(
            "this endpoint answers queries only; updates are not accepted: the registry is "
            "written through its submissions"
        )
    queries = [value for name, value in parameters if name == "query"]
    if len(queries) > 1:
        raise QueryRefused("give exactly one query (the 'query' parameter appears twice)")
    dataset = {"default-graph-uri", "named-graph-uri"} & set(names)
    if not queries and (body is not None or dataset):
        raise QueryRefused("no query given: pass it as the 'query' parameter or the body")
    return ProtocolRequest(
        queries[0] if queries else None,
        [value for name, value in parameters if name == "default-graph-uri"],
        [value for name, value in parameters if name == "named-graph-uri"],
    )


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    media, *params = (content_type or "").split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower().replace("utf8", "utf-8")
    return media.strip().lower(), charset


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise QueryRefused(f"the request body is not UTF-8 ({e.reason} at byte {e.start})") from e


def run_query(
    request: Request, asked: ProtocolRequest, principal: Principal, wanted: Wanted
) -> QueryAnswer:
    """Run the query over the dataset the requester may see (registry/kernel/access.py), and journal
    what it read of other organisations' records."""
    registry = request.app.state.registry
    answer: QueryAnswer = registry.sparql.answer(
        asked.query,
        registry.dataset_for(principal),
        default_graph_uris=asked.default_graph_uris,
        named_graph_uris=asked.named_graph_uris,
        solutions_media=wanted.solutions,
        graph_media=wanted.graph,
        requester=principal.organisation or "address " + client_address(request),
    )
    # BUC.2 step 6a: what an MO sees of an FSP's records through SPARQL is a read of them.
    audit_query_reads(registry, principal, answer.body, answer.media_type, request_id())
    return answer


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
