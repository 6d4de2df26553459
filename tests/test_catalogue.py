"""DCAT: the registry's catalogue (conforming to the DCAT-AP 3.0.1 Base and Range shapes),
members' catalogues submitted, validated and checked against the publisher, paging, content
negotiation, and data-sharing (what a requester may see)."""

from __future__ import annotations

import os
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib
from fastapi.testclient import TestClient

from api.auth import current_principal
from registry.base.identity import FSP, Principal
from registry.base.vocab import DCAT, DCT, FDI, HYDRA
from registry.publishing.catalogue import catalogue
from registry.submissions.formats import read_bytes
from tests.conftest import BASE, EXAMPLES
from tests.test_assets import FSP_SCOPES

CATALOGUE = (EXAMPLES / "catalogue.ttl").read_bytes()
TURTLE = {"Content-Type": "text/turtle"}


def shared_dir() -> Path:
    """The steering repository's shared/ folder: beside this checkout, or FDI_SHARED_DIR."""
    beside = Path(__file__).resolve().parents[2] / "shared"
    return beside if beside.is_dir() else Path(os.environ.get("FDI_SHARED_DIR", beside))


DCAT_AP = shared_dir() / "conformance" / "dcat-ap" / "3.0.1" / "html" / "shacl"


pytestmark = pytest.mark.app(external=True)


def organisation(app, name: str, number: str) -> Principal:  # type: ignore[no-untyped-def]
    """A member organisation registered in ``app``'s registry, as a principal."""
    text = (EXAMPLES / "organisation.ttl").read_text()
    text = text.replace("FlexCo Energy Services Ltd", name).replace("12345678", number)
    parsed = read_bytes(text.encode(), "turtle", source="organisation.ttl")
    iri = next(iter(app.state.registry.register(parsed, "test").ids.values()))
    return Principal(iri, frozenset({FSP}), FSP_SCOPES)


def acting_as(app, principal: Principal | None) -> None:  # type: ignore[no-untyped-def]
    app.dependency_overrides[current_principal] = lambda: principal or Principal.anonymous()


def publish(client: TestClient, body: bytes = CATALOGUE, **params: str):  # type: ignore[no-untyped-def]
    return client.post("/catalogues", content=body, headers=TURTLE, params=params)


def graph_of(response) -> rdflib.Graph:  # type: ignore[no-untyped-def]
    return rdflib.Graph().parse(data=response.text, format="turtle")


# --- DCAT-AP conformance --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dcat_ap_shapes() -> rdflib.Graph:
    if not DCAT_AP.is_dir():
        pytest.skip(f"DCAT-AP shapes not found at {DCAT_AP} (set FDI_SHARED_DIR)")
    shapes = rdflib.Graph()
    for name in ("shapes.ttl", "range.ttl", "imports.ttl"):
        shapes.parse(DCAT_AP / name, format="turtle")
    return shapes


def dcat_ap_report(data: rdflib.Graph, shapes: rdflib.Graph) -> tuple[bool, str]:
    conforms, _, text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        do_owl_imports=False,
        allow_warnings=True,
    )
    return conforms, text


def test_the_catalogue_conforms_to_dcat_ap_base_and_range(app, client, dcat_ap_shapes) -> None:  # type: ignore[no-untyped-def]
    acting_as(app, organisation(app, "FlexCo Energy Services Ltd", "12345678"))
    assert publish(client).status_code == 201
    acting_as(app, None)
    data = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    assert (None, rdflib.RDF.type, rdflib.URIRef(DCAT.DataService.value)) in data
    conforms, text = dcat_ap_report(data, dcat_ap_shapes)
    assert conforms, text


def test_an_empty_registry_catalogue_conforms_too(client, dcat_ap_shapes) -> None:  # type: ignore[no-untyped-def]
    conforms, text = dcat_ap_report(
        graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"})), dcat_ap_shapes
    )
    assert conforms, text


def test_dcat_ap_shapes_catch_a_catalogue_without_a_publisher(client, dcat_ap_shapes) -> None:  # type: ignore[no-untyped-def]
    data = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    data.remove((rdflib.URIRef(BASE + "catalogue"), rdflib.URIRef(DCT.publisher.value), None))
    conforms, _ = dcat_ap_report(data, dcat_ap_shapes)
    assert not conforms


# --- the registry's own part ------------------------------------------------------------------


def test_the_sparql_endpoint_is_a_data_service(client) -> None:  # type: ignore[no-untyped-def]
    data = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    service = rdflib.URIRef(BASE + "catalogue#sparql")
    assert (service, rdflib.URIRef(DCAT.endpointURL.value), rdflib.URIRef(BASE + "sparql")) in data
    assert (
        service,
        rdflib.URIRef(DCT.conformsTo.value),
        rdflib.URIRef("https://www.w3.org/TR/sparql11-protocol/"),
    ) in data
    assert (service, rdflib.URIRef(DCAT.endpointDescription.value), None) in data
    datasets = set(
        data.objects(rdflib.URIRef(BASE + "catalogue"), rdflib.URIRef(DCAT.dataset.value))
    )
    assert {d.rsplit("#", 1)[-1] for d in datasets} == {"directory", "assets", "ontology", "shapes"}


def test_the_catalogue_negotiates_its_format(client) -> None:  # type: ignore[no-untyped-def]
    for media in ("text/turtle", "application/n-triples", "application/ld+json", "text/html"):
        response = client.get("/catalogue", headers={"Accept": media})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.headers["vary"] == "Accept"
        assert response.headers["etag"]
    jsonld = client.get("/catalogue", headers={"Accept": "application/ld+json"})
    dataset = ox.Dataset(ox.parse(jsonld.content, format=ox.RdfFormat.JSON_LD))
    assert any(q.predicate == DCAT.service for q in dataset)


