"""The registry records a submission's cross-record rules need to see.

The registry-only shapes (the referenced asset exists, one operator at a time, no duplicate
asset) are checked by pySHACL over the submission plus these records, so they must include:
every registry record the submission references, every asset sharing a meter point with a
submitted asset, and every right to operate for an asset a submitted right names.
"""

from __future__ import annotations

import pyoxigraph as ox

from registry.index import Index
from registry.vocab import FDI


def related_records(index: Index, triples: list[ox.Triple], base_iri: str) -> list[ox.Triple]:
    """Triples of the stored records the rules for ``triples`` need."""
    own = base_iri + "id/"
    wanted: set[ox.NamedNode] = set()
    for t in triples:
        if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(own):
            wanted.add(_record_of(t.object))
        if t.predicate in (FDI.mpanCore, FDI.exportMpanCore):
            wanted.update(_subjects(index, FDI.mpanCore, t.object))
        if t.predicate == FDI.asset:
            wanted.update(_subjects(index, FDI.asset, t.object))
    out: list[ox.Triple] = []
    for subject in wanted:
        for q in index.quads(subject, None, None):
            out.extend(
                ox.Triple(c.subject, c.predicate, c.object)
                for c in index.record_quads(q.graph_name, subject)
            )
            break
    return out


def _record_of(node: ox.NamedNode) -> ox.NamedNode:
    return ox.NamedNode(node.value.split("#", 1)[0])


def _subjects(index: Index, predicate: ox.NamedNode, obj: ox.Term) -> set[ox.NamedNode]:
    return {
        q.subject for q in index.quads(None, predicate, obj) if isinstance(q.subject, ox.NamedNode)
    }
