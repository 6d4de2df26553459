"""The vocabulary and rules as documentation (HTML at /ns and /shapes), every released version
at its version IRI in every format, and the differences between two versions."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, XSD

from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.rules import releases, rules, vocabulary_docs
from registry.rules.vocabulary_diff import compare
from tests.conftest import BASE, new_app

FDI = rdflib.Namespace("https://w3id.org/fdi/ns#")
FDISH = rdflib.Namespace("https://w3id.org/fdi/shapes#")
HTML = {"Accept": "text/html"}
FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
RDF_MEDIA = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


@pytest.fixture(scope="module")
def client():
    with TestClient(new_app(fsp=True)) as c:
        yield c


def packaged(directory: Path) -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in ttl_files(directory):
        graph.parse(path, format="turtle")
    return graph


def section(page: str, anchor: str) -> str:
    """The HTML of the <section> whose id is ``anchor``."""
    found = re.search(rf'<section id="{re.escape(anchor)}".*?</section>', page, re.S)
    assert found, f"no section #{anchor}"
    return html.unescape(found.group(0))


def test_every_class_and_property_has_a_section_with_its_label_and_definition(client):
    page = client.get("/ns", headers=HTML).text
    ontology = packaged(ontology_dir())  # the oracle: the Turtle read by rdflib
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    terms = [
        s for kind in kinds for s in ontology.subjects(RDF.type, kind) if s.startswith(str(FDI))
    ]
    assert len(terms) > 100
    for term in terms:
        text = section(page, str(term).rsplit("#", 1)[1])
        assert str(ontology.value(term, RDFS.label)) in text
        assert str(ontology.value(term, RDFS.comment)) in text


def test_a_property_names_the_rules_that_constrain_it_with_their_messages(client):
    text = section(client.get("/ns", headers=HTML).text, "mpanCore")
    shapes = packaged(shapes_dir())
    constraining = list(shapes.subjects(SH.path, FDI.mpanCore))
    assert constraining
    for shape in constraining:
        assert str(shape).replace(str(FDISH), "fdish:") in text
        assert str(shapes.value(shape, SH.message)) in text


def test_a_class_shows_an_example_from_the_valid_fixtures(client):
    text = section(client.get("/ns", headers=HTML).text, "FlexibleAsset")
    assert "Example: asset-" in text
    assert "a fdi:FlexibleAsset" in text


@pytest.mark.parametrize("rule", ["Asset-mpanCore", "CommercialInformation-market-recommended"])
def test_each_rule_shows_its_message_and_the_fixtures_that_break_it(client, rule):
    text = section(client.get("/shapes", headers=HTML).text, rule)
    shapes = packaged(shapes_dir())
    assert str(shapes.value(FDISH[rule], SH.message)) in text
    declared = sorted(  # the fixtures whose "# expect:" line names this rule
        p.name
        for p in (FIXTURES / "invalid").glob("*.ttl")
        if re.search(rf"^# expect: .*\| fdish:{rule}( \||$)", p.read_text(), re.M)
    )
    assert declared
    assert re.findall(r"Breaks it: (\S+)</summary>", text) == declared


def version_paths() -> list[str]:
    """Every version IRI the packaged files declare, as a path on this server."""
    paths = []
    for path in [
        *ttl_files(ontology_dir()),
        *ttl_files(shapes_dir()),
        *ttl_files(shapes_dir() / "market"),
    ]:
        graph = rdflib.Graph().parse(path, format="turtle")
        for iri in graph.objects(None, OWL.versionIRI):
            paths.append(str(iri).removeprefix("https://w3id.org/fdi"))
    return sorted(paths)


@pytest.mark.parametrize("path", version_paths())
@pytest.mark.parametrize("media", [*RDF_MEDIA, "text/html"])
def test_every_declared_version_iri_dereferences_in_every_format(client, path, media):
    response = client.get(path, headers={"Accept": media})
    assert response.status_code == 200, (path, response.text[:200])
    assert response.headers["content-type"].startswith(media)


@pytest.mark.parametrize("media", RDF_MEDIA)
def test_a_version_iri_serves_that_versions_graph(client, media):
    served = rdflib.Graph().parse(
        data=client.get("/shapes/0.1.0/asset", headers={"Accept": media}).content,
        format=RDF_MEDIA[media],
    )
    assert isomorphic(served, rdflib.Graph().parse(shapes_dir() / "asset.ttl"))


def test_there_are_version_iris_to_check():
    assert "/ns/0.1.0" in version_paths()
    assert "/shapes/0.1.0/asset" in version_paths()


@pytest.mark.parametrize("path", ["/ns/9.9.9", "/shapes/9.9.9/asset", "/shapes/0.1.0/nothing"])
def test_an_unreleased_version_or_document_is_a_404(client, path):
    assert client.get(path, headers={"Accept": "text/turtle"}).status_code == 404


# ------------------------------------------------------------------ differences between versions


def next_version(tmp_path: Path) -> tuple[Path, Path]:
    """A modified copy of the packaged ontology and asset shapes, made as a standards body
    would: a new class, a removed property, a changed label, a deprecated property, a changed
    rule and a new rule."""
    ontology, shapes = tmp_path / "ontology", tmp_path / "shapes"
    ontology.mkdir()
    shutil.copytree(shapes_dir(), shapes)
    terms = packaged(ontology_dir())
    terms.add((FDI.Electrolyser, RDF.type, OWL.Class))
    terms.add((FDI.Electrolyser, RDFS.label, rdflib.Literal("Electrolyser", lang="en")))
    terms.remove((FDI.stepLate, None, None))
    terms.set((FDI.mpanCore, RDFS.label, rdflib.Literal("Import MPAN core", lang="en")))
    terms.add((FDI.serialNumber, OWL.deprecated, rdflib.Literal(True)))
    terms.add((FDI.serialNumber, DCTERMS.isReplacedBy, FDI.deviceIdentifier))
    terms.add((FDI.serialNumber, FDI.sunset, rdflib.Literal("2027-06-01", datatype=XSD.date)))
    terms.serialize(ontology / "fdi.ttl", format="turtle")
    rules = rdflib.Graph().parse(shapes / "asset.ttl")
    rules.set((FDISH["Asset-postcode"], SH.pattern, rdflib.Literal("^[A-Z]{1,2}[0-9]")))
    rules.add((FDISH["Asset-electrolyser"], RDF.type, SH.PropertyShape))
    rules.add((FDISH["Asset-electrolyser"], SH.path, FDI.stackCount))
    rules.add((FDISH["Asset-electrolyser"], SH.minCount, rdflib.Literal(1)))
    rules.serialize(shapes / "asset.ttl", format="turtle")
    return ontology, shapes


EXPECTED = {
    ("Added", str(FDI.Electrolyser)),
    ("Removed", str(FDI.stepLate)),
    ("Changed", str(FDI.mpanCore)),
    ("Deprecated", str(FDI.serialNumber)),
    ("Changed", str(FDISH["Asset-postcode"])),
    ("Added", str(FDISH["Asset-electrolyser"])),
}


def triples(*directories: Path) -> list:
    return [
        t for d in directories for path in ttl_files(d) for t in releases.parsed(path.read_text())
    ]


def test_the_diff_names_every_term_and_rule_added_removed_changed_or_deprecated(tmp_path):
    ontology, shapes = next_version(tmp_path)
    changes = compare(triples(ontology_dir(), shapes_dir()), triples(ontology, shapes))
    assert {(c.kind, c.subject) for c in changes} == EXPECTED
    postcode = next(c for c in changes if c.subject.endswith("Asset-postcode"))
    assert (postcode.about, postcode.properties) == ("rule", [str(SH.pattern)])


def test_rewriting_a_version_with_other_blank_nodes_changes_nothing(tmp_path):
    ontology, shapes = tmp_path / "ontology", tmp_path / "shapes"
    for source, target in ((ontology_dir(), ontology), (shapes_dir(), shapes)):
        target.mkdir()
        for path in ttl_files(source):  # reserialised: other blank node labels, other order
            rdflib.Graph().parse(path).serialize(target / path.name, format="nt")
    before = triples(ontology_dir(), shapes_dir())
    assert compare(before, triples(ontology, shapes)) == []


@pytest.fixture
def two_versions(tmp_path, monkeypatch):
    ontology, shapes = next_version(tmp_path)
    packaged = rules.packaged()
    documents = {f"ontology/{p.stem}": p.read_text() for p in ttl_files(ontology)}
    documents |= {f"shapes/{p.stem}": p.read_text() for p in ttl_files(shapes)}
    later = rules.derive(packaged, "0.2.0", documents)
    monkeypatch.setattr(rules, "versions", lambda registry: [packaged, later])


def test_the_diff_is_served_as_rdf_naming_each_change(client, two_versions):
    response = client.get("/ns/diff?from=0.1.0&to=0.2.0", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    rows = graph.query(
        """PREFIX fdi: <https://w3id.org/fdi/ns#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?kind ?subject WHERE {
          ?diff a fdi:VersionDiff ; fdi:fromVersion <https://w3id.org/fdi/ns/0.1.0> ;
                fdi:toVersion <https://w3id.org/fdi/ns/0.2.0> ; dcterms:hasPart ?change .
          ?change a fdi:Change ; fdi:changeKind ?kind ; dcterms:subject ?subject }"""
    )
    assert {(str(k).rsplit("#", 1)[1], str(s)) for k, s in rows} == EXPECTED


def test_the_diff_page_lists_each_change_with_a_link(client, two_versions):
    page = client.get("/ns/diff?from=0.1.0&to=0.2.0", headers=HTML).text
    assert "6 change(s)" in page
    assert 'href="/ns/0.2.0#Electrolyser"' in page
    assert 'href="/ns/0.1.0#stepLate"' in page  # a removed term links to the version it was in


def test_a_new_version_dereferences_beside_the_old_one(client, two_versions):
    old = client.get("/ns/0.1.0", headers={"Accept": "text/turtle"}).text
    new = client.get("/ns/0.2.0", headers={"Accept": "text/turtle"}).text
    assert "Electrolyser" in new and "Electrolyser" not in old
    page = client.get("/ns/0.2.0", headers=HTML).text
    assert "Deprecated." in section(page, "serialNumber")
    assert "2027-06-01" in section(page, "serialNumber")


def test_a_diff_from_an_unreleased_version_is_a_404(client):
    response = client.get("/ns/diff?from=0.0.1&to=0.1.0", headers={"Accept": "text/turtle"})
    assert response.status_code == 404


def test_every_class_and_property_has_an_example_in_turtle_that_uses_it():
    for term in vocabulary_docs.vocabulary(None, "0.1.0").terms:
        if term.kind not in ("Class", "Object property", "Datatype property"):
            continue
        assert term.example, term.curie
        graph = rdflib.Graph().parse(data=term.example[1], format="turtle", publicID=BASE)
        used = {p for _, p, _ in graph} | {o for _, _, o in graph}
        assert rdflib.URIRef(term.iri) in used, term.curie


@pytest.mark.parametrize("media", RDF_MEDIA)
def test_a_technology_dereferences_at_its_own_iri(client, media):
    served = rdflib.Graph().parse(
        data=client.get("/technology/BatteryStorage", headers={"Accept": media}).content,
        format=RDF_MEDIA[media],
    )
    scheme = packaged(ontology_dir())  # the oracle: rdflib's concise bounded description
    expected = scheme.cbd(rdflib.URIRef("https://w3id.org/fdi/technology/BatteryStorage"))
    assert len(served) > 3
    assert isomorphic(served, expected)


def test_a_technology_reads_as_its_own_section_in_a_browser(client):
    page = client.get("/technology/HeatPump", headers=HTML).text
    assert "Heat pump" in section(page, "HeatPump")
    assert page.count("<section ") == 1


def test_an_unknown_technology_is_a_404(client):
    assert client.get("/technology/Perpetuum", headers=HTML).status_code == 404


@pytest.mark.parametrize("name", ["\U0010a93e", "a b", "Nothing"])
def test_a_name_that_is_no_technology_is_a_404_not_a_server_error(client, name):
    # Found by tests/test_fuzz.py: a name that makes no IRI raised a 500.
    answer = client.get(f"/technology/{name}", headers={"Accept": "text/turtle"})
    assert answer.status_code == 404
