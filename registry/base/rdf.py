"""Names for the RDF terms and query results pyoxigraph hands back, which its stubs leave
unnamed, and the narrowing the registry relies on when reading them.

A term's text: ``value`` works on IRIs, blank nodes and literals; a triple term (RDF 1.2) has
none, and reading one fails as reading ``.value`` on it always has.

>>> value(ox.Literal("5"))
'5'
>>> [row["s"].value for row in solutions(ox.Store().query("SELECT ?s { VALUES ?s { <a:b> } }"))]
['a:b']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import pyoxigraph as ox

Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
"""Any RDF term: what a triple's object, a solution's binding or a substitution may be."""

Subject: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Triple
"""What a triple's subject may be, by pyoxigraph's stubs (its RDF 1.2 parser makes only IRIs and
blank nodes subjects: see ``node``)."""

QueryResult: TypeAlias = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
"""What a SPARQL query answers, by its form: SELECT, ASK, or CONSTRUCT and DESCRIBE."""


def value(term: Term) -> str:
    """The IRI, blank-node identifier or literal text of ``term``.

    Raises ``AttributeError`` on a triple term, which has no such text.
    """
    if isinstance(term, ox.Triple):
        raise AttributeError(f"a triple term has no value: {term}")
    return term.value


def node(term: Subject) -> ox.NamedNode | ox.BlankNode:
    """``term``, a triple's subject, as the IRI or blank node it is.

    pyoxigraph 0.5 accepts and parses no triple term as a subject (RDF 1.2), though its stubs
    allow one; ``TypeError`` if one comes all the same.
    """
    if isinstance(term, ox.Triple):
        raise TypeError(f"a triple term is no subject: {term}")
    return term


def serialize(
    data: Iterable[ox.Triple] | Iterable[ox.Quad],
    format: ox.RdfFormat,
    prefixes: dict[str, str] | None = None,
) -> bytes:
    """``data`` written in ``format``: ``ox.serialize`` with no file to write to, which answers
    bytes (its stubs allow None, its answer when it writes to a file)."""
    written = ox.serialize(data, format=format, prefixes=prefixes)
    if written is None:
        raise TypeError("pyoxigraph wrote to no file and answered nothing")
    return written


def solutions(result: QueryResult) -> ox.QuerySolutions:
    """The rows of a SELECT query's ``result``; ``TypeError`` if the query was not a SELECT."""
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError(f"a SELECT query was expected, not one answering {type(result).__name__}")
    return result
