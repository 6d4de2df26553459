"""``/sparql``: the SPARQL 1.1 Protocol for queries (GET, form POST, direct POST).

The route table follows Oxigraph's server: ``query`` in the URL or a form body, or the query
itself as ``application/sparql-query``; any other body is 415. ``default-graph-uri`` and
``named-graph-uri`` choose the dataset among the graphs the requester may see. ``GET /sparql``
without a query answers the service description. Updates are not accepted: the registry is
written through its submissions. See docs/sparql.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from api.negotiation import choose
from registry.access_log import audit_query_reads
from registry.errors import QueryRefused, UnsupportedFormat
from registry.identity import Principal
from registry.sparql_results import GRAPH_MEDIA, SOLUTION_MEDIA, QueryAnswer

router = APIRouter(tags=["SPARQL"])

QUERY_MEDIA = "application/sparql-query"
FORM_MEDIA = "application/x-www-form-urlencoded"
UPDATE_PARAMETERS = {"update", "using-graph-uri", "using-named-graph-uri"}
DESCRIPTION_PREFIXES = {
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "formats": "http://www.w3.org/ns/formats/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
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
Requester = Annotated[Principal, Depends(current_principal)]


@router.get("/sparql", summary="Run a SPARQL query (GET), or describe the service")
def sparql_get(
    request: Request,
    principal: Requester,
    query: QueryText = None,
    default_graph_uri: DefaultGraphs = None,
    named_graph_uri: NamedGraphs = None,
) -> Response:
    asked = read_protocol(request.query_params.multi_items(), None, None)
    if asked.query is None:
        return _description(request, principal)
    return _answer(request, asked, principal)


@router.post(
    "/sparql",
    summary="Run a SPARQL query (form POST or direct POST)",
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
    principal: Requester,
    default_graph_uri: DefaultGraphs = None,
    named_graph_uri: NamedGraphs = None,
) -> Response:
    body = await request.body()
    media = request.headers.get("content-type")
    asked = read_protocol(request.query_params.multi_items(), media, body)
    return await run_in_threadpool(_answer, request, asked, principal)


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


def _answer(request: Request, asked: ProtocolRequest, principal: Principal) -> Response:
    """Run the query over the dataset the requester may see (registry/access.py)."""
    registry = request.app.state.registry
    accept = request.headers.get("accept")
    answer: QueryAnswer = registry.sparql.answer(
        asked.query,
        registry.dataset_for(principal),
        default_graph_uris=asked.default_graph_uris,
        named_graph_uris=asked.named_graph_uris,
        solutions_media=choose(accept, list(SOLUTION_MEDIA)) or "application/sparql-results+json",
        graph_media=choose(accept, list(GRAPH_MEDIA)) or "text/turtle",
    )
    # BUC.2 step 6a: what an MO sees of an FSP's records through SPARQL is a read of them.
    audit_query_reads(
        registry, principal, answer.body, answer.media_type, request.headers.get("x-request-id")
    )
    headers = {"Vary": "Accept", "FDI-Result-Limit": str(registry.settings.max_results)}
    if answer.truncated:
        headers["FDI-Results-Truncated"] = "true"
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _description(request: Request, principal: Principal) -> Response:
    registry = request.app.state.registry
    triples = registry.sparql.description(registry.dataset_for(principal))
    media = choose(request.headers.get("accept"), list(GRAPH_MEDIA)) or "text/turtle"
    body = ox.serialize(triples, format=GRAPH_MEDIA[media], prefixes=DESCRIPTION_PREFIXES)
    return Response(body, media_type=media, headers={"Vary": "Accept"})
