"""Issue 16 item 4: the HTTP conventions browsers and linked-data clients expect, over a real
HTTP server (uvicorn on loopback) and checked with real clients (httpx, rdflib's parsers and
its SPARQLStore) as oracles."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore

from registry.base.vocab import DCAT, DCT, VCARD
from registry.query.sparql_results import TRUNCATED
from registry.submissions.jsonld import registry_context
from tests.conftest import BASE, EXAMPLES, new_app
from tests.servers import serve

ORIGIN = {"Origin": "https://yasgui.example"}
ASK = {"query": "ASK { ?s ?p ?o }"}


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    app = new_app(max_results=5, demo_assets=12)
    yield app
    app.state.registry.close()


@pytest.fixture(scope="module")
def http(app) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture(scope="module")
def asset(app) -> str:  # type: ignore[no-untyped-def]
    """The path of a public asset record."""
    iri = app.state.registry.journal.read(
        "SELECT iri FROM record WHERE iri LIKE ? LIMIT 1", (BASE + "id/asset/%",)
    )[0][0]
    return "/" + iri.removeprefix(BASE)


def public_reads(asset: str) -> list[str]:
    return [
        asset,
        "/ns",
        "/ns/fdi",
        "/ns/context.jsonld",
        "/shapes",
        "/shapes/asset",
        "/catalogue",
        "/sparql?query=ASK%7B%7D",
        "/graph/public",
    ]


def turtle_graph(http: httpx.Client, path: str) -> rdflib.Graph:
    return rdflib.Graph().parse(
        data=http.get(path, headers={"Accept": "text/turtle"}).text, format="turtle"
    )


# --- Location on 201 ------------------------------------------------------------------------


def test_post_assets_answers_201_with_a_location_that_dereferences() -> None:
    from fastapi.testclient import TestClient

    with TestClient(new_app(fsp=True)) as client:
        answer = client.post(
            "/assets",
            content=(EXAMPLES / "asset.ttl").read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
        assert answer.status_code == 201
        location = answer.headers["location"]
        assert location in answer.json()["ids"].values()
        record = client.get(
            location.removeprefix(BASE.rstrip("/")), headers={"Accept": "text/turtle"}
        )
        assert record.status_code == 200 and "2143967712809" in record.text


# --- CORS -----------------------------------------------------------------------------------


def test_any_origin_may_read_the_public_documents(http: httpx.Client, asset: str) -> None:
    for path in public_reads(asset):
        answer = http.get(path, headers=ORIGIN)
        assert answer.status_code == 200, path
        assert answer.headers["access-control-allow-origin"] == "*", path
        assert "etag" in answer.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-credentials" not in answer.headers  # never a member's view


def test_a_browser_sparql_client_may_post_a_query_from_another_origin(http: httpx.Client) -> None:
    preflight = http.options(
        "/sparql",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    answer = http.post(
        "/sparql", data=ASK, headers={**ORIGIN, "Accept": "application/sparql-results+json"}
    )
    assert answer.json()["boolean"] is True
    assert answer.headers["access-control-allow-origin"] == "*"


def test_member_routes_are_not_opened_to_other_origins(http: httpx.Client, asset: str) -> None:
    assert "access-control-allow-origin" not in http.get("/reads", headers=ORIGIN).headers
    preflight = http.options(asset, headers={**ORIGIN, "Access-Control-Request-Method": "PUT"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in http.post("/assets", headers=ORIGIN).headers


# --- HEAD, OPTIONS, Allow -------------------------------------------------------------------


def test_head_answers_wherever_get_does_with_its_headers_and_no_body(
    http: httpx.Client, asset: str
) -> None:
    for path in [*public_reads(asset), "/", "/directory", "/sparql", "/openapi.json"]:
        get, head = http.get(path), http.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers.get("etag") == get.headers.get("etag"), path
        assert head.headers["content-type"] == get.headers["content-type"], path


def test_options_lists_every_method_of_the_path(http: httpx.Client, asset: str) -> None:
    sparql = http.options("/sparql")
    assert sparql.status_code == 204
    assert set(sparql.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    record = http.options(asset)
    assert set(record.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "OPTIONS"}


def test_a_405_lists_every_method_the_path_offers(http: httpx.Client, asset: str) -> None:
    refused = http.delete(asset)
    assert refused.status_code == 405
    assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "OPTIONS"}
    assert http.get(asset, headers={"Accept": "text/turtle"}).status_code == 200  # still there


# --- 406 ------------------------------------------------------------------------------------


def test_an_unacceptable_type_is_a_406_listing_the_offers(http: httpx.Client, asset: str) -> None:
    for path in (asset, "/ns", "/catalogue", "/sparql?query=ASK%7B%7D"):
        refused = http.get(path, headers={"Accept": "image/png"})
        assert refused.status_code == 406, path
        problem = refused.json()
        assert problem["status"] == 406 and "text/turtle" in problem["offered"], path


def test_a_browsers_accept_on_sparql_gets_the_page_and_star_gets_json(http: httpx.Client) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = http.get("/sparql", params=ASK, headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    anything = http.get("/sparql", params=ASK, headers={"Accept": "*/*"})
    assert anything.headers["content-type"].startswith("application/sparql-results+json")


# --- conditional requests -------------------------------------------------------------------


def test_weak_and_star_if_none_match_give_304(http: httpx.Client, asset: str) -> None:
    for path in (asset, "/ns", "/ns/context.jsonld", "/shapes/asset", "/catalogue"):
        etag = http.get(path).headers["etag"]
        for condition in (etag, "W/" + etag, f'"other", W/{etag}', "*"):
            answer = http.get(path, headers={"If-None-Match": condition})
            assert answer.status_code == 304, (path, condition)
            assert answer.content == b"" and answer.headers["etag"] == etag
        assert http.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


# --- Link headers ---------------------------------------------------------------------------


def test_link_headers_name_every_other_format_and_the_shapes(
    http: httpx.Client, asset: str
) -> None:
    answer = http.get(asset, headers={"Accept": "text/turtle"})
    links = _links(answer)
    alternates = {link["type"]: link["url"] for link in links if link["rel"] == "alternate"}
    assert set(alternates) == {
        "text/html",
        "application/n-triples",
        "application/ld+json",
        "application/rdf+xml",
    }
    followed = http.get(alternates["application/n-triples"])
    assert followed.headers["content-type"].startswith("application/n-triples")
    ours = rdflib.Graph().parse(data=answer.text, format="turtle")
    assert isomorphic(ours, rdflib.Graph().parse(data=followed.text, format="nt"))
    described = next(link["url"] for link in links if link["rel"] == "describedby")
    assert described.endswith("/shapes/asset")
    shapes = http.get(described.removeprefix(BASE.rstrip("/")), headers={"Accept": "text/turtle"})
    assert shapes.status_code == 200 and "FlexibleAsset" in shapes.text


def _links(answer: httpx.Response) -> list[dict[str, str]]:
    out = []
    for value in answer.headers.get_list("link"):
        for part in value.split(", <"):
            url, *params = part.strip().split(";")
            link = {"url": url.strip("<> ")}
            for param in params:
                name, _, val = param.strip().partition("=")
                link[name] = val.strip('"')
            out.append(link)
    return out


# --- formats --------------------------------------------------------------------------------


def test_jsonld_is_compacted_with_type_through_the_registrys_context(
    http: httpx.Client, asset: str
) -> None:
    document = http.get(asset, headers={"Accept": "application/ld+json"}).json()
    assert document["@context"] == registry_context()
    nodes = document.get("@graph", [document])
    record = next(n for n in nodes if n["id"].endswith(asset))
    assert record["type"] == "FlexibleAsset" and {"technology", "status"} <= set(record)
    assert isomorphic(
        rdflib.Graph().parse(data=json.dumps(document), format="json-ld"),
        turtle_graph(http, asset),
    )


def test_rdf_xml_is_served_to_a_harvester_that_asks_for_it(http: httpx.Client, asset: str) -> None:
    for path in (asset, "/catalogue", "/ns"):
        answer = http.get(path, headers={"Accept": "application/rdf+xml"})
        assert answer.headers["content-type"].startswith("application/rdf+xml")
        parsed = rdflib.Graph().parse(data=answer.text, format="xml")
        assert isomorphic(parsed, turtle_graph(http, path)), path


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_ask_in_csv_and_tsv_is_read_by_rdflibs_sparqlstore(http: httpx.Client, fmt: str) -> None:
    store = SPARQLStore(str(http.base_url) + "sparql", returnFormat=fmt)
    for query, expected in (
        ("ASK { ?s ?p ?o }", "true"),
        ("ASK { <urn:x> <urn:y> <urn:z> }", "false"),
    ):
        result = list(store.query(query))
        assert [str(row[0]) for row in result] == [expected]


def test_a_cut_answer_says_so_inside_the_results(http: httpx.Client) -> None:
    many = {"query": "SELECT ?s WHERE { ?s ?p ?o }"}
    as_json = http.get(
        "/sparql", params=many, headers={"Accept": "application/sparql-results+json"}
    )
    assert len(as_json.json()["results"]["bindings"]) == 5
    assert as_json.json()["head"]["link"] == [TRUNCATED]
    as_xml = http.get("/sparql", params=many, headers={"Accept": "application/sparql-results+xml"})
    ns = "{http://www.w3.org/2005/sparql-results#}"
    link = ET.fromstring(as_xml.content).find(f"{ns}head/{ns}link")
    assert link is not None and link.get("href") == TRUNCATED
    few = http.get(
        "/sparql",
        params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert "link" not in few.json()["head"]


def test_the_catalogue_says_when_it_changed_and_whom_to_ask(http: httpx.Client) -> None:
    graph = turtle_graph(http, "/catalogue")
    catalogue = rdflib.URIRef(BASE + "catalogue")
    (modified,) = graph.objects(catalogue, rdflib.URIRef(DCT.modified.value))
    last = http.app.state.registry.journal.read("SELECT MAX(time) FROM entry", ())[0][0]  # type: ignore[attr-defined]
    assert modified.toPython() == datetime.fromisoformat(last)  # type: ignore[union-attr]
    datasets = list(graph.objects(catalogue, rdflib.URIRef(DCAT.dataset.value)))
    assert len(datasets) == 4
    for dataset in datasets:
        assert list(graph.objects(dataset, rdflib.URIRef(DCT.modified.value))), dataset
        (contact,) = graph.objects(dataset, rdflib.URIRef(DCAT.contactPoint.value))
        assert list(graph.objects(contact, rdflib.URIRef(VCARD.hasEmail.value)))


def test_openapi_documents_the_real_media_types(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    record = paths["/id/{kind}/{uid}"]["get"]["responses"]
    assert {"text/turtle", "application/ld+json", "application/rdf+xml"} <= set(
        record["200"]["content"]
    )
    assert "application/json" not in record["200"]["content"]
    assert {"304", "406"} <= set(record)
    sparql = paths["/sparql"]["post"]["responses"]["200"]["content"]
    assert {"application/sparql-results+json", "text/csv", "text/turtle"} <= set(sparql)
    assert set(paths["/ca/crl"]["get"]["responses"]["200"]["content"]) == {"application/pkix-crl"}
