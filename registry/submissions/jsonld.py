"""JSON-LD as people and JSON-LD tools expect it: compacted through the registry's own context.

A record's JSON-LD uses the context's terms, so ``type`` (``@type``), ``mpan``,
``exportCapacity`` appear rather than full IRIs and ``rdf:type``. The context (the one served
at ``/ns/context.jsonld``) is written into the document rather than named by IRI, so that any
JSON-LD reader parses it without fetching anything; expanding it gives back exactly the triples.

>>> triple = ox.Triple(ox.NamedNode("http://e/a"), RDF.type, FDI.FlexibleAsset)
>>> doc = json.loads(compacted([triple]))
>>> doc["@context"] == registry_context(), doc["type"]
(True, 'FlexibleAsset')
"""

from __future__ import annotations

import json

import pyoxigraph as ox
import rdflib

from registry.base.rdf import Term
from registry.submissions.formats import registry_context

__all__ = ["compacted", "registry_context"]


def compacted(triples: list[ox.Triple]) -> bytes:
    """``triples`` as JSON-LD compacted with, and carrying, the registry's context."""
    graph = rdflib.Graph()
    for t in triples:
        graph.add((_term(t.subject), _term(t.predicate), _term(t.object)))
    text = graph.serialize(format="json-ld", context=registry_context(), auto_compact=True)
    document = json.loads(text)
    if not isinstance(document, dict):  # an empty graph
        document = {"@context": registry_context(), "@graph": document}
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def _term(term: Term) -> rdflib.term.Node:
    """The rdflib term for an Oxigraph one, literals with their lexical form as stored: rdflib
    would otherwise rewrite them (a dateTime's ``Z`` as ``+00:00``), and a record served as
    JSON-LD would no longer hash as its receipt says."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=term.datatype.value, normalize=False)
    raise TypeError(f"not an RDF term: {term!r}")
