"""Running one SPARQL query into bytes: the result formats, the result cap, the service description.

A query runs to serialised bytes in one call (:func:`execute`), so that it can run in a worker
process and send back only bytes (:mod:`registry.query.sparql_pool`). Solutions are written by this
module rather than by pyoxigraph's serialiser because at most ``max_results`` rows are taken
and the rest never evaluated: an answer says whether it was cut short (``truncated``).

>>> store = ox.Store()
>>> request = QueryRequest("SELECT ?x { VALUES ?x { 1 2 3 } }", Dataset((), ()),
...                        "text/csv", "text/turtle", max_results=2)
>>> answer = execute(store, request)
>>> answer.body, answer.truncated
(b'x\\r\\n1\\r\\n2\\r\\n', True)
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from registry.base.errors import QueryCapacity, QueryRefused, QueryTimeout
from registry.base.media import GRAPH_FORMAT_NAMES as GRAPH_FORMAT_NAMES
from registry.base.media import GRAPH_FORMATS, RESULT_FORMAT_NAMES
from registry.base.rdf import Term
from registry.base.vocab import FDI, XSD
from registry.query.query import Dataset

STACK_BYTES = 128 * 1024 * 1024  # for query threads; virtual, only pages a query touches are used
_stack_lock = threading.Lock()

# registry.base.media's tables, under the names the endpoint has used: media type → the name
# of the format in http://www.w3.org/ns/formats/ (service description), or Oxigraph's format.
SOLUTION_MEDIA = RESULT_FORMAT_NAMES
GRAPH_MEDIA = GRAPH_FORMATS
_RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
ASK_VARIABLE = "_askResult"
# In the results' head ("link" in JSON, <link href> in XML) when rows were cut at the cap: the
# SPARQL 1.1 result formats' own place for metadata about the results (docs/sparql.md).
TRUNCATED = FDI.TruncatedResults.value
T = TypeVar("T")


def timed_out(timeout: float) -> QueryTimeout:
    return QueryTimeout(
        f"the query did not finish within the time limit of {timeout:g} s and was stopped",
        limit=timeout,
    )


def busy(timeout: float) -> QueryCapacity:
    return QueryCapacity(
        f"every query worker stayed busy for {timeout:g} s; try again shortly", limit=timeout
    )


def start_big_stack_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """Start a daemon thread with a :data:`STACK_BYTES` stack, on which the deepest query the
    size limit allows parses (a few thousand nested brackets overflow the default 8 MiB)."""
    with _stack_lock:
        previous = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread


@dataclass(frozen=True)
class QueryRequest:
    """One query to run: its text, its dataset, the media types to answer in (one for
    solutions and booleans, one for graphs), the row cap, and the base for relative IRIs."""

    text: str
    dataset: Dataset
    solutions_media: str
    graph_media: str
    max_results: int
    base_iri: str | None = None
    prefixes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class QueryAnswer:
    """A serialised answer; ``count`` rows or triples (1 for a boolean), ``truncated`` if the
    query had more than ``max_results``."""

    body: bytes
    media_type: str
    count: int
    truncated: bool = False


Results = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


def execute(store: ox.Store, request: QueryRequest, deadline: float | None = None) -> QueryAnswer:
    """Run ``request`` on a pyoxigraph store and serialise the answer.

    Solutions are pulled one at a time and the query is abandoned at ``deadline`` (a
    ``time.monotonic()`` value) between two of them; a query that takes long before its first
    solution is only stopped by killing its process. Raises QueryRefused (malformed),
    QueryTimeout.
    """
    return execute_with(store_query(store), request, deadline)


def store_query(store: ox.Store) -> Callable[[QueryRequest], Results]:
    """A function running requests on ``store``, over exactly the request's dataset."""

    def run(r: QueryRequest) -> Results:
        return store.query(
            r.text,
            base_iri=r.base_iri,
            default_graph=[ox.NamedNode(g) for g in r.dataset.default],
            named_graphs=[ox.NamedNode(g) for g in r.dataset.named],
        )

    return run


def execute_with(
    run: Callable[[QueryRequest], Results],
    request: QueryRequest,
    deadline: float | None = None,
) -> QueryAnswer:
    """:func:`execute` with any function that runs a request (an external store's index)."""
    try:
        result = run(request)
        if isinstance(result, ox.QueryBoolean):
            media = request.solutions_media
            return QueryAnswer(boolean(bool(result), media), media, 1)
        if isinstance(result, ox.QueryTriples):
            triples, truncated = _take(result, request.max_results, deadline)
            media = request.graph_media
            body = ox.serialize(triples, format=GRAPH_MEDIA[media], prefixes=dict(request.prefixes))
            return QueryAnswer(body or b"", media, len(triples), truncated)
        variables = [v.value for v in result.variables]
        rows, truncated = _take(result, request.max_results, deadline)
        media = request.solutions_media
        body = _solutions(variables, rows, media, truncated)
        return QueryAnswer(body, media, len(rows), truncated)
    except SyntaxError as e:
        raise QueryRefused(f"malformed query: {e}") from e


