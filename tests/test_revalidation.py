"""Revalidating the registry against changed shapes names the records the change would break."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

from registry.assembly import Registry
from registry.base.resources import shapes_dir, ttl_files
from registry.base.settings import Settings
from registry.operations.demo import generate
from registry.operations.demo_files import load_demo
from registry.rules.revalidation import revalidate
from registry.shacl.findings import Finding
from registry.shacl.validation import load_shapes

STRICTER = """
@prefix fdi: <https://w3id.org/fdi/ns#> . @prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/shapes#> .
ex:PostcodeAlways a sh:NodeShape ; sh:targetClass fdi:FlexibleAsset ;
    sh:name "postcode always" ; sh:description "A stricter rule: every asset has a postcode." ;
    sh:property [ sh:path fdi:postcode ; sh:minCount 1 ; sh:name "postcode" ;
                  sh:description "The site's postcode." ; sh:message "Give the postcode." ] .
"""


def stricter_shapes(tmp_path: Path):
    directory = tmp_path / "shapes"
    directory.mkdir()
    for path in ttl_files(shapes_dir()):
        shutil.copy(path, directory / path.name)
    (directory / "stricter.ttl").write_text(STRICTER)
    return load_shapes(directory)


def test_the_registry_conforms_to_its_own_shapes(tmp_path: Path) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=60)
    assert [f for f in revalidate(registry) if f.severity == "Violation"] == []


def test_a_stricter_shape_names_every_record_it_breaks_in_one_or_two_processes(
    tmp_path: Path,
) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=150)
    without_postcode = sum(1 for row in generate(150).asset_rows if not row["postcode"])
    assert without_postcode > 0
    shapes = stricter_shapes(tmp_path)

    alone = revalidate(registry, shapes)
    shared = revalidate(registry, shapes, workers=2)

    assert len(alone) == without_postcode
    assert sorted(f.focus for f in shared) == sorted(f.focus for f in alone)
    assert {f.rule for f in alone} == {"postcode"}


def test_revalidating_on_demand_in_small_batches_finds_exactly_what_preloading_finds(
    tmp_path: Path, monkeypatch
) -> None:
    # A registry above PRELOAD_LIMIT quads is read a batch of focus nodes at a time; force that
    # path, with batches far smaller than the registry, and compare with the preloaded run.
    from registry.shacl import engine as shacl_engine

    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=120)
    shapes = stricter_shapes(tmp_path)
    preloaded = revalidate(registry, shapes)
    assert preloaded

    monkeypatch.setattr(shacl_engine, "PRELOAD_LIMIT", 0)
    monkeypatch.setattr(shacl_engine, "BATCH_SIZE", 7)
    assert [same(f) for f in revalidate(registry, shapes)] == [same(f) for f in preloaded]


def same(finding: Finding) -> Finding:
    """The finding, but for the label of a blank-node shape (the shapes are parsed per run)."""
    blank = finding.shape is not None and finding.shape.startswith("_:")
    return replace(finding, shape="_:" if blank else finding.shape)


def test_the_engine_reads_in_batches_when_told_and_gives_the_preloaded_results(
    tmp_path: Path,
) -> None:
    from registry.shacl.engine import compile_shapes

    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=80)
    engine = compile_shapes(stricter_shapes(tmp_path).graph)
    assert engine is not None
    store = registry.index.store
    preloaded = engine.validate(store)
    assert preloaded
    assert engine.validate(store, batch=5) == preloaded
    parts = [engine.validate(store, part=(i, 3)) for i in range(3)]
    assert sorted(map(repr, (r for p in parts for r in p))) == sorted(map(repr, preloaded))


def shapes_with(tmp_path: Path, extra: Path):
    """The bundled shapes and one more file, as a set of shapes."""
    directory = tmp_path / "shapes-with"
    directory.mkdir()
    for path in [*ttl_files(shapes_dir()), extra]:
        shutil.copy(path, directory / path.name)
    return load_shapes(directory)


def reference_findings(registry: Registry, shapes) -> Counter:
    """pySHACL on rdflib over every quad of the registry's index, as findings."""
    import pyoxigraph as ox

    from registry.shacl.findings import report_findings
    from registry.shacl.validation import reference_report
    from tests.shacl_reference import prepared_queries

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in registry.index.dump()]
    with prepared_queries():
        report = reference_report(triples, shapes.graph, None)
    return rows(report_findings(report, shapes.graph, {}, "turtle"))


def rows(findings: list[Finding]) -> Counter:
    return Counter(
        (f.focus, f.path, f.value, f.constraint, same(f).shape, f.severity) for f in findings
    )


def test_revalidation_after_a_market_shape_change_equals_pyshacl_on_rdflib(
    tmp_path: Path,
) -> None:
    # UK Power Networks' rules name GSP groups as plain strings ("_A" "_C" "_J"): the demo's
    # assets in other areas break them, those in its areas must not (issue 14).
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=30)
    shapes = shapes_with(tmp_path, shapes_dir() / "market" / "ukpn.ttl")
    found = rows(revalidate(registry, shapes))
    assert found == reference_findings(registry, shapes)
    outside = sum(
        1 for row in generate(30).asset_rows if row["gsp_group"] not in {"_A", "_C", "_J"}
    )
    assert sum(n for row, n in found.items() if row[3] == "InConstraintComponent") == outside


def test_shapes_the_engine_hands_back_are_revalidated_by_pyshacl_on_rdflib(
    tmp_path: Path,
) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data"))
    load_demo(registry, assets=30)
    # Only the changed rule: pySHACL on rdflib runs each SPARQL rule's query text per record.
    directory = tmp_path / "handed-back"
    directory.mkdir()
    (directory / "rule.ttl").write_text(
        STRICTER.replace("sh:targetClass", "sh:closed false ; sh:targetClass")
    )
    shapes = load_shapes(directory)
    assert shapes.compiled(False) is None
    found = rows(revalidate(registry, shapes, workers=2))
    assert found == reference_findings(registry, shapes)
    without_postcode = sum(1 for row in generate(30).asset_rows if not row["postcode"])
    minimum = sum(n for row, n in found.items() if row[3] == "MinCountConstraintComponent")
    assert minimum == without_postcode
