import json

import pytest

from registry.base.errors import UnsupportedFormat, UnusableInput
from registry.base.vocab import FDI, TECH
from registry.submissions.formats import SUBMISSION_BASE, format_for, read_bytes
from tests.conftest import EXAMPLES


def test_rdf_xml_is_refused_by_media_type():
    with pytest.raises(UnsupportedFormat, match="RDF/XML"):
        format_for(media_type="application/rdf+xml")


def test_rdf_xml_is_refused_by_file_name():
    with pytest.raises(UnsupportedFormat, match="RDF/XML"):
        format_for("assets.rdf")


def test_turtle_syntax_error_names_the_line():
    with pytest.raises(UnusableInput) as caught:
        read_bytes(
            b"@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b ;\nex:d ex:e .\n", "turtle"
        )
    assert caught.value.extra["line"] == 3
    assert "syntax error at line 3" in caught.value.detail


def test_plain_json_reads_through_the_registry_context():
    parsed = read_bytes((EXAMPLES / "asset.json").read_bytes(), "json")
    subject = next(t.subject for t in parsed.triples if t.predicate == FDI.technology)
    assert subject.value == SUBMISSION_BASE + "heat-pump-leeds-7"
    assert any(t.object == TECH.HeatPump for t in parsed.triples)
    assert parsed.origins[subject] == "item 1 (id heat-pump-leeds-7)"


def test_a_remote_context_is_never_fetched():
    doc = {"@context": "https://evil.example/context.jsonld", "@id": "x", "http://e/p": "v"}
    with pytest.raises(UnusableInput, match="never fetched"):
        read_bytes(json.dumps(doc).encode(), "jsonld")


def test_a_nested_remote_context_is_refused_too():
    doc = {
        "@context": {"ex": "http://e/"},
        "ex:p": {"@context": "http://evil.example/c", "ex:q": 1},
    }
    with pytest.raises(UnusableInput, match="never fetched"):
        read_bytes(json.dumps(doc).encode(), "jsonld")


def test_the_registry_context_named_by_iri_is_used_without_fetching():
    doc = {"@context": "https://w3id.org/fdi/context.jsonld", "id": "a", "type": "FlexibleAsset"}
    parsed = read_bytes(json.dumps(doc).encode(), "jsonld")
    assert any(t.object == FDI.FlexibleAsset for t in parsed.triples)


def test_deeply_nested_json_is_refused():
    doc: dict = {}
    node = doc
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(UnusableInput, match="deeper"):
        read_bytes(json.dumps(doc).encode(), "json")


def test_csv_rows_are_labelled_by_row_and_id():
    parsed = read_bytes((EXAMPLES / "assets.csv").read_bytes(), "csv")
    assert sorted(parsed.origins.values())[0] == "row 2 (id ev-norwich-1)"


def test_csv_with_an_unknown_column_is_unusable():
    with pytest.raises(UnusableInput, match="unknown column"):
        read_bytes(b"id,technology,colour\na,EVCharger,red\n", "csv")
