"""A SPARQL 1.1 Protocol request read (query, dataset) and the media types it asks for; its
query run over the dataset the requester may see. Served by ``/sparql`` (api/sparql.py) and the
SPARQL page (api/sparql_page.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from fastapi import Request

from api.auth import client_address
from api.logs import request_id
from api.negotiation import choose, negotiate
from registry.base.errors import QueryRefused, UnsupportedFormat
from registry.base.identity import Principal
from registry.base.media import SPARQL_DOWNLOADS
from registry.query.sparql_results import GRAPH_MEDIA, SOLUTION_MEDIA, QueryAnswer
from registry.trust.access_log import audit_query_reads

QUERY_MEDIA = "application/sparql-query"
FORM_MEDIA = "application/x-www-form-urlencoded"
UPDATE_PARAMETERS = {"update", "using-graph-uri", "using-named-graph-uri"}
_SOLUTION_OFFERS = list(SOLUTION_MEDIA)
_GRAPH_OFFERS = list(GRAPH_MEDIA)
PAGE = "text/html"  # the SPARQL page: a form, example queries, results as a table
# ?format= names a media type for links that cannot set Accept (the page's downloads).
FORMATS = SPARQL_DOWNLOADS  # json, xml, csv, tsv, ttl, nt, jsonld, rdf, html (PAGE)


@dataclass
class ProtocolRequest:
    """What a protocol request asks: the query (None: the service description) and dataset."""

    query: str | None
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)


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
