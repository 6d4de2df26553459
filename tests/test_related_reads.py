"""The stored records a submission is checked with are read only for the properties the rules
read of them (registry.shacl.reach), and every verdict stays what reading them whole gives."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib

from registry.assembly import Registry
from registry.shacl.reach import readable_predicates
from registry.shacl.validation import check, load_shapes
from registry.submissions.formats import read_bytes
from tests.test_assets import ASSET, ORG, make_fsp, register_asset, right

FDI = "https://w3id.org/fdi/ns#"
SAREF = "https://saref.etsi.org/core/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def shapes_graph(turtle: str) -> rdflib.Graph:
    prefixes = (
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://ex/> .\n"
        "ex:o sh:declare [ sh:prefix 'ex' ; sh:namespace 'http://ex/' ] .\n"
    )
    return rdflib.Graph().parse(data=prefixes + turtle, format="turtle")


def test_the_shipped_rules_read_types_meter_points_and_rights_but_not_models_or_postcodes():
    found = load_shapes().related_predicates()
    assert found is not None
    assert {RDF_TYPE, FDI + "asset", FDI + "mpanCore", FDI + "validTo"} <= found
    assert not {SAREF + "hasModel", FDI + "postcode", FDI + "assetOwner"} & found


@pytest.mark.parametrize(
    "shape",
    [
        # any property of a node other than the focus node
        "ex:S sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex:o ; sh:select "
        "'SELECT $this WHERE { $this ex:r ?x . ?x ?p ?o }' ] .",
        # any property but one
        "ex:S sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex:o ; sh:select "
        "'SELECT $this WHERE { $this ex:r ?x . ?x !ex:q ?o }' ] .",
        # $this is a value node when the shape is applied through sh:node
        "ex:T sh:targetClass ex:C ; sh:property [ sh:path ex:r ; sh:node ex:S ] .\n"
        "ex:S sh:sparql [ sh:prefixes ex:o ; sh:select 'SELECT $this WHERE { $this ?p ?o }' ] .",
        # a prefix nobody declared: the query cannot be read
        "ex:S sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex:o ; sh:select "
        "'SELECT $this WHERE { $this nope:r ?x . ?x nope:q ?o }' ] .",
        # a prefix rdflib would guess (schema:) but no shape declares
        "ex:S sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex:o ; sh:select "
        "'SELECT $this WHERE { $this <http://ex/r> ?x . ?x schema:name ?o }' ] .",
        # a closed shape on value nodes reads every property they have
        "ex:T sh:targetClass ex:C ; sh:property [ sh:path ex:r ; sh:node ex:S ] .\n"
        "ex:S sh:closed true ; sh:property [ sh:path ex:q ] .",
        # one constraint held by a targeted shape and by a value shape: $this may be a value
        "ex:T sh:targetClass ex:C ; sh:sparql ex:Q ;\n"
        "  sh:property [ sh:path ex:r ; sh:node ex:S ] .\n"
        "ex:S sh:sparql ex:Q .\n"
        "ex:Q sh:prefixes ex:o ; sh:select 'SELECT $this WHERE { $this ?p ?o }' .",
    ],
)
def test_rules_that_may_read_any_property_read_records_whole(shape):
    assert readable_predicates(shapes_graph(shape)) is None


def test_the_focus_nodes_own_properties_value_shapes_and_long_paths_are_told_apart():
    graph = shapes_graph(
        "ex:S sh:targetClass ex:C ;\n"
        "  sh:sparql [ sh:prefixes ex:o ;\n"
        "    sh:select 'SELECT $this WHERE { $this ?any ?x . ?x ex:q ?o . "
        "FILTER NOT EXISTS { ?x ex:hidden ?z } }' ] ;\n"
        "  sh:property [ sh:path ex:own ; sh:class ex:D ] ;\n"
        "  sh:property [ sh:path ( ex:first ex:second ) ] ;\n"
        "  sh:property [ sh:path ex:link ; sh:node ex:Linked ] .\n"
        "ex:Linked sh:property [ sh:path [ sh:inversePath ex:back ] ; sh:minCount 1 ] ;\n"
        "  sh:property [ sh:path ex:maker ; sh:disjoint ex:model ] ."
    )
    found = readable_predicates(graph)
    assert found is not None
    assert {"http://ex/q", "http://ex/hidden", "http://ex/first", "http://ex/second"} <= found
    assert {"http://ex/model", "http://ex/maker"} <= found  # compared on a value node
    assert "http://ex/back" in found  # an inverse path on a value node reads other nodes
    assert "http://ex/own" not in found  # read of the focus node, which is submitted whole


def submissions(registry: Registry) -> dict[str, bytes]:
    """One submission breaking each rule that reads stored records, and one breaking none."""
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    registry.register(
        read_bytes(
            right(asset, fsp.organisation, "2025-01-01", 'fdi:validTo "2025-06-01"^^xsd:date ;'),
            "turtle",
        ),
        actor="test",
        owner=fsp.organisation,
    )
    no_fsp = ORG.replace("12345678", "00000009").replace(
        "fdi:marketRole fdi:FlexibilityServiceProvider ;", ""
    )
    other = registry.register(read_bytes(no_fsp.encode(), "turtle"), actor="test")
    not_fsp = next(iter(other.ids.values()))
    without_serial = "\n".join(
        line if "serialNumber" not in line else "    ."
        for line in ASSET.splitlines()
        if "hasModel" not in line
    ).replace('"Tesla" ;\n    .', '"Tesla" .')
    return {
        "duplicate asset": ASSET.encode(),
        "likely duplicate": without_serial.encode(),
        "overlapping right": right(asset, fsp.organisation, "2025-03-01"),
        "right after the other": right(asset, fsp.organisation, "2025-06-01"),
        "operator not an FSP": right(asset, not_fsp, "2026-01-01"),
        "asset not registered": right(asset + "-gone", fsp.organisation, "2026-01-01"),
        "asset is an organisation": right(fsp.organisation, fsp.organisation, "2026-01-01"),
    }


def test_every_verdict_is_the_same_with_records_read_whole_and_read_in_part(registry):
    _, shapes = registry.rules_now()
    predicates = shapes.related_predicates()
    assert predicates is not None
    broken = set()
    names = submissions(registry)
    for name, text in names.items():
        parsed = read_bytes(text, "turtle")
        whole, _, _ = check(parsed, shapes, related=registry.related)
        part, _, _ = check(parsed, shapes, related=lambda t: registry.related(t, predicates))
        assert part.as_dict() == whole.as_dict(), name
        if whole.findings:
            broken.add(name)
        read_whole = registry.related(parsed.triples)
        read_part = registry.related(parsed.triples, predicates)
        assert set(read_part) <= set(read_whole), name
    # every submission but the one that breaks nothing is refused or warned about
    assert broken == set(names) - {"right after the other"}


def test_a_right_reads_less_of_its_asset_than_the_whole_record(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    triples = read_bytes(right(asset, fsp.organisation, "2026-01-01"), "turtle").triples
    whole = registry.related(triples)
    part = registry.related(triples, load_shapes().related_predicates())
    assert len(part) < len(whole)
    assert not [t for t in part if t.predicate.value == SAREF + "hasModel"]
    assert [t for t in part if t.predicate.value == FDI + "mpanCore"]


def test_a_submission_naming_a_stored_record_reads_the_records_whole(registry):
    """The stored content of a record being validated is data its own rules read (a record
    sent back as served, or taken for another's: the verdicts stay what they always were)."""
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    triples = registry.record(asset, fsp)  # the asset as served to its owner
    whole = registry.related(triples)
    assert whole  # the asset itself, found by its meter point
    assert registry.related(triples, load_shapes().related_predicates()) == whole


def test_a_property_that_is_no_iri_makes_the_records_read_whole(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    triples = read_bytes(right(asset, fsp.organisation, "2026-01-01"), "turtle").triples
    odd = frozenset({FDI + "asset", "http://ex/a> } ?s ?p ?o { <http://ex/b"})
    assert registry.related(triples, odd) == registry.related(triples)


def test_long_literals_are_read_every_time_not_remembered():
    from registry.shacl import terms

    before = terms._remembered.cache_info().currsize
    long = ox.Literal("x" * 1000, datatype=ox.NamedNode("http://ex/text"))
    assert terms.read_as_rdflib(long) == long
    short = ox.Literal("2026-01-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))
    terms.read_as_rdflib(short)
    assert terms._remembered.cache_info().currsize <= before + 1
