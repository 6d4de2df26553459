"""``/sparql`` answered before FastAPI's routing (api.sparql.SparqlRoute): the same behaviour
as a route, documented in the OpenAPI document, errors as problem documents."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.auth import current_principal
from registry.base.errors import Unauthenticated
from registry.base.identity import Principal

BASE = "http://registry.test/"
ASK = "ASK { ?s ?p ?o }"


pytestmark = pytest.mark.app(store="", max_body_bytes=1000)


def test_sparql_stays_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/sparql"]) == {"get", "post"}
    parameters = {p["name"] for p in paths["/sparql"]["get"]["parameters"]}
    assert parameters == {"query", "default-graph-uri", "named-graph-uri"}


def test_a_refused_query_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * {"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/sparql"


def test_a_refused_query_is_refused_again(client: TestClient) -> None:
    # Checks of accepted queries are remembered; a refusal must not be.
    query = "SELECT * { SERVICE <http://elsewhere.example/sparql> { ?s ?p ?o } }"
    for _ in range(2):
        assert client.get("/sparql", params={"query": query}).status_code == 400


def test_a_repeated_query_answers_alike(client: TestClient) -> None:
    first = client.get("/sparql", params={"query": ASK})
    second = client.get("/sparql", params={"query": ASK})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["vary"] == "Accept"
    assert "fdi-result-limit" in first.headers


def test_the_overridden_requester_is_the_one_asking(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    def refused() -> Principal:
        raise Unauthenticated("this certificate is revoked")

    app.dependency_overrides[current_principal] = refused
    response = client.get("/sparql", params={"query": ASK})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_other_methods_are_not_allowed(client: TestClient) -> None:
    assert client.put("/sparql", content=ASK).status_code == 405
    assert client.delete("/sparql").status_code == 405


def test_a_body_over_the_limit_is_refused_before_the_query(client: TestClient) -> None:
    body = "ASK { " + "?s ?p ?o . " * 200 + "}"
    response = client.post(
        "/sparql", content=body, headers={"content-type": "application/sparql-query"}
    )
    assert response.status_code == 413


def test_an_html_client_gets_the_error_page(client: TestClient) -> None:
    response = client.get(
        "/sparql", params={"query": "SELECT * {"}, headers={"accept": "text/html"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