def _take(items: Iterable[T], limit: int, deadline: float | None) -> tuple[list[T], bool]:
    taken: list[T] = []
    for item in items:
        if deadline is not None and time.monotonic() > deadline:
            raise QueryTimeout("the query ran past the time limit and was stopped")
        if len(taken) == limit:
            return taken, True
        taken.append(item)
    return taken, False


# --- solutions and booleans ----------------------------------------------------------------


def boolean(value: bool, media: str) -> bytes:
    r"""An ASK answer. CSV and TSV define no boolean form: the answer is one variable,
    ``_askResult``, bound to ``true`` or ``false`` (as Apache Jena writes it), which CSV and
    TSV readers such as rdflib's parse as a one-row table.

    >>> boolean(True, "text/csv"), boolean(False, "text/tab-separated-values")
    (b'_askResult\r\ntrue\r\n', b'?_askResult\n"false"^^<http://www.w3.org/2001/XMLSchema#boolean>\n')
    """
    text = "true" if value else "false"
    name = SOLUTION_MEDIA[media]
    if name == "SPARQL_Results_JSON":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if name == "SPARQL_Results_XML":
        return (
            f'<?xml version="1.0"?><sparql xmlns="{_RESULTS_NS}"><head/>'
            f"<boolean>{text}</boolean></sparql>"
        ).encode()
    if name == "SPARQL_Results_CSV":
        return f"{ASK_VARIABLE}\r\n{text}\r\n".encode()
    return f'?{ASK_VARIABLE}\n"{text}"^^<{XSD.boolean.value}>\n'.encode()


def _solutions(
    variables: list[str], rows: list[ox.QuerySolution], media: str, truncated: bool = False
) -> bytes:
    name = SOLUTION_MEDIA[media]
    if name == "SPARQL_Results_JSON":
        return "".join(_json(variables, rows, truncated)).encode()
    if name == "SPARQL_Results_XML":
        return "".join(_xml(variables, rows, truncated)).encode()
    writer = _csv if name == "SPARQL_Results_CSV" else _tsv
    return "".join(writer(variables, rows)).encode()


def _json(variables: list[str], rows: list[ox.QuerySolution], truncated: bool) -> Iterator[str]:
    head: dict[str, object] = {"vars": variables}
    if truncated:
        head["link"] = [TRUNCATED]
    yield json.dumps({"head": head})[:-1] + ',"results":{"bindings":['
    for i, row in enumerate(rows):
        binding = {v: _json_term(row[v]) for v in variables if row[v] is not None}
        yield ("," if i else "") + json.dumps(binding, ensure_ascii=False)
    yield "]}}"


def _json_term(term: Term) -> dict[str, object]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(term.subject),
                "predicate": _json_term(term.predicate),
                "object": _json_term(term.object),
            },
        }
    out: dict[str, object] = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
        if term.direction is not None:
            out["its:dir"] = str(term.direction)
    elif term.datatype != XSD.string:
        out["datatype"] = term.datatype.value
    return out


def _xml(variables: list[str], rows: list[ox.QuerySolution], truncated: bool) -> Iterator[str]:
    yield f'<?xml version="1.0"?><sparql xmlns="{_RESULTS_NS}"><head>'
    yield "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    yield f"<link href={quoteattr(TRUNCATED)}/>" if truncated else ""
    yield "</head><results>"
    for row in rows:
        bindings = "".join(
            f"<binding name={quoteattr(v)}>{_xml_term(row[v])}</binding>"
            for v in variables
            if row[v] is not None
        )
        yield f"<result>{bindings}</result>"
    yield "</results></sparql>"


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        names = ("subject", "predicate", "object")
        parts = zip(names, (term.subject, term.predicate, term.object), strict=True)
        return "<triple>" + "".join(f"<{n}>{_xml_term(t)}</{n}>" for n, t in parts) + "</triple>"
    if term.language:
        attributes = f" xml:lang={quoteattr(term.language)}"
        if term.direction is not None:
            its = "http://www.w3.org/2005/11/its"
            attributes += f' its:dir="{term.direction}" xmlns:its="{its}" its:version="2.0"'
    elif term.datatype != XSD.string:
        attributes = f" datatype={quoteattr(term.datatype.value)}"
    else:
        attributes = ""
    return f"<literal{attributes}>{escape(term.value)}</literal>"


def _csv(variables: list[str], rows: list[ox.QuerySolution]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow([_csv_term(row[v]) for v in variables])
    yield out.getvalue()


def _csv_term(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return str(term)
    if isinstance(term, ox.Triple):
        return " ".join(_csv_term(t) for t in (term.subject, term.predicate, term.object))
    return term.value


def _tsv(variables: list[str], rows: list[ox.QuerySolution]) -> Iterator[str]:
    yield "\t".join("?" + v for v in variables) + "\n"
    for row in rows:
        yield "\t".join(_tsv_term(row[v]) for v in variables) + "\n"


def _tsv_term(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):
        inner = " ".join(_tsv_term(t) for t in (term.subject, term.predicate, term.object))
        return f"<<( {inner} )>>"
    return str(term)  # N-Triples syntax: tabs and new lines in literals are escaped
