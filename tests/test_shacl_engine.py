"""The compiled SHACL engine gives the reference's verdicts on every shape fixture of the project.

The reference is pySHACL on an rdflib Graph parsed from the fixture (``tests/shacl_reference``;
the W3C suites are in ``tests/test_shacl_w3c.py``, generated graphs in
``tests/test_shacl_differential.py``). A verdict is the multiset of results, each as (focus
node, result path, value, constraint component, source shape, severity).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from registry.shacl.engine import Engine, compile_shapes
from registry.shacl.terms import Unsupported
from registry.shacl.validation import load_shapes
from tests.shacl_reference import (
    engine_verdict,
    ox_triples,
    parse,
    pyshacl_verdict,
    store_of,
    w3c_tests,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"
W3C = w3c_tests()


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
def test_project_fixture_verdict_equals_pyshacl_on_rdflib(path: Path) -> None:
    market = "market" in path.relative_to(FIXTURES).parts
    expected = pyshacl_verdict(parse(path), project_shapes(market))
    assert engine_verdict(project_engine(market), ox_triples(path)) == expected


def test_every_project_sparql_rule_runs_once_over_the_whole_graph() -> None:
    engine = project_engine(False)
    per_focus = [
        str(shape.node)
        for shape in engine.targeted
        for check in shape.checks
        if getattr(check, "sparql", False) and getattr(check, "whole_graph", None) is None
    ]
    assert per_focus == []


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
    from registry.shacl.validation import check
    from registry.submissions.formats import read_bytes

    text = (FIXTURES / "valid" / "asset-idno.ttl").read_text()
    parsed = read_bytes(text.replace("7.4", "-7.4").encode(), "turtle", source="asset.ttl")
    for engine, caught in (("pyshacl", False), ("compiled", True)):
        shapes = replace(load_shapes(), engine=engine, _compiled={})
        report, _, _ = check(parsed, shapes, related=lambda triples: [])
        found = {(f.shape.rsplit("#", 1)[-1], f.constraint) for f in report.violations if f.shape}
        assert (("Asset-importCapacity", "NodeConstraintComponent") in found) is caught


PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
"""


def verdicts(shapes_ttl: str, data_ttl: str) -> tuple[object, object]:
    """(the engine's verdict, pySHACL on rdflib's) on Turtle texts."""
    shapes = rdflib.Graph().parse(data=PREFIXES + shapes_ttl, format="turtle")
    data = rdflib.Graph().parse(data=PREFIXES + data_ttl, format="turtle")
    triples = list(ox.parse((PREFIXES + data_ttl).encode(), format=ox.RdfFormat.TURTLE))
    engine = compile_shapes(shapes)
    assert engine is not None
    return engine_verdict(engine, triples), pyshacl_verdict(data, shapes)


def test_plain_strings_in_sh_in_and_sh_has_value_match_the_datas_strings() -> None:
    # Regression (issue 14): Oxigraph reads "_C" as "_C"^^xsd:string, rdflib as a plain
    # literal, and "_C"^^xsd:string != "_C" in rdflib: the valid UKPN asset was refused.
    mine, reference = verdicts(
        'ex:S sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:in ( "_A" "_C" ) ] ,'
        ' [ sh:path ex:p ; sh:hasValue "_C" ] .',
        'ex:a ex:p "_C" .',
    )
    assert mine == reference and sum(mine.values()) == 0


def test_xone_counts_a_shape_listed_twice() -> None:
    mine, reference = verdicts(
        "ex:S sh:targetNode ex:a ; sh:xone ( ex:T ex:T ) . ex:T sh:class ex:C .",
        "ex:a a ex:C .",
    )
    assert mine == reference and sum(mine.values()) == 1


def test_ill_formed_literals_are_judged_as_submitted_not_as_a_store_rewrites_them() -> None:
    # Oxigraph stores "300"^^xsd:byte as an xsd:integer; the engine reads the parsed triples.
    mine, reference = verdicts(
        "ex:S sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:datatype xsd:byte ] .",
        'ex:a ex:p "300"^^xsd:byte , "c"^^xsd:byte , "7"^^xsd:byte .',
    )
    assert mine == reference
    assert sorted(str(row[2]) for row in mine.elements()) == ["300", "c"]


