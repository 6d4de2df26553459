"""The HTTP service in-process: pages, linked data, SPARQL, submissions, problem details."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BASE, EXAMPLES, new_app

pytestmark = pytest.mark.app(fsp=True)


def submit(client, name: str, media: str):
    return client.post(
        "/submissions", content=(EXAMPLES / name).read_bytes(), headers={"Content-Type": media}
    )


def test_registering_returns_the_minted_ids(client):
    response = submit(client, "assets.csv", "text/csv")
    assert response.status_code == 201
    body = response.json()
    assert set(body["ids"]) == {
        "ev-norwich-1",
        "battery-london-2",
        "v2g-aberdeen-3",
        "solar-planned-4",
    }
    assert body["seq"] == client.app.state.registry.journal.last()[0]


def test_a_minted_iri_dereferences_with_content_negotiation(client):
    iri = submit(client, "asset.ttl", "text/turtle").json()["ids"]["battery-cardiff-1"]
    path = iri.removeprefix(BASE.rstrip("/"))
    turtle = client.get(path, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "2143967712809" in turtle.text
    assert turtle.headers["vary"] == "Accept"
    html = client.get(path, headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "2143967712809" in html.text
    jsonld = client.get(path, headers={"Accept": "application/ld+json"})
    assert iri in {node["id"] for node in jsonld.json()["@graph"]}


def test_etag_gives_304_when_unchanged(client):
    iri = submit(client, "asset.ttl", "text/turtle").json()["ids"]["battery-cardiff-1"]
    path = iri.removeprefix(BASE.rstrip("/"))
    first = client.get(path, headers={"Accept": "text/turtle"})
    again = client.get(
        path, headers={"Accept": "text/turtle", "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_an_invalid_submission_is_a_422_problem_with_the_report(client):
    body = (EXAMPLES / "asset.ttl").read_bytes().replace(b"2143967712809", b"2143967712808")
    response = client.post("/submissions", content=body, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert any(f["value"] == "2143967712808" for f in problem["report"]["findings"])
    assert client.app.state.registry.counts()["asset"] == 0


def test_rdf_xml_is_refused_with_415(client):
    response = client.post(
        "/submissions", content=b"<rdf:RDF/>", headers={"Content-Type": "application/rdf+xml"}
    )
    assert response.status_code == 415
    assert "RDF/XML" in response.json()["detail"]


def test_unknown_record_is_a_404_problem(client):
    response = client.get("/id/asset/does-not-exist")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


def test_sparql_select_in_every_results_format(client):
    submit(client, "assets.csv", "text/csv")
    query = (
        "PREFIX fdi: <https://w3id.org/fdi/ns#> SELECT ?m WHERE { ?a fdi:mpanCore ?m } ORDER BY ?m"
    )
    as_json = client.get(
        "/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert [b["m"]["value"] for b in as_json.json()["results"]["bindings"]] == [
        "1012345678903",
        "1212345678902",
        "1712345678905",
    ]
    for media in ("application/sparql-results+xml", "text/csv", "text/tab-separated-values"):
        response = client.get("/sparql", params={"query": query}, headers={"Accept": media})
        assert response.headers["content-type"].startswith(media)
        assert "1712345678905" in response.text


def test_sparql_by_form_post(client):
    submit(client, "assets.csv", "text/csv")
    form = client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"})
    assert form.json()["boolean"] is True


def test_sparql_by_direct_post(client):
    submit(client, "assets.csv", "text/csv")
    direct = client.post(
        "/sparql", content="ASK { ?s ?p ?o }", headers={"Content-Type": "application/sparql-query"}
    )
    assert direct.json()["boolean"] is True


def test_sparql_construct_returns_turtle(client):
    submit(client, "assets.csv", "text/csv")
    response = client.get(
        "/sparql",
        params={"query": "CONSTRUCT WHERE { ?s <https://w3id.org/fdi/ns#gspGroup> ?g }"},
        headers={"Accept": "text/turtle"},
    )
    assert response.headers["content-type"].startswith("text/turtle")
    assert '"_P"' in response.text


@pytest.mark.parametrize(
    "query, reason",
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "updates"),
        ("SELECT * WHERE " + "{" * 200 + "}" * 200, "nests"),
        ("SELEKT * WHERE { ?s ?p ?o }", "malformed"),
    ],
)
def test_unsafe_or_malformed_queries_are_400(client, query, reason):
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_the_home_page_says_what_is_registered():
    app = new_app(fsp=True, disclosure_threshold=1)
    with TestClient(app) as client:
        submit(client, "assets.csv", "text/csv")
        page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "EVCharger" in page.text
    assert "/sparql" in page.text and "/docs" in page.text


def test_the_home_page_does_not_single_out_one_asset(client):
    submit(client, "assets.csv", "text/csv")  # one EV charger (default threshold: 5)
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "EVCharger" not in page.text


def test_ontology_shapes_and_context_are_served(client):
    assert "FlexibleAsset" in client.get("/ns", headers={"Accept": "text/turtle"}).text
    assert "sh:NodeShape" in client.get("/shapes", headers={"Accept": "text/turtle"}).text
    assert "@context" in client.get("/ns/context.jsonld").json()


def test_validate_endpoint_stores_nothing(client):
    response = client.post(
        "/validate",
        content=(EXAMPLES / "asset.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert response.json()["conforms"] is True
    assert client.app.state.registry.counts()["asset"] == 0
