"""Read-only SPARQL over the registry's public dataset, with the basic safety rules.

The query text is checked before it reaches Oxigraph: its size and bracket nesting are bounded
(deep nesting crashes the parser), and ``SERVICE`` and ``LOAD`` (outbound requests from the
server) are refused. The dataset is fixed to the graphs the requester may see; ``named_graphs``
is always set with ``default_graph`` so that ``GRAPH ?g`` cannot escape it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from registry.errors import QueryRefused
from registry.index import Index

MAX_QUERY_CHARS = 20_000
MAX_NESTING = 64

# Strings, IRIs and comments are removed before looking for keywords or counting brackets.
_LEXICAL_NOISE = re.compile(
    r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
)
_FORBIDDEN = re.compile(r"\b(SERVICE|LOAD)\b", re.IGNORECASE)
_UPDATE = re.compile(
    r"\b(INSERT|DELETE|CLEAR|DROP|CREATE|COPY|MOVE|ADD)\b\s*(DATA|WHERE|\{|GRAPH|SILENT|DEFAULT|ALL|NAMED|<)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: solutions, a boolean or triples (as pyoxigraph objects)."""

    kind: str  # "solutions", "boolean" or "graph"
    value: object


def check_query(text: str) -> None:
    """Refuse queries the endpoint will not run. Raises QueryRefused saying why."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    bare = _LEXICAL_NOISE.sub(" ", text)
    depth = deepest = 0
    for ch in bare:
        if ch in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")}]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise QueryRefused(f"the query nests brackets {deepest} deep; the limit is {MAX_NESTING}")
    found = _FORBIDDEN.search(bare)
    if found:
        raise QueryRefused(f"{found.group(1).upper()} is not allowed: the endpoint makes no outbound requests")
    if _UPDATE.search(bare):
        raise QueryRefused("this endpoint answers queries only; updates are not accepted")


def run_query(index: Index, text: str, graphs: list[ox.NamedNode]) -> QueryResult:
    """Run a checked read-only query over ``graphs`` (as default graph and named graphs).

    Raises QueryRefused for unsafe or malformed queries.
    """
    check_query(text)
    try:
        result = index.query(text, graphs)
    except SyntaxError as e:
        raise QueryRefused(f"malformed query: {e}") from e
    if isinstance(result, ox.QueryBoolean):
        return QueryResult("boolean", bool(result))
    if isinstance(result, ox.QueryTriples):
        return QueryResult("graph", result)
    return QueryResult("solutions", result)
