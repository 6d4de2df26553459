"""Scenario 3: validating one submission, and revalidating the whole registry after a shape change.

The naive peer is pySHACL over the whole graph. It grows superlinearly (about 16 s of CPU for
1,000 demo assets, 100 s for 3,000 on the reference machine), so it is run on a sample of the
registry (the first assets, their rights and the organisations), where the compiled engine is
run too and both verdicts are compared; the compiled engine then revalidates the whole registry.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib.namespace import SH

from bench.measure import Sample, clock, peak_rss
from registry.assembly import Registry
from registry.operations.demo import generate, local_iri
from registry.rules import revalidation
from registry.shacl.engine import compile_shapes
from registry.shacl.terms import rdf_term
from registry.shacl.validation import check
from registry.submissions.csvformat import asset_triples
from registry.submissions.formats import read_bytes


def one_submission(registry: Registry, bodies: list[bytes], engine: str) -> Sample:
    """Latency of checking one-asset submissions inside the registry (all rules, with the
    stored records the cross-record rules need), with ``engine`` (compiled or pyshacl)."""
    shapes = replace(registry.shapes, engine=engine, _compiled={})
    check(read_bytes(bodies[0], "turtle", source="warmup"), shapes, related=registry._related)
    sample = Sample()
    for i, body in enumerate(bodies):
        parsed = read_bytes(body, "turtle", source=f"asset-{i}")
        with clock() as took:
            report, _, _ = check(parsed, shapes, related=registry._related)
        if not report.conforms:
            raise RuntimeError(f"a demo asset was refused: {report.violations[0].message}")
        sample.values.append(took.wall)
    return sample


def revalidate(registry: Registry, workers: int = 1) -> dict[str, Any]:
    """Every rule over every record in the index (what a shape change needs):
    ``registry.rules.revalidation.revalidate`` in ``workers`` processes."""
    with peak_rss() as peak, clock() as took:
        findings = revalidation.revalidate(registry, workers=workers)
    violations = sum(1 for f in findings if f.severity == "Violation")
    return {
        "workers": workers,
        "wall_s": took.wall,
        "cpu_s": took.cpu,
        "violations": violations,
        # This process and its workers, sampled: above PRELOAD_LIMIT quads the engine reads
        # each record on demand, but keeps what it read until the run ends.
        "peak_rss_bytes": peak.rss_bytes,
    }


def sample_store(assets: int) -> ox.Store:
    """The demo's organisations, first ``assets`` assets and their rights, in one store."""
    demo = generate(assets)
    store = ox.Store()
    triples = [t for o in demo.organisations for t in o.triples()]
    for row, right in demo.assets_with_rights():
        triples += asset_triples(local_iri(row["id"]), row)
        if right is not None:
            triples += right.triples()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return store


def naive_peer(registry: Registry, assets: int) -> dict[str, Any]:
    """pySHACL over a whole sample graph against the compiled engine on the same graph."""
    store = sample_store(assets)
    engine = compile_shapes(registry.shapes.graph)
    assert engine is not None
    with clock() as compiled:
        ours = engine.validate(store)
    with warnings.catch_warnings(), clock() as naive:
        warnings.simplefilter("ignore")
        _, report, _ = pyshacl.validate(
            store,
            shacl_graph=registry.shapes.graph,
            advanced=False,
            inference="none",
            allow_warnings=True,
        )
    theirs = {
        (
            report.value(r, SH.focusNode),
            report.value(r, SH.resultPath),
            report.value(r, SH.value),
            str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            report.value(r, SH.sourceShape),
        )
        for r in report.objects(None, SH.result)
    }
    mine = {
        (
            rdf_term(r.focus),
            r.path,
            None if r.value is None else rdf_term(r.value),
            r.component,
            r.shape,
        )
        for r in ours
    }
    return {
        "assets": assets,
        "compiled_wall_s": compiled.wall,
        "compiled_cpu_s": compiled.cpu,
        "pyshacl_wall_s": naive.wall,
        "pyshacl_cpu_s": naive.cpu,
        "identical": mine == theirs,
        "results": len(mine),
    }
