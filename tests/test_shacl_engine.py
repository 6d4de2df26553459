"""The compiled SHACL engine gives pySHACL's verdicts: on every shape fixture of the project and
on the W3C SHACL test suite (core and SPARQL) in ``../shared/conformance/shacl-core``.

A verdict here is the exact set of results, each as (focus node, result path, value, constraint
component, source shape, severity), with pySHACL run as the registry runs it (Oxigraph data
graph, ``allow_warnings``). W3C tests whose shapes use a feature the engine leaves to pySHACL
are counted, and must stay few; tests on which pySHACL itself fails are skipped.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib
from rdflib.namespace import SH

from registry.shacl_engine import Engine, compile_shapes, rdf_term
from registry.validation import load_shapes

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"


def shared_dir() -> Path | None:
    """``shared/`` beside the repository (as CI lays it out), else ``FDI_SHARED_DIR``."""
    for candidate in (ROOT.parent / "shared", os.environ.get("FDI_SHARED_DIR")):
        if candidate and Path(candidate, "conformance").is_dir():
            return Path(candidate)
    return None


SHARED = shared_dir()
W3C = (
    sorted(
        p
        for p in (SHARED / "conformance" / "shacl-core" / "tests").rglob("*.ttl")
        if p.name != "manifest.ttl"
    )
    if SHARED
    else []
)

Verdict = set[tuple[object, ...]]


def pyshacl_verdict(store: ox.Store, shapes: rdflib.Graph) -> Verdict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, report, _ = pyshacl.validate(
            store, shacl_graph=shapes, advanced=False, inference="none", allow_warnings=True
        )
    return {
        (
            report.value(r, SH.focusNode),
            report.value(r, SH.resultPath),
            report.value(r, SH.value),
            str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            report.value(r, SH.sourceShape),
            str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
        )
        for r in report.objects(None, SH.result)
    }


def engine_verdict(engine: Engine, store: ox.Store) -> Verdict:
    def term(t: ox.Term) -> object:
        return engine.target_literals.get(t) or rdf_term(t)  # type: ignore[arg-type]

    return {
        (
            term(r.focus),
            r.path,
            None if r.value is None else term(r.value),
            r.component,
            r.shape,
            r.severity,
        )
        for r in engine.validate(store)
    }


def store_of(path: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri())
    return store


@cache
def project_shapes(market: bool) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph += load_shapes().graph
    if market:
        for path in sorted((ROOT / "shapes" / "market").glob("*.ttl")):
            graph.parse(path, format="turtle")
    return graph


@cache
def project_engine(market: bool) -> Engine:
    engine = compile_shapes(project_shapes(market))
    assert engine is not None, "the project's shapes must compile (no pySHACL-only features)"
    return engine


PROJECT_FIXTURES = sorted(FIXTURES.rglob("*.ttl"))


@pytest.mark.parametrize("path", PROJECT_FIXTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_project_fixture_verdict_equals_pyshacl(path: Path) -> None:
    market = "market" in path.relative_to(FIXTURES).parts
    store = store_of(path)
    assert engine_verdict(project_engine(market), store) == pyshacl_verdict(
        store, project_shapes(market)
    )


def test_every_project_sparql_rule_runs_once_over_the_whole_graph() -> None:
    engine = project_engine(False)
    per_focus = [
        str(shape.node)
        for shape in engine.targeted
        for check in shape.checks
        if getattr(check, "sparql", False) and getattr(check, "whole_graph", None) is None
    ]
    assert per_focus == []


@pytest.mark.skipif(not W3C, reason="../shared/conformance (or FDI_SHARED_DIR) is not there")
@pytest.mark.parametrize("path", W3C, ids=lambda p: p.stem)
def test_w3c_shacl_test_verdict_equals_pyshacl(path: Path) -> None:
    shapes = rdflib.Graph().parse(path, format="turtle")
    engine = compile_shapes(shapes)
    if engine is None:
        pytest.skip("uses a feature the compiled engine leaves to pySHACL")
    store = store_of(path)
    logging.disable(logging.CRITICAL)
    try:
        expected = pyshacl_verdict(store, shapes)
    except Exception as e:  # noqa: BLE001 - pySHACL itself refuses a few tests
        pytest.skip(f"pySHACL fails on this test: {type(e).__name__}")
    finally:
        logging.disable(logging.NOTSET)
    assert engine_verdict(engine, store) == expected


@pytest.mark.skipif(not W3C, reason="../shared/conformance (or FDI_SHARED_DIR) is not there")
def test_most_w3c_tests_run_on_the_compiled_engine() -> None:
    compiled = [
        p for p in W3C if compile_shapes(rdflib.Graph().parse(p, format="turtle")) is not None
    ]
    assert len(compiled) >= 100, f"only {len(compiled)} of {len(W3C)} W3C tests compile"


def test_unsupported_features_fall_back_to_pyshacl() -> None:
    closed = rdflib.Graph().parse(
        data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .""",
        format="turtle",
    )
    assert compile_shapes(closed) is None


def test_registry_checks_nested_shapes_of_focus_records() -> None:
    # pySHACL's focus_nodes option also filters the nodes nested shapes are checked on, so a
    # capacity below zero slipped through inside the registry; the compiled engine checks it.
    from registry.formats import read_bytes
    from registry.validation import check

    text = (FIXTURES / "valid" / "asset-idno.ttl").read_text()
    parsed = read_bytes(text.replace("7.4", "-7.4").encode(), "turtle", source="asset.ttl")
    for engine, caught in (("pyshacl", False), ("compiled", True)):
        shapes = replace(load_shapes(), engine=engine, _compiled={})
        report, _, _ = check(parsed, shapes, related=lambda triples: [])
        found = {(f.shape.rsplit("#", 1)[-1], f.constraint) for f in report.violations if f.shape}
        assert (("Asset-importCapacity", "NodeConstraintComponent") in found) is caught


BATCHED = PROJECT_FIXTURES + W3C


@pytest.mark.parametrize("path", BATCHED, ids=lambda p: p.stem)
def test_reading_on_demand_in_batches_gives_the_same_results_in_the_same_order(
    path: Path,
) -> None:
    # Above PRELOAD_LIMIT quads the engine reads the store on demand, a batch of focus nodes at
    # a time, and forgets what it read after each batch; one node a batch is the hardest case.
    if path in PROJECT_FIXTURES:
        engine = project_engine("market" in path.relative_to(FIXTURES).parts)
    else:
        engine = compile_shapes(rdflib.Graph().parse(path, format="turtle"))
        if engine is None:
            pytest.skip("uses a feature the compiled engine leaves to pySHACL")
    store = store_of(path)
    try:
        preloaded = engine.validate(store)
    except Exception as e:  # noqa: BLE001 - a few W3C tests are refused as pySHACL refuses them
        with pytest.raises(type(e)):
            engine.validate(store, batch=1)
        return
    assert engine.validate(store, batch=1) == preloaded
    assert engine.validate(store, batch=2) == preloaded
