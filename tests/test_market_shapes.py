"""Each market operator's published requirements (``shapes/market/``), tested with data.

Fixtures live in ``tests/fixtures/shapes/market/{valid,invalid}``, named ``<market>-<rule>.ttl``
and checked against that market's shapes only; an invalid fixture declares its exact results
the way ``tests/test_shapes.py`` fixtures do (``# expect: focus | path | component | shape``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, SH

from registry.base import vocab
from registry.markets import signposting

ROOT = Path(__file__).resolve().parent.parent
MARKET_SHAPES = sorted((ROOT / "shapes" / "market").glob("*.ttl"))
FIXTURES = ROOT / "tests" / "fixtures" / "shapes" / "market"
VALID = sorted((FIXTURES / "valid").glob("*.ttl"))
INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))
FDI = Namespace(vocab.FDI.iri)


def shapes_of(fixture: Path) -> Graph:
    return Graph().parse(ROOT / "shapes" / "market" / f"{fixture.stem.split('-', 1)[0]}.ttl")


def results(data: Graph, shapes: Graph) -> set[tuple]:
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, advanced=False, inference="none")
    return {
        (
            report.value(r, SH.focusNode),
            report.value(r, SH.resultPath),
            str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            report.value(r, SH.sourceShape),
        )
        for r in report.objects(None, SH.result)
    }


def expected(path: Path, data: Graph) -> set[tuple]:
    prefixes = {**vocab.PREFIXES, **{p: str(ns) for p, ns in data.namespaces()}}

    def term(text: str) -> URIRef | None:
        if text == "-":
            return None
        prefix, _, name = text.partition(":")
        return URIRef(prefixes[prefix] + name)

    out = set()
    for line in re.findall(r"^# expect:(.*)$", path.read_text(), flags=re.M):
        focus, result_path, component, shape = (f.strip() for f in line.split("|"))
        out.add((term(focus), term(result_path), component, term(shape)))
    return out


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixture_meets_its_markets_requirements(path: Path) -> None:
    assert results(Graph().parse(path), shapes_of(path)) == set()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_gives_exactly_the_declared_results(path: Path) -> None:
    data = Graph().parse(path)
    assert expected(path, data) and results(data, shapes_of(path)) == expected(path, data)


def test_every_market_rule_has_an_invalid_fixture() -> None:
    declared = {e[3] for p in INVALID for e in expected(p, Graph().parse(p))}
    for path in MARKET_SHAPES:
        graph = Graph().parse(path)
        rules = {
            p for s in graph.subjects(SH.targetClass, None) for p in graph.objects(s, SH.property)
        }
        assert rules and rules <= declared, path.name


@pytest.mark.parametrize("path", MARKET_SHAPES, ids=lambda p: p.name)
def test_market_shapes_are_well_formed_versioned_and_documented(path: Path) -> None:
    graph = Graph().parse(path)
    pyshacl.validate(Graph(), shacl_graph=graph, meta_shacl=True, advanced=False, inference="none")
    (header,) = graph.subjects(RDF.type, OWL.Ontology)
    assert graph.value(header, OWL.versionInfo) == Literal("0.1.0") and graph.value(
        header, DCTERMS.title
    )
    for shape in set(graph.subjects(SH.path, None)) | set(graph.subjects(RDF.type, SH.NodeShape)):
        assert graph.value(shape, SH.name) and graph.value(shape, SH.description), shape
        if (shape, SH.targetClass, None) not in graph:  # a rule, not just a group of rules
            assert graph.value(shape, SH.message), shape


@pytest.mark.parametrize("path", MARKET_SHAPES, ids=lambda p: p.name)
def test_each_market_shapes_document_belongs_to_a_market_of_the_ontology(path: Path) -> None:
    (header,) = Graph().parse(path).subjects(RDF.type, OWL.Ontology)
    assert [m.slug for m in signposting.markets().values() if m.requirements == str(header)] == [
        path.stem
    ]


def test_the_rules_name_the_services_and_areas_the_ontology_gives_the_market() -> None:
    for slug, node, listed in (
        ("neso", "NesoServiceShape", "services"),
        ("ukpn", "UkpnAreaShape", "areas"),
    ):
        m = signposting.market(slug)
        graph = m.shapes()
        (members,) = graph.objects(URIRef(vocab.FDISH[node].value), SH["in"])
        assert sorted(str(x) for x in Collection(graph, members)) == sorted(getattr(m, listed))


def records_of(graph: Graph) -> list[URIRef]:
    return sorted(
        s
        for t in (FDI.FlexibleAsset, FDI.CommercialInformation)
        for s in graph.subjects(RDF.type, t)
    )


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: p.stem)
def test_signposting_gives_the_references_verdict_on_each_market_fixture(path: Path) -> None:
    # What a provider is told a market misses equals pySHACL on rdflib's results (issue 14: on
    # an Oxigraph store, a London asset was said to be outside UK Power Networks' areas).
    data, shapes = Graph().parse(path), shapes_of(path)
    triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri()))
    (record,) = records_of(data)
    expected = sorted(str(shapes.value(shape, SH.name)) for *_, shape in results(data, shapes))
    (entry,) = [
        e
        for e in signposting.check(triples, str(record), "https://registry.example/")
        if e["slug"] == path.stem.split("-", 1)[0]
    ]
    assert sorted(m["rule"] for m in entry["missing"]) == expected
    assert entry["meets"] is (not expected)
