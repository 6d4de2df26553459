"""Records: the units a submission is made of, and the IRIs the registry mints for them.

A record is a typed subject of one of the registry's record types (asset, right to operate,
organisation, licence, agreement) together with the nodes that hang off it (capacities, contact
points, ODRL rules). The registry mints each record a permanent IRI under its base, and names
the nodes below it as fragments of that IRI (``.../asset/1f3c...#exportCapacity``), so a record
has no blank nodes once stored and can be replaced or compared as a unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.rdf import Term
from registry.base.vocab import RDF, RECORD_TYPES, REGISTRY_MADE_TYPES
from registry.submissions.formats import SUBMISSION_BASE

Node = ox.NamedNode | ox.BlankNode


@dataclass
class Record:
    """One record of a submission: its subject, type and triples (subject first)."""

    subject: Node
    type: ox.NamedNode
    triples: list[ox.Triple]
    origin: str
    children: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return RECORD_TYPES.get(self.type) or REGISTRY_MADE_TYPES[self.type]


@dataclass
class Split:
    """A submission split into records, plus the subjects that belong to none."""

    records: list[Record]
    strays: list[Node]


def local_id(node: Node) -> str:
    """How a submission named a node: its local ID, or the IRI it gave.

    >>> local_id(ox.NamedNode(SUBMISSION_BASE + "#battery-1"))
    'battery-1'
    """
    if isinstance(node, ox.BlankNode):
        return "_:" + node.value
    if node.value.startswith(SUBMISSION_BASE):
        return node.value[len(SUBMISSION_BASE) :].lstrip("#")
    return node.value


def split_records(
    triples: list[ox.Triple],
    origins: dict[Node, str] | None = None,
    types: Mapping[ox.NamedNode, str] = RECORD_TYPES,
) -> Split:
    """Group triples into records of ``types`` (by default those a submission may hold).
    Origins label records (CSV rows, JSON items)."""
    origins = origins or {}
    by_subject: dict[Node, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        by_subject[rdf.node(t.subject)].append(t)
    roots: dict[Node, ox.NamedNode] = {}
    for subject, ts in by_subject.items():
        for t in ts:
            if t.predicate == RDF.type and isinstance(t.object, ox.NamedNode) and t.object in types:
                roots.setdefault(subject, t.object)
    owned: set[Node] = set(roots)
    records = []
    for subject, rtype in roots.items():
        record = Record(subject, rtype, list(by_subject[subject]), _origin(subject, origins))
        queue = [t.object for t in by_subject[subject]]
        while queue:
            node = queue.pop(0)
            if node in owned or node not in by_subject or not _is_child(node, subject):
                continue
            owned.add(node)
            record.children.append(node)
            record.triples.extend(by_subject[node])
            queue.extend(t.object for t in by_subject[node])
        records.append(record)
    strays = [s for s in by_subject if s not in owned]
    return Split(records, strays)


def _is_child(node: object, root: Node) -> TypeGuard[Node]:
    """A node that belongs to the record ``root``: a blank node, a local ID, or one of the
    record's own fragment IRIs (``{root}#exportCapacity``, as the registry serves them)."""
    if isinstance(node, ox.BlankNode):
        return True
    if not isinstance(node, ox.NamedNode):
        return False
    return node.value.startswith(SUBMISSION_BASE) or (
        isinstance(root, ox.NamedNode) and node.value.startswith(root.value + "#")
    )


def _origin(subject: Node, origins: dict[Node, str]) -> str:
    return origins.get(subject) or local_id(subject)


def mint(base_iri: str, kind: str) -> ox.NamedNode:
    """A new permanent IRI for a record of the given kind."""
    return ox.NamedNode(iris.new(base_iri, kind))


def assign_iris(records: list[Record], base_iri: str) -> dict[Node, ox.NamedNode]:
    """Mint an IRI for each record and each of its child nodes; returns the renaming."""
    renaming: dict[Node, ox.NamedNode] = {}
    for record in records:
        iri = record.subject if _is_ours(record.subject, base_iri) else mint(base_iri, record.kind)
        renaming[record.subject] = iri
        # A stored record's own fragment IRIs keep their names (a record sent back as served
        # is the same record); new nodes are named around them.
        kept = [c for c in record.children if _is_fragment_of(c, iri)]
        used = {c.value.split("#", 1)[1] for c in kept}
        renaming.update({c: c for c in kept})
        parent_of = {t.object: t for t in record.triples if t.object in record.children}
        for child in record.children:
            if child in kept:
                continue
            name = _fragment(child, parent_of, record.subject)
            candidate, n = name, 1
            while candidate in used:
                n += 1
                candidate = f"{name}-{n}"
            used.add(candidate)
            renaming[child] = ox.NamedNode(f"{iri.value}#{candidate}")
    return renaming


def _is_fragment_of(node: Node, iri: ox.NamedNode) -> TypeGuard[ox.NamedNode]:
    return isinstance(node, ox.NamedNode) and node.value.startswith(iri.value + "#")


def _is_ours(node: Node, base_iri: str) -> TypeGuard[ox.NamedNode]:
    return isinstance(node, ox.NamedNode) and iris.is_record(base_iri, node.value)


def _fragment(child: Node, parent_of: dict[Term, ox.Triple], root: Node) -> str:
    parts = []
    node: Term = child
    while node in parent_of and node != root:
        t = parent_of[node]
        parts.append(t.predicate.value.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1])
        node = rdf.node(t.subject)
    return "-".join(reversed(parts)) or "node"


def rename(triples: list[ox.Triple], renaming: dict[Node, ox.NamedNode]) -> list[ox.Triple]:
    """Apply a renaming to subjects and objects (a literal is never a key: only nodes are)."""
    get: Callable[[Any, Any], Any] = renaming.get
    return [ox.Triple(get(s := t.subject, s), t.predicate, get(o := t.object, o)) for t in triples]
