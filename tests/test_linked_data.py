"""Linked data: every IRI the registry mints dereferences (records of every kind, their
fragment nodes, the graph IRIs), and each ontology and shapes file is served at its own IRI."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.auth import current_principal
from registry.base.identity import FSP, Principal
from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.base.vocab import FDI
from registry.submissions.formats import read_file
from tests.conftest import BASE, EXAMPLES
from tests.test_assets import FSP_SCOPES

TURTLE = {"Accept": "text/turtle"}


pytestmark = pytest.mark.app(fsp=True, external=True)


@pytest.fixture
def client(client: TestClient) -> TestClient:
    """The shared anonymous ``client``, the registry holding public records of every kind."""
    app = client.app
    # Public records (no owner), registered through the domain: what anyone may dereference.
    for name in ("organisation.ttl", "asset.ttl", "assets.csv"):
        app.state.registry.register(read_file(EXAMPLES / name), "test")
    org = app.state.registry.journal.read(
        "SELECT iri FROM record WHERE iri LIKE ? LIMIT 1", (BASE + "id/org/%-%",)
    )[0][0]
    app.dependency_overrides[current_principal] = lambda: Principal(
        org, frozenset({FSP}), FSP_SCOPES
    )
    assert (
        client.post(
            "/catalogues",
            content=(EXAMPLES / "catalogue.ttl").read_bytes(),
            headers={"Content-Type": "text/turtle"},
        ).status_code
        == 201
    )
    app.dependency_overrides.clear()
    return client


def path_of(iri: str) -> str:
    return "/" + iri.removeprefix(BASE)


def public_records(client: TestClient) -> list[str]:
    rows = client.app.state.registry.journal.read(  # type: ignore[attr-defined]
        "SELECT iri FROM record WHERE graph = ? AND iri LIKE ?",
        (BASE + "graph/public", BASE + "id/%"),
    )
    return [iri for (iri,) in rows]


def test_every_public_record_dereferences_in_every_format(client: TestClient) -> None:
    records = public_records(client)
    kinds = {iri.removeprefix(BASE + "id/").split("/")[0] for iri in records}
    assert {"asset", "org", "catalogue"} <= kinds
    for iri in records:
        for media in ("text/html", "text/turtle", "application/n-triples", "application/ld+json"):
            response = client.get(path_of(iri), headers={"Accept": media})
            assert response.status_code == 200, (iri, media)
            assert response.headers["content-type"].startswith(media)
            assert response.headers["vary"] == "Accept" and response.headers["etag"]


def test_a_fragment_iri_resolves_to_its_record_document(client: TestClient) -> None:
    asset = next(iri for iri in public_records(client) if "/id/asset/" in iri)
    fragment = asset + "#exportCapacity"
    document = client.get(path_of(fragment.split("#")[0]), headers=TURTLE)
    triples = ox.parse(document.content, format=ox.RdfFormat.TURTLE, base_iri=BASE)
    assert any(q.subject == ox.NamedNode(fragment) for q in triples)


def test_graph_iris_say_what_they_are(client: TestClient) -> None:
    response = client.get("/graph/public", headers=TURTLE)
    assert response.status_code == 200 and response.headers["vary"] == "Accept"
    triples = list(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    assert ox.Quad(ox.NamedNode(BASE + "graph/public"), rdf_type, FDI.AudienceGraph) in triples
    assert client.get("/graph/members", headers=TURTLE).status_code == 200
    org = next(iri for iri in public_records(client) if "/id/org/" in iri)
    assert client.get("/graph/org/" + org.rsplit("/", 1)[-1], headers=TURTLE).status_code == 200
    assert client.get("/graph/shared/" + org.rsplit("/", 1)[-1], headers=TURTLE).status_code == 200
    assert client.get("/graph/org/nobody", headers=TURTLE).status_code == 404
    assert client.get("/graph/elsewhere", headers=TURTLE).status_code == 404


@pytest.mark.parametrize("path", ttl_files(shapes_dir()), ids=lambda p: p.stem)
def test_each_shapes_file_is_served_at_its_own_iri(client: TestClient, path) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/shapes/{path.stem}", headers=TURTLE)
    assert response.status_code == 200
    header = f"https://w3id.org/fdi/shapes/{path.stem}"
    assert header in response.text or header.replace("-", "") in response.text


@pytest.mark.parametrize("path", ttl_files(ontology_dir()), ids=lambda p: p.stem)
def test_each_ontology_file_is_served(client: TestClient, path) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/ns/{path.stem}", headers=TURTLE)
    assert response.status_code == 200
    served = ox.Dataset(ox.parse(response.content, format=ox.RdfFormat.TURTLE))
    published = ox.Dataset(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    for dataset in (served, published):
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    assert served == published


def test_the_whole_ontology_and_the_context_stay_where_they_were(client: TestClient) -> None:
    assert client.get("/ns", headers=TURTLE).status_code == 200
    assert client.get("/shapes", headers=TURTLE).status_code == 200
    assert (
        client.get("/ns/context.jsonld").headers["content-type"].startswith("application/ld+json")
    )
    assert client.get("/shapes/nothing-here", headers=TURTLE).status_code == 404
