"""Terms of the compiled SHACL engine: Oxigraph's terms and the rdflib terms pySHACL sees."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pyoxigraph as ox
import rdflib
from pyshacl.graph_abstraction import to_rdf
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

from registry.base import rdf

RDF_TYPE = ox.NamedNode(str(RDF.type))
RDFS_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))
Term = rdf.Term
XSD_STRING = ox.NamedNode(str(XSD.string))


class Unsupported(Exception):
    """The shapes graph uses a feature this engine leaves to pySHACL."""


_RDF_TERMS: dict[ox.Literal, rdflib.Literal] = {}


def rdf_term(term: Term) -> Node:
    """The rdflib term pySHACL on rdflib sees for an Oxigraph term (literals cached).

    A simple literal is ``"x"^^xsd:string`` in Oxigraph and RDF 1.1, but rdflib parses ``"x"``
    with no datatype and tells the two apart; the data's strings are read as rdflib reads
    them, so that ``sh:in ( "x" )`` and ``sh:hasValue "x"`` match them (docs/facts.md, fact 18).

    >>> rdf_term(ox.Literal("_C")) == rdflib.Literal("_C")
    True
    """
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Triple):
        raise AttributeError(f"pySHACL on rdflib reads no triple term: {term}")
    found = _RDF_TERMS.get(term)
    if found is None:
        found = rdflib.Literal(term.value) if term.datatype == XSD_STRING else _literal(term)
        if len(_RDF_TERMS) > 200_000:
            _RDF_TERMS.clear()
        _RDF_TERMS[term] = found
    return found


def _literal(term: ox.Literal) -> rdflib.Literal:
    converted = to_rdf(term)
    assert isinstance(converted, rdflib.Literal)  # pySHACL converts a literal to a literal
    return converted


def literal_value(node: Node) -> Any:
    """The Python value rdflib reads ``node``, a literal, as (``None`` if ill-typed).

    Raises ``AttributeError`` on any other node, as reading ``.value`` on one does.

    >>> literal_value(rdflib.Literal("3", datatype=XSD.integer))
    3
    """
    if not isinstance(node, rdflib.Literal):
        raise AttributeError(f"{node!r} is no literal and has no value")
    return node.value


# Literals up to this many characters are remembered (a chunk's dates, quantities and codes
# repeat, and rdflib takes microseconds to read one); longer ones, text a submitter chose, are
# read every time, so a stream of requests cannot make the memory hold them.
REMEMBERED_LENGTH = 64


def read_as_rdflib(literal: ox.Literal) -> ox.Literal:
    """A submitted literal as rdflib (and a store) reads it (:func:`_read_as_rdflib`)."""
    if len(literal.value) > REMEMBERED_LENGTH:
        return _read_as_rdflib(literal)
    return _remembered(literal)


@lru_cache(maxsize=65_536)
def _remembered(literal: ox.Literal) -> ox.Literal:
    return _read_as_rdflib(literal)


def _read_as_rdflib(literal: ox.Literal) -> ox.Literal:
    """A submitted literal as rdflib (and a store) reads it: a well-typed one in its canonical
    form (``"01"^^xsd:integer`` is ``"1"``, one value), an ill-typed one as written (a store
    would make ``"300"^^xsd:byte`` an xsd:integer; its lexical form is what sh:datatype checks).

    >>> read_as_rdflib(ox.Literal("01", datatype=ox.NamedNode(str(XSD.integer)))).value
    '1'
    """
    term = rdf_term(literal)
    if getattr(term, "ill_typed", None) is True or str(term) == literal.value:
        return literal
    if literal.language:
        return ox.Literal(str(term), language=literal.language)
    return ox.Literal(str(term), datatype=literal.datatype)


def ox_term(node: Node) -> Term:
    """The Oxigraph term for a term of the shapes graph."""
    if isinstance(node, rdflib.URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, rdflib.BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, rdflib.Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype or XSD.string)))


def term_text(term: Any) -> str:
    """A term as ``str()`` of its rdflib form gives it (for messages)."""
    return (
        str(rdf_term(term))
        if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal))
        else str(term)
    )
