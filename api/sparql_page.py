"""The SPARQL page: a form with example queries, the answer as a table with paging and
downloads in every format, and the query checks' messages shown beside the query.

Served at ``/sparql`` itself to a browser (an ``Accept`` that prefers ``text/html``, or
``?format=html``); works without JavaScript: the form is a plain ``GET``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import HTMLResponse

from api import pages
from api.sparql_protocol import FORMATS, ProtocolRequest, Wanted, run_query
from registry.base.errors import QueryRefused, QueryTimeout, RegistryError
from registry.base.identity import Principal
from registry.base.vocab import sparql_prefixes
from registry.query.sparql_results import QueryAnswer

PAGE_SIZE = 50
_FOR_PAGE = Wanted(False, "application/sparql-results+json", "application/n-triples")
SOLUTION_DOWNLOADS = ("csv", "tsv", "json", "xml")
GRAPH_DOWNLOADS = ("ttl", "nt", "jsonld", "rdf")
_PREFIXES = sparql_prefixes("fdi", "qudt", "rdfs", "rov")
EXAMPLES = [
    (
        "Capacity by technology",
        pages.EXAMPLE_QUERY,
    ),
    (
        "Capacity by licence area (GSP group)",
        _PREFIXES
        + """SELECT ?gspGroup (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?exportKW)
WHERE {
  ?asset a fdi:FlexibleAsset ; fdi:gspGroup ?gspGroup ;
         fdi:exportCapacity/qudt:numericValue ?kw .
}
GROUP BY ?gspGroup ORDER BY ?gspGroup""",
    ),
    (
        "An asset by its MPAN, with its operator",
        _PREFIXES
        + """SELECT ?asset ?name ?exportKW ?operatorName
WHERE {
  ?asset fdi:mpanCore "2000000000018" ; rdfs:label ?name ;
         fdi:exportCapacity/qudt:numericValue ?exportKW .
  OPTIONAL { ?right fdi:asset ?asset ; fdi:operator ?operator .
             ?operator rdfs:label ?operatorName }
}""",
    ),
    (
        "Organisations and their roles",
        _PREFIXES
        + """SELECT ?organisation ?name ?role
WHERE { ?organisation a fdi:Organisation ; rov:legalName ?name .
        OPTIONAL { ?organisation fdi:marketRole ?role } }
ORDER BY ?name LIMIT 200""",
    ),
    ("Is anything registered?", "ASK { ?s ?p ?o }"),
    (
        "Describe one asset",
        _PREFIXES
        + "CONSTRUCT { ?a ?p ?o }\n"
        + "WHERE { { SELECT ?a { ?a a fdi:FlexibleAsset } LIMIT 1 } ?a ?p ?o }",
    ),
]


def page(request: Request, asked: ProtocolRequest, principal: Principal) -> HTMLResponse:
    """The page for ``asked``: the empty form, or the answer's page ``?page=`` as a table."""
    number = _page_number(request.query_params.get("page"))
    context: dict[str, object] = {"query": asked.query or EXAMPLES[0][1], "error": None}
    status = 200
    if asked.query is not None:
        try:
            answer = run_query(request, asked, principal, _FOR_PAGE)
            context.update(table(answer, number, request.app.state.settings.base_iri))
            context["downloads"] = _downloads(asked.query, context["kind"] == "graph")
            context["page_query"] = urlencode({"query": asked.query})
        except (QueryRefused, QueryTimeout) as error:
            context["error"], status = error.detail, error.status
        except RegistryError as error:  # capacity, a failing peer: the same page, its status
            context["error"], status = error.detail, error.status
    context["examples"] = [
        {"title": title, "href": "/sparql?" + urlencode({"query": text})}
        for title, text in EXAMPLES
    ]
    context["limit"] = request.app.state.settings.max_results
    return HTMLResponse(pages.render("sparql.html", **context), status_code=status)


def table(answer: QueryAnswer, number: int, base: str = "") -> dict[str, object]:
    """The rows of page ``number`` of an answer (SPARQL JSON results or N-Triples)."""
    if answer.media_type == _FOR_PAGE.graph:
        triples = list(ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES))
        columns = ["subject", "predicate", "object"]
        rows = [
            [pages.cell(q.subject, base), pages.cell(q.predicate, base), pages.cell(q.object, base)]
            for q in triples
        ]
        kind = "graph"
    else:
        results = json.loads(answer.body)
        if "boolean" in results:
            return {"kind": "boolean", "boolean": results["boolean"], "truncated": False}
        columns = results["head"]["vars"]
        rows = [
            [pages.json_cell(binding.get(v), base) for v in columns]
            for binding in results["results"]["bindings"]
        ]
        kind = "solutions"
    pages_total = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(number, pages_total)
    return {
        "kind": kind,
        "columns": columns,
        "rows": rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        "total": len(rows),
        "page": number,
        "pages": pages_total,
        "first_row": (number - 1) * PAGE_SIZE + 1,
        "truncated": answer.truncated,
    }


def _downloads(query: str, graph: bool) -> list[dict[str, str]]:
    names = GRAPH_DOWNLOADS if graph else SOLUTION_DOWNLOADS
    return [
        {
            "name": name.upper(),
            "type": FORMATS[name],
            "href": "/sparql?" + urlencode({"query": query, "format": name}),
        }
        for name in names
    ]


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1
