"""``/sparql``: read-only SPARQL 1.1 queries (GET, form POST, direct POST).

The route table follows Oxigraph's server: ``query`` in the URL or a form body, or the query
itself as ``application/sparql-query``; anything else is 415.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import current_principal
from api.negotiation import choose
from registry.errors import QueryRefused, UnsupportedFormat
from registry.identity import Principal
from registry.query import QueryResult

router = APIRouter(tags=["SPARQL"])

SOLUTION_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/trig": ox.RdfFormat.TRIG,
}


@router.get("/sparql", summary="Run a SPARQL query (GET)")
def sparql_get(
    request: Request,
    query: str | None = Query(None, description="The SPARQL 1.1 query."),
    principal: Principal = Depends(current_principal),
) -> Response:
    if query is None:
        raise QueryRefused("no query given: pass it as the 'query' parameter")
    return _answer(request, query, principal)


@router.post(
    "/sparql",
    summary="Run a SPARQL query (form POST or direct POST)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"query": {"type": "string"}}}
                },
                "application/sparql-query": {"schema": {"type": "string"}},
            }
        }
    },
)
async def sparql_post(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media == "application/sparql-query":
        query = body.decode("utf-8", errors="strict")
    elif media == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get("query", [])
        if len(values) != 1:
            raise QueryRefused("give exactly one 'query' parameter")
        query = values[0]
    else:
        raise UnsupportedFormat(
            f"content type {media or '(none)'} is not accepted: send application/sparql-query "
            "or application/x-www-form-urlencoded"
        )
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_answer, request, query, principal)


def _answer(request: Request, query: str, principal: Principal) -> Response:
    """The query runs over the dataset the requester may see (registry/access.py)."""
    result = request.app.state.registry.query(query, principal)
    return _serialise(result, request.headers.get("accept"))


def _serialise(result: QueryResult, accept: str | None) -> Response:
    if result.kind == "graph":
        media = choose(accept, list(GRAPH_FORMATS)) or "text/turtle"
        body = ox.serialize(result.value, format=GRAPH_FORMATS[media])  # type: ignore[arg-type]
        return Response(body, media_type=media, headers={"Vary": "Accept"})
    media = choose(accept, list(SOLUTION_FORMATS)) or "application/sparql-results+json"
    if result.kind == "boolean":
        body = _boolean(bool(result.value), SOLUTION_FORMATS[media])
    else:
        body = result.value.serialize(format=SOLUTION_FORMATS[media])  # type: ignore[attr-defined]
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _boolean(value: bool, fmt: ox.QueryResultsFormat) -> bytes:
    if fmt == ox.QueryResultsFormat.XML:
        text = "true" if value else "false"
        return (
            '<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{text}</boolean></sparql>"
        ).encode()
    return (b'{"head":{},"boolean":' + (b"true" if value else b"false") + b"}")
