"""What changed between two versions of the vocabulary and rules: terms and rules (shapes)
added, removed, changed (and which of their properties) or newly deprecated.

Two descriptions are compared as graphs, not as text: a blank node (a list, a capacity) is
compared by what it says, so re-serialising a file changes nothing.

The differences as RDF (docs/vocabulary.md): an ``fdi:VersionDiff`` from one version IRI
(``fdi:fromVersion``) to another (``fdi:toVersion``), whose parts (``dcterms:hasPart``) are
``fdi:Change`` descriptions: ``dcterms:subject`` the term or rule, ``fdi:changeKind`` one of
``fdi:Added``, ``fdi:Removed``, ``fdi:Changed``, ``fdi:Deprecated``, and for a change the
``fdi:changedProperty`` values.

>>> import pyoxigraph as ox
>>> a, b = ox.NamedNode("https://w3id.org/fdi/ns#a"), ox.NamedNode("https://w3id.org/fdi/ns#b")
>>> label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
>>> old = [ox.Triple(a, label, ox.Literal("A"))]
>>> new = [ox.Triple(a, label, ox.Literal("A2")), ox.Triple(b, label, ox.Literal("B"))]
>>> [(c.kind, c.label) for c in compare(old, new)]
[('Changed', 'A2'), ('Added', 'B')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pyoxigraph as ox

from registry.base import rdf
from registry.base.rdf import Term
from registry.base.vocab import DCT, FDI, OWL, RDF, RDFS, SH, SKOS
from registry.rules.releases import all_shapes_triples, ontology_triples
from registry.rules.vocabulary_docs import SHAPE_TYPES, Graph, deprecation

if TYPE_CHECKING:
    from registry.kernel.core import Registry

NS_IRI = "https://w3id.org/fdi/ns"
KINDS = ("Added", "Removed", "Changed", "Deprecated")


@dataclass
class Change:
    """One term or rule that differs between two versions."""

    subject: str
    kind: str  # Added, Removed, Changed or Deprecated
    about: str  # term or rule
    label: str
    properties: list[str]  # the predicates whose values differ (Changed, Deprecated)


def diff(registry: Registry | None, old: str, new: str) -> list[Change]:
    """The changes from released version ``old`` to ``new``. Raises NotFound."""
    return compare(_everything(registry, old), _everything(registry, new))


def _everything(registry: Registry | None, version: str) -> list[ox.Triple]:
    return ontology_triples(registry, version) + all_shapes_triples(registry, version)


def compare(old: list[ox.Triple], new: list[ox.Triple]) -> list[Change]:
    """The changes from one set of vocabulary and shapes triples to another, in the order
    Changed and Deprecated, Added, Removed, each by subject IRI."""
    before, after = Graph(old), Graph(new)
    was, now = _descriptions(before), _descriptions(after)
    changes = []
    for subject in sorted(set(was) & set(now)):
        node = ox.NamedNode(subject)
        differing = sorted(
            p
            for p in set(was[subject]) | set(now[subject])
            if was[subject].get(p) != now[subject].get(p)
        )
        newly = deprecation(after, node) is not None and deprecation(before, node) is None
        if newly or differing:
            kind = "Deprecated" if newly else "Changed"
            changes.append(_change(after, node, kind, differing))
    changes += [_change(after, ox.NamedNode(s), "Added", []) for s in sorted(set(now) - set(was))]
    changes += [
        _change(before, ox.NamedNode(s), "Removed", []) for s in sorted(set(was) - set(now))
    ]
    return changes


def _descriptions(graph: Graph) -> dict[str, dict[str, frozenset[str]]]:
    """Each named subject (but the documents' own headers) as predicate → its values'
    signatures."""
    out = {}
    for subject in graph.named_subjects():
        if OWL.Ontology in graph.values(subject, RDF.type):
            continue
        values: dict[str, set[str]] = {}
        for predicate, o in graph.out[subject]:
            values.setdefault(predicate, set()).add(_signature(graph, o))
        out[subject.value] = {p: frozenset(v) for p, v in values.items()}
    return out


def _signature(graph: Graph, term: Term, depth: int = 0) -> str:
    """A term as text, a blank node as what it says (so blank node labels do not matter)."""
    if not isinstance(term, ox.BlankNode):
        return str(term)
    if depth > 20:
        return "[…]"
    inner = sorted(f"{p} {_signature(graph, o, depth + 1)}" for p, o in graph.out.get(term, []))
    return "[" + " ; ".join(inner) + "]"


def _change(graph: Graph, subject: ox.NamedNode, kind: str, properties: list[str]) -> Change:
    is_rule = any(rdf.value(t) in SHAPE_TYPES for t in graph.values(subject, RDF.type))
    label = graph.text(subject, SH.name, RDFS.label, SKOS.prefLabel) or subject.value
    return Change(subject.value, kind, "rule" if is_rule else "term", label, properties)


def diff_iri(base: str, old: str, new: str) -> str:
    return f"{base}ns/diff?{urlencode({'from': old, 'to': new})}"


def diff_triples(changes: list[Change], base: str, old: str, new: str) -> list[ox.Triple]:
    """The changes as RDF: an fdi:VersionDiff with one fdi:Change part per change."""
    diff_node = ox.NamedNode(diff_iri(base, old, new))
    triples = [
        ox.Triple(diff_node, RDF.type, FDI.VersionDiff),
        ox.Triple(diff_node, FDI.fromVersion, ox.NamedNode(f"{NS_IRI}/{old}")),
        ox.Triple(diff_node, FDI.toVersion, ox.NamedNode(f"{NS_IRI}/{new}")),
        ox.Triple(diff_node, DCT.title, ox.Literal(f"Changes from {old} to {new}", language="en")),
    ]
    for number, change in enumerate(changes, 1):
        node = ox.NamedNode(f"{diff_node.value}#change-{number}")
        triples += [
            ox.Triple(diff_node, DCT.hasPart, node),
            ox.Triple(node, RDF.type, FDI.Change),
            ox.Triple(node, FDI.changeKind, FDI[change.kind]),
            ox.Triple(node, DCT.subject, ox.NamedNode(change.subject)),
            ox.Triple(
                node, RDFS.label, ox.Literal(f"{change.kind}: {change.label}", language="en")
            ),
        ]
        triples += [
            ox.Triple(node, FDI.changedProperty, ox.NamedNode(p)) for p in change.properties
        ]
    return triples
