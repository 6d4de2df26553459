"""The registry records a submission's cross-record rules need to see.

The registry-only shapes (the referenced asset exists, one operator at a time, no duplicate
asset) are checked over the submission plus these records, so they must include: every registry
record the submission references, every asset sharing a meter point with a submitted asset, and
every right to operate for an asset a submitted right names.

A bulk chunk names thousands of meter points and assets, so the lookups are batched: one SPARQL
query per kind of lookup with the values listed (``VALUES``), instead of one store call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.rdf import Term
from registry.base.vocab import FDI
from registry.store.index_protocol import Index

# Values per query: keeps each query's text and plan small whatever the chunk size.
BATCH = 1000
T = TypeVar("T")


def related_records(
    index: Index,
    triples: list[ox.Triple],
    base_iri: str,
    predicates: frozenset[str] | None = None,
) -> list[ox.Triple]:
    """Triples of the stored records the rules for ``triples`` need: with ``predicates``
    (registry.shacl.reach), only those properties of them, which is all the rules read of a
    record that is not being validated. When the submission itself names a stored record (an
    update, or a record sent back as served), every record is read whole: the stored content
    of a record being validated is data its rules read, as it always was."""
    own = iris.under(base_iri)
    wanted: set[ox.NamedNode] = set()
    named: set[ox.NamedNode] = set()  # the records the submission's own triples are about
    by_predicate: dict[ox.NamedNode, set[Term]] = {FDI.mpanCore: set(), FDI.asset: set()}
    for t in triples:
        subject = t.subject
        if isinstance(subject, ox.NamedNode) and subject.value.startswith(own):
            named.add(_record_of(subject))
        if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(own):
            wanted.add(_record_of(t.object))
        if t.predicate in (FDI.mpanCore, FDI.exportMpanCore):
            by_predicate[FDI.mpanCore].add(t.object)
        elif t.predicate == FDI.asset:
            by_predicate[FDI.asset].add(t.object)
    for predicate, values in by_predicate.items():
        wanted.update(_subjects(index, predicate, values))
    if wanted & named:
        predicates = None
    return list(_records(index, sorted(wanted, key=str), _terms(predicates)))


def _terms(predicates: frozenset[str] | None) -> list[ox.NamedNode] | None:
    """The properties as IRIs to write into a query (None, read whole, if one is not an IRI:
    a rules version's text is never pasted into a query as it is)."""
    if predicates is None:
        return None
    try:
        return [ox.NamedNode(p) for p in sorted(predicates)]
    except ValueError:
        return None


def _record_of(node: ox.NamedNode) -> ox.NamedNode:
    return ox.NamedNode(node.value.split("#", 1)[0])


def _subjects(index: Index, predicate: ox.NamedNode, values: set[Term]) -> set[ox.NamedNode]:
    """The IRIs that have ``predicate`` with any of ``values``, in any graph."""
    found: set[ox.NamedNode] = set()
    listable = (v for v in values if isinstance(v, ox.NamedNode | ox.Literal))
    for batch in _batches(sorted(listable, key=str)):
        query = (
            f"SELECT DISTINCT ?s WHERE {{ VALUES ?o {{ {' '.join(map(str, batch))} }} "
            f"GRAPH ?g {{ ?s {predicate} ?o }} }}"
        )
        found.update(
            s for (s,) in rdf.solutions(index.query(query, None)) if isinstance(s, ox.NamedNode)
        )
    return found


def _records(
    index: Index, subjects: list[ox.NamedNode], predicates: list[ox.NamedNode] | None
) -> Iterator[ox.Triple]:
    """Each record's triples (its own and its ``#fragment`` nodes'), from one graph holding it
    (shared copies are the same record); only ``predicates``, if given. Read level by level:
    the records, then the fragment nodes they point to, and so on."""
    # (a FILTER, evaluated as each triple is read: joining a VALUES list of properties makes
    # Oxigraph's plan a hundred times slower)
    only = f"FILTER (?p IN ({', '.join(map(str, predicates))})) " if predicates is not None else ""
    home: dict[ox.NamedNode, ox.NamedNode] = {}  # record -> the graph it is read from
    for batch in _batches(subjects):
        values = " ".join(map(str, batch))
        query = (
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s a ?type }} }}"
        )
        for s, g in rdf.solutions(index.query(query, None)):
            if s not in home or g.value < home[s].value:
                home[s] = g
    level = sorted(home.items(), key=lambda pair: str(pair[0]))  # (node, graph)
    seen: set[ox.NamedNode] = set(home)
    while level:
        following: list[tuple[ox.NamedNode, ox.NamedNode]] = []
        for pairs_batch in _batches(level):
            pairs = " ".join(f"({s} {g})" for s, g in pairs_batch)
            query = (
                f"SELECT ?s ?g ?p ?o WHERE {{ VALUES (?s ?g) {{ {pairs} }} "
                f"GRAPH ?g {{ ?s ?p ?o }} {only}}}"
            )
            for s, g, p, o in rdf.solutions(index.query(query, None)):
                yield ox.Triple(s, p, o)
                if isinstance(o, ox.NamedNode) and o not in seen and _is_fragment_of(o, s):
                    seen.add(o)
                    following.append((o, g))
        level = following


def _is_fragment_of(node: ox.NamedNode, subject: ox.NamedNode) -> bool:
    record = subject.value.split("#", 1)[0]
    return node.value.startswith(record + "#")


def _batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    listed = list(items)
    for start in range(0, len(listed), size):
        yield listed[start : start + size]
