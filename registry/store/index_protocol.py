"""What the registry asks of an index, embedded or remote: the Index protocol, the record
changes a journal entry makes, and the marker quad recording the entry applied."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox

from registry.base.rdf import Term
from registry.base.vocab import XSD

META_GRAPH = ox.NamedNode("urn:fdi:index")
INDEX_NODE = ox.NamedNode("urn:fdi:index")
XSD_INTEGER = XSD.integer


@dataclass(frozen=True)
class RecordChange:
    """Replace the content of one record in one graph (``triples`` empty removes it)."""

    graph: ox.NamedNode
    subject: ox.NamedNode
    triples: Sequence[ox.Triple]
    new: bool = False


class Index(Protocol):
    """What the registry needs from a query engine (embedded Oxigraph, or a SPARQL endpoint)."""

    def applied_seq(self) -> int: ...
    def apply(self, seq: int, changes: Iterable[RecordChange]) -> None: ...
    def query(
        self,
        text: str,
        graphs: list[ox.NamedNode] | None,
        substitutions: dict[ox.Variable, Term] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples: ...
    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None,
        predicate: ox.NamedNode | None,
        obj: Term | None,
        graph: ox.NamedNode | None = None,
    ) -> list[ox.Quad]: ...
    def record_quads(self, graph: ox.NamedNode, subject: ox.NamedNode) -> list[ox.Quad]: ...
    def dump(self) -> ox.Dataset: ...
    def close(self) -> None: ...


def change_quads(changes: Iterable[RecordChange]) -> list[ox.Quad]:
    """The quads of the changes, each triple in its record's graph."""
    return [ox.Quad(t.subject, t.predicate, t.object, c.graph) for c in changes for t in c.triples]