# --- members' catalogues ----------------------------------------------------------------------


def test_a_member_catalogue_is_listed_with_its_licences(app, client) -> None:  # type: ignore[no-untyped-def]
    member = organisation(app, "FlexCo Energy Services Ltd", "12345678")
    acting_as(app, member)
    response = publish(client)
    assert response.status_code == 201
    iri = response.headers["location"]
    assert iri.startswith(BASE + "id/catalogue/")
    data = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    node = rdflib.URIRef(iri)
    assert (rdflib.URIRef(BASE + "catalogue"), rdflib.URIRef(DCAT.catalog.value), node) in data
    assert (node, rdflib.URIRef(DCT.publisher.value), rdflib.URIRef(member.organisation)) in data
    licences = set(data.objects(None, rdflib.URIRef(DCT.license.value)))
    assert rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/") in licences


def test_a_catalogue_for_another_publisher_is_refused(app, client) -> None:  # type: ignore[no-untyped-def]
    other = organisation(app, "Other Flex Ltd", "87654321")
    acting_as(app, organisation(app, "FlexCo Energy Services Ltd", "12345678"))
    body = CATALOGUE.replace(
        b'dct:title "FlexCo open data"@en ;',
        f'dct:title "x"@en ; dct:publisher <{other.organisation}> ;'.encode(),
    )
    response = publish(client, body)
    assert response.status_code == 403
    assert other.organisation in response.json()["detail"]


def test_an_anonymous_catalogue_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    assert publish(client).status_code == 401


def test_a_catalogue_breaking_the_shapes_is_refused_with_the_report(app, client) -> None:  # type: ignore[no-untyped-def]
    acting_as(app, organisation(app, "FlexCo Energy Services Ltd", "12345678"))
    body = CATALOGUE.replace(b"    dcat:endpointURL <https://api.flexco.example/v1> ;\n", b"")
    response = publish(client, body)
    assert response.status_code == 422
    assert "endpoint URL" in response.text


def test_a_members_only_catalogue_is_not_listed_to_everyone(app, client) -> None:  # type: ignore[no-untyped-def]
    member = organisation(app, "FlexCo Energy Services Ltd", "12345678")
    acting_as(app, member)
    iri = publish(client, audience="members").headers["location"]
    listed = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    assert (None, rdflib.URIRef(DCAT.catalog.value), rdflib.URIRef(iri)) in listed
    acting_as(app, None)
    anonymous = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    assert (None, rdflib.URIRef(DCAT.catalog.value), rdflib.URIRef(iri)) not in anonymous


def test_a_catalogue_is_replaced_with_if_match(app, client) -> None:  # type: ignore[no-untyped-def]
    acting_as(app, organisation(app, "FlexCo Energy Services Ltd", "12345678"))
    iri = publish(client).headers["location"]
    uid = iri.rsplit("/", 1)[-1]
    body = CATALOGUE.replace(b"FlexCo open data", b"FlexCo data, second edition")
    headers = {**TURTLE, "If-Match": '"1"'}
    assert client.put(f"/catalogues/{uid}", content=body, headers=TURTLE).status_code == 428
    assert client.put(f"/catalogues/{uid}", content=body, headers=headers).status_code == 200
    assert client.put(f"/catalogues/{uid}", content=body, headers=headers).status_code == 412
    record = client.get(f"/id/catalogue/{uid}", headers={"Accept": "text/turtle"})
    assert "second edition" in record.text


# --- paging -----------------------------------------------------------------------------------


def test_a_large_catalogue_is_paged(app, client) -> None:  # type: ignore[no-untyped-def]
    acting_as(app, organisation(app, "FlexCo Energy Services Ltd", "12345678"))
    for _ in range(3):
        publish(client)
    registry = app.state.registry
    first = catalogue(registry, None, 1, page_size=2)
    second = catalogue(registry, None, 2, page_size=2)
    assert (first.pages, first.total, first.next, first.previous) == (
        2,
        3,
        BASE + "catalogue?page=2",
        None,
    )
    assert second.next is None and second.previous == BASE + "catalogue?page=1"

    def members(page):  # type: ignore[no-untyped-def]
        return {t.object for t in page.triples if t.predicate == DCAT.catalog}

    assert len(members(first)) == 2 and len(members(second)) == 1
    assert not members(first) & members(second)
    view = ox.NamedNode(BASE + "catalogue?page=1")
    assert ox.Triple(view, HYDRA.next, ox.NamedNode(BASE + "catalogue?page=2")) in first.triples


def test_pages_link_to_each_other_over_http(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/catalogue?page=1", headers={"Accept": "text/turtle"})
    assert f'<{BASE}catalogue?page=1>; rel="first"' in response.headers["link"]
    assert client.get("/catalogue?page=2").status_code == 404


def test_member_catalogue_type_is_a_record_type() -> None:
    from registry.base.vocab import RECORD_TYPES

    assert RECORD_TYPES[FDI.MemberCatalogue] == "catalogue"


def test_dcat_ap_range_shapes_catch_an_untyped_licence(client, dcat_ap_shapes) -> None:  # type: ignore[no-untyped-def]
    data = graph_of(client.get("/catalogue", headers={"Accept": "text/turtle"}))
    data.remove((None, rdflib.RDF.type, rdflib.URIRef(DCT.LicenseDocument.value)))
    conforms, text = dcat_ap_report(data, dcat_ap_shapes)
    assert not conforms and "LicenseDocument" in text
