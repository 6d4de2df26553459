"""Deprecated terms and rules: accepted with a warning until their sunset, refused from it.

A term or rule is deprecated by ``owl:deprecated true``, with ``dcterms:isReplacedBy`` naming
what to use instead and ``fdi:sunset`` (an ``xsd:date``) the first day it is refused. Terms are
deprecated in the ontology (or by a rules version's shapes documents, which may deprecate a
term too); rules in the shapes documents. Before the sunset, a submission that uses a
deprecated term gets a Warning finding, and a deprecated rule's findings are Warnings; on and
after the sunset both are Violations. Without a sunset, deprecation only ever warns.

>>> import datetime as dt
>>> new = ("https://w3id.org/fdi/ns#new",)
>>> gone = Deprecated("https://w3id.org/fdi/ns#old", new, dt.date(2027, 1, 1))
>>> gone.severity(dt.date(2026, 12, 31)), gone.severity(dt.date(2027, 1, 1))
('Warning', 'Violation')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import overload

import pyoxigraph as ox
import rdflib

from registry.base import rdf
from registry.base.rdf import Subject, Term
from registry.base.resources import ontology_dir, ttl_files
from registry.base.vocab import DCT, FDI, OWL, RDF, SH, curie
from registry.submissions.records import local_id

_SHAPE_TYPES = {SH.NodeShape.value, SH.PropertyShape.value}


@dataclass(frozen=True)
class Deprecated:
    """One deprecated term or rule."""

    iri: str
    replaced_by: tuple[str, ...]
    sunset: dt.date | None
    rule: bool = False

    def severity(self, on: dt.date) -> str:
        return "Violation" if self.sunset is not None and on >= self.sunset else "Warning"

    def advice(self, on: dt.date) -> str:
        """What to do, in a provider's words."""
        instead = " or ".join(curie(r) for r in self.replaced_by)
        what = f"use {instead} instead" if instead else "stop using it"
        if self.sunset is None:
            return f"{curie(self.iri)} is deprecated: {what}"
        if on >= self.sunset:
            return f"{curie(self.iri)} was deprecated and is refused since {self.sunset}: {what}"
        return f"{curie(self.iri)} is deprecated and will be refused from {self.sunset}: {what}"


def deprecations(shapes: rdflib.Graph) -> dict[str, Deprecated]:
    """The deprecated terms (in the packaged ontology and in ``shapes``) and rules (in
    ``shapes``), by IRI."""
    return _deprecations(shapes)


@lru_cache(maxsize=1)
def _packaged_ontology() -> dict[str, Deprecated]:
    triples = [
        ox.Triple(q.subject, q.predicate, q.object)
        for path in ttl_files(ontology_dir())
        for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
    ]
    return _from_triples(triples)


@lru_cache(maxsize=8)  # a loaded shapes graph is not changed afterwards (validation.load_shapes)
def _deprecations(shapes: rdflib.Graph) -> dict[str, Deprecated]:
    found = dict(_packaged_ontology())
    triples = [
        ox.Triple(_ox(s), _ox(p), _ox(o))
        for s, p, o in shapes.triples((None, None, None))
        if isinstance(s, rdflib.URIRef) and isinstance(p, rdflib.URIRef)
    ]
    found.update(_from_triples(triples))
    return found


@overload
def _ox(term: rdflib.URIRef) -> ox.NamedNode: ...
@overload
def _ox(term: rdflib.term.Node) -> Term: ...
def _ox(term: rdflib.term.Node) -> Term:
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.Literal):
        datatype = ox.NamedNode(str(term.datatype)) if term.datatype else None
        return ox.Literal(
            str(term), language=term.language, datatype=None if term.language else datatype
        )
    return ox.BlankNode(str(term))


def _from_triples(triples: tuple[ox.Triple, ...] | list[ox.Triple]) -> dict[str, Deprecated]:
    flagged: set[str] = set()
    replaced: dict[str, list[str]] = {}
    sunset: dict[str, dt.date] = {}
    shapes: set[str] = set()
    for t in triples:
        s, p, o = t.subject, t.predicate.value, t.object
        if not isinstance(s, ox.NamedNode):
            continue
        if p == OWL.deprecated.value and isinstance(o, ox.Literal) and o.value in ("true", "1"):
            flagged.add(s.value)
        elif p == DCT.isReplacedBy.value and isinstance(o, ox.NamedNode):
            replaced.setdefault(s.value, []).append(o.value)
        elif p == FDI.sunset.value and isinstance(o, ox.Literal):
            sunset[s.value] = dt.date.fromisoformat(o.value)
        elif p == RDF.type.value and rdf.value(o) in _SHAPE_TYPES:
            shapes.add(s.value)
    return {
        iri: Deprecated(iri, tuple(sorted(replaced.get(iri, []))), sunset.get(iri), iri in shapes)
        for iri in flagged
    }


def rules_by_shape(known: dict[str, Deprecated]) -> dict[str, Deprecated]:
    """The deprecated rules, by the name a finding gives its shape
    (registry.submissions.records.local_id)."""
    return {local_id(ox.NamedNode(d.iri)): d for d in known.values() if d.rule}


def uses(
    triples: list[ox.Triple], known: dict[str, Deprecated]
) -> list[tuple[ox.Triple, ox.NamedNode, Deprecated]]:
    """Each statement that uses a deprecated term (as property, value or type), once per
    subject and term."""
    seen: set[tuple[Subject, ox.NamedNode]] = set()
    out: list[tuple[ox.Triple, ox.NamedNode, Deprecated]] = []
    for t in triples:
        for term in (t.predicate, t.object):
            if not isinstance(term, ox.NamedNode):
                continue
            found = known.get(term.value)
            if found is None or found.rule or (t.subject, term) in seen:
                continue
            seen.add((t.subject, term))
            out.append((t, term, found))
    return out
