"""The ontology in ontology/: it parses, is documented, and defines every term the project uses."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from registry.base import vocab

ROOT = Path(__file__).parent.parent
ONTOLOGY = ROOT / "ontology"
FDI_TTL = ONTOLOGY / "fdi.ttl"
TECH_TTL = ONTOLOGY / "technologies.ttl"

FDI = Namespace(vocab.FDI.iri)
TECH = Namespace(vocab.TECH.iri)
ONTOLOGY_IRI = URIRef("https://w3id.org/fdi/ns")
TECH_SCHEME = URIRef(vocab.TECH.iri)

# Code names terms as FDI.Name or FDI["Name"] (see registry/base/vocab.py).
ATTRIBUTE_USE = re.compile(r"\b(FDI|TECH)\.([A-Za-z_]\w*)")
ITEM_USE = re.compile(r"""\b(FDI|TECH)\[\s*["']([^"']+)["']\s*\]""")
# Attributes of vocab.Namespace itself, not vocabulary terms.
NAMESPACE_ATTRIBUTES = {"iri"}
# A prefixed name such as fdi:FlexibleAsset or fdi:area-eastern in prose.
MARKDOWN_TERM = re.compile(r"(?<![\w-])fdi:([A-Za-z](?:[\w-]*\w)?)")


def _parse(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


@pytest.fixture(scope="module")
def fdi() -> Graph:
    return _parse(FDI_TTL)


@pytest.fixture(scope="module")
def tech() -> Graph:
    return _parse(TECH_TTL)


@pytest.fixture(scope="module")
def both(fdi: Graph, tech: Graph) -> Graph:
    return fdi + tech


def _own_subjects(graph: Graph) -> set[URIRef]:
    return {
        s
        for s in graph.subjects()
        if isinstance(s, URIRef) and (s.startswith(FDI) or s.startswith(TECH))
    }


def _defined(graph: Graph, namespace: Namespace) -> set[str]:
    """Local names of the terms the graph types in the namespace."""
    return {
        str(s)[len(namespace) :] for s in graph.subjects(RDF.type) if str(s).startswith(namespace)
    }


def _has_english(graph: Graph, subject: URIRef, *predicates: URIRef) -> bool:
    return any(
        isinstance(o, Literal) and o.language == "en"
        for p in predicates
        for o in graph.objects(subject, p)
    )


def _code_uses() -> set[tuple[str, str]]:
    """(namespace, name) pairs for every FDI./TECH. term named in registry/ and api/ code."""
    uses = set()
    for folder in ("registry", "api"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in (ATTRIBUTE_USE, ITEM_USE):
                uses.update(pattern.findall(text))
    return {(ns, name) for ns, name in uses if name not in NAMESPACE_ATTRIBUTES}


@pytest.mark.parametrize("path", [FDI_TTL, TECH_TTL], ids=lambda p: p.name)
def test_parses_with_rdflib(path: Path) -> None:
    assert len(_parse(path)) > 0


@pytest.mark.parametrize("path", [FDI_TTL, TECH_TTL], ids=lambda p: p.name)
def test_parses_with_pyoxigraph(path: Path) -> None:
    store = pyoxigraph.Store()
    store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) > 0


def test_header_has_version_and_modified_date(fdi: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in fdi
    assert fdi.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef("https://w3id.org/fdi/ns/0.1.0")
    assert str(fdi.value(ONTOLOGY_IRI, OWL.versionInfo)) == "0.1.0"
    modified = fdi.value(ONTOLOGY_IRI, DCTERMS.modified)
    assert isinstance(modified, Literal) and modified.datatype is not None


def test_every_term_is_typed(both: Graph) -> None:
    untyped = sorted(s for s in _own_subjects(both) if (s, RDF.type, None) not in both)
    assert untyped == []


def test_every_term_has_english_label(both: Graph) -> None:
    missing = sorted(
        s for s in _own_subjects(both) if not _has_english(both, s, RDFS.label, SKOS.prefLabel)
    )
    assert missing == []


def test_every_term_has_english_comment(both: Graph) -> None:
    missing = sorted(
        s for s in _own_subjects(both) if not _has_english(both, s, RDFS.comment, SKOS.definition)
    )
    assert missing == []


def test_only_own_terms_are_described(both: Graph) -> None:
    """Terms of ORG, ODRL, SAREF and the rest are linked to, never redefined."""
    own = _own_subjects(both) | {ONTOLOGY_IRI, TECH_SCHEME}
    foreign = sorted({s for s in both.subjects() if not isinstance(s, BNode)} - own)
    assert foreign == []


def test_every_fdi_term_referenced_is_defined(fdi: Graph, both: Graph) -> None:
    defined = _defined(fdi, FDI)
    referenced = {
        str(t)[len(FDI) :]
        for triple in both
        for t in triple
        if isinstance(t, URIRef) and t.startswith(FDI)
    }
    assert sorted(referenced - defined) == []


def test_every_fdi_term_in_data_model_doc_is_defined(fdi: Graph) -> None:
    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    used = set(MARKDOWN_TERM.findall(text))
    assert used, "expected the data model to name fdi: terms"
    assert sorted(used - _defined(fdi, FDI)) == []


def test_every_fdi_and_tech_term_in_code_is_defined(fdi: Graph, tech: Graph) -> None:
    defined = {"FDI": _defined(fdi, FDI), "TECH": _defined(tech, TECH)}
    undefined = sorted(f"{ns}.{name}" for ns, name in _code_uses() if name not in defined[ns])
    assert undefined == []


def test_record_types_are_classes(fdi: Graph) -> None:
    for record_type in vocab.RECORD_TYPES:
        assert (URIRef(record_type.value), RDF.type, OWL.Class) in fdi


def test_lifecycle_statuses_are_in_lifecycle_scheme(fdi: Graph) -> None:
    for status in vocab.LIFECYCLE:
        iri = URIRef(status.value)
        assert (iri, RDF.type, FDI.LifecycleStatus) in fdi
        assert (iri, SKOS.inScheme, FDI.LifecycleScheme) in fdi


def test_every_technology_is_in_technology_scheme(tech: Graph) -> None:
    for name in vocab.TECHNOLOGIES:
        assert (TECH[name], RDF.type, FDI.Technology) in tech
        assert (TECH[name], SKOS.inScheme, TECH_SCHEME) in tech


def test_technology_scheme_has_no_concepts_missing_from_vocab(tech: Graph) -> None:
    in_scheme = {str(s)[len(TECH) :] for s in tech.subjects(SKOS.inScheme, TECH_SCHEME)}
    assert in_scheme == set(vocab.TECHNOLOGIES)


def test_storage_flag_matches_vocab(tech: Graph) -> None:
    storage = {str(s)[len(TECH) :] for s in tech.subjects(FDI.isStorage, Literal(True))}
    assert storage == set(vocab.STORAGE_TECHNOLOGIES)


def test_licence_areas_cover_distributor_ids_10_to_23(fdi: Graph) -> None:
    areas = list(fdi.subjects(RDF.type, FDI.LicenceArea))
    ids = sorted(str(fdi.value(area, FDI.distributorId)) for area in areas)
    assert ids == [str(n) for n in range(10, 24)]


def test_licence_areas_have_distinct_valid_gsp_groups(fdi: Graph) -> None:
    groups = [str(fdi.value(a, FDI.gspGroup)) for a in fdi.subjects(RDF.type, FDI.LicenceArea)]
    assert len(set(groups)) == 14
    assert all(re.fullmatch(r"_[A-HJ-NP]", group) for group in groups)