def test_this_in_nested_groups_binds_and_bound_is_written_into_the_query() -> None:
    mine, reference = verdicts(
        "ex:S sh:targetNode ex:a , ex:b ; sh:sparql [ sh:select "
        '"SELECT $this WHERE { { FILTER ($this = <http://example.org/a>) } '
        'BIND ($this AS ?that) FILTER (bound($this) && bound(?that)) }" ] .',
        "ex:a ex:p 1 . ex:b ex:p 2 .",
    )
    assert mine == reference and sum(mine.values()) == 1


@pytest.mark.parametrize(
    "shapes",
    [
        "ex:Kind rdfs:subClassOf sh:ConstraintComponent . ex:K a ex:Kind ; "
        "sh:parameter [ sh:path ex:q ] . ex:S sh:targetNode ex:a ; ex:q 1 .",
        "ex:S sh:targetNode ex:a ; sh:datatype xsd:string . ex:O owl:imports ex:Other .",
        "ex:S sh:targetNode ex:a ; sh:closed true .",
    ],
    ids=["component-by-subclass", "owl-imports", "closed"],
)
def test_what_the_engine_does_not_compile_hands_the_shapes_back(shapes: str) -> None:
    assert compile_shapes(rdflib.Graph().parse(data=PREFIXES + shapes, format="turtle")) is None


def test_a_blank_node_focus_for_this_in_a_nested_group_goes_to_pyshacl(tmp_path: Path) -> None:
    # No query text can name a blank node: the engine refuses at run time, and the registry's
    # check gives pySHACL-on-rdflib's findings instead.
    from registry.shacl.validation import check
    from registry.submissions.formats import read_bytes

    shapes_ttl = (
        'ex:S sh:targetSubjectsOf ex:p ; sh:sparql [ sh:message "nested" ; sh:select '
        '"SELECT $this WHERE { { FILTER (isBlank($this)) } }" ] .'
    )
    (tmp_path / "s.ttl").write_text(PREFIXES + shapes_ttl)
    engine = compile_shapes(rdflib.Graph().parse(tmp_path / "s.ttl"))
    data = list(ox.parse(b"_:x <http://example.org/p> 1 .", format=ox.RdfFormat.TURTLE))
    with pytest.raises(Unsupported):
        engine.validate(store_of(data), triples=data)  # type: ignore[union-attr]
    parsed = read_bytes(
        (PREFIXES + "<#a> a <https://w3id.org/fdi/ns#FlexibleAsset> ; ex:r [ ex:p 1 ] .").encode(),
        "turtle",
        source="a.ttl",
    )
    report, _, _ = check(parsed, load_shapes(tmp_path))
    assert [f.message for f in report.findings] == ["nested"]


BATCHED = [(p.stem, p, p) for p in PROJECT_FIXTURES] + [(t.name, t.data, t.shapes) for t in W3C]


@pytest.mark.parametrize(("name", "data", "shapes"), BATCHED, ids=[b[0] for b in BATCHED])
def test_reading_on_demand_in_batches_gives_the_same_results_in_the_same_order(
    name: str, data: Path, shapes: Path
) -> None:
    # Above PRELOAD_LIMIT quads the engine reads the store on demand, a batch of focus nodes at
    # a time, and forgets what it read after each batch; one node a batch is the hardest case.
    if data in PROJECT_FIXTURES:
        engine = project_engine("market" in data.relative_to(FIXTURES).parts)
    else:
        engine = compile_shapes(parse(shapes))
        if engine is None:
            return  # handed back (tests/test_shacl_w3c.py)
    store = store_of(ox_triples(data))
    try:
        preloaded = engine.validate(store)
    except Exception as e:  # noqa: BLE001 - a few W3C tests are refused as pySHACL refuses them
        with pytest.raises(type(e)):
            engine.validate(store, batch=1)
        return
    assert engine.validate(store, batch=1) == preloaded
    assert engine.validate(store, batch=2) == preloaded
