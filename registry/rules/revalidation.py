"""Which registered records a set of shapes would break: revalidating the whole registry.

A standards body changing a rule wants to know, before publishing it, which records the new
rule would refuse; the scheme operator wants the same after an upgrade. :func:`revalidate`
checks every record in the index against a set of shapes (default: the registry's own) with
the compiled engine, and can share the work among processes: each opens a read-only snapshot
of the index (``Store.backup``: hard links, cheap) and takes the focus nodes of one part, so
the parts give every result once. Nothing is written.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
import rdflib

from registry.shacl.engine import compile_shapes
from registry.shacl.findings import Finding, report_findings, result_findings
from registry.shacl.terms import Unsupported
from registry.shacl.validation import Shapes, reference_report

if TYPE_CHECKING:
    from registry.kernel.core import Registry


def revalidate(registry: Registry, shapes: Shapes | None = None, workers: int = 1) -> list[Finding]:
    """The findings of ``shapes`` on every record the registry holds, in ``workers`` processes.

    Shapes the compiled engine hands back are run by pySHACL on rdflib, in this process: the
    same verdict, but slow on a big registry (docs/facts.md, fact 9).
    """
    shapes = shapes or registry.shapes
    text = shapes.graph.serialize(format="turtle")
    store = getattr(registry.index, "store", None)
    path = getattr(registry.index, "path", None)
    if store is None:  # an external store: read it into memory first
        store = ox.Store()
        store.extend(registry.index.dump())
    try:
        return _compiled(registry, text, store, path, workers)
    except Unsupported:
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store]
        report = reference_report(triples, shapes.graph, None)
        return report_findings(report, shapes.graph, {}, "turtle")


def _compiled(
    registry: Registry, text: str, store: ox.Store, path: Path | None, workers: int
) -> list[Finding]:
    if workers <= 1 or path is None:
        return _part(text, store, 0, 1)
    with tempfile.TemporaryDirectory(prefix="revalidate-", dir=Path(path).parent) as tmp:
        snapshot = Path(tmp) / "index"
        store.flush()  # the index's own store: an index with a path is embedded Oxigraph
        store.backup(str(snapshot))
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            parts = pool.starmap(
                _part_of_snapshot, [(text, str(snapshot), i, workers) for i in range(workers)]
            )
    return [finding for part in parts for finding in part]


def _part_of_snapshot(shapes_text: str, snapshot: str, part: int, parts: int) -> list[Finding]:
    return _part(shapes_text, ox.Store.read_only(snapshot), part, parts)


def _part(shapes_text: str, store: ox.Store, part: int, parts: int) -> list[Finding]:
    """Raises Unsupported where the compiled engine hands the shapes back."""
    graph = rdflib.Graph().parse(data=shapes_text, format="turtle")
    engine = compile_shapes(graph)
    if engine is None:
        raise Unsupported("these shapes use a feature the compiled engine leaves to pySHACL")
    results = engine.validate(store, part=(part, parts))
    return result_findings(results, graph, {}, "turtle")
