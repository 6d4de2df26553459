"""The public directory over HTTP: member search (JSON and RDF), organisation pages advertising
their inboxes, the licence registry, the bulk export and the market signposts."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from registry.base.vocab import FDI, LDP, ROV
from tests.conftest import BASE, EXAMPLES, new_app
from tests.trust import Member, Onboarding

LDP_INBOX = "http://www.w3.org/ns/ldp#inbox"


class World:
    def __init__(self) -> None:
        self.app = new_app()
        self.onboarding = Onboarding.of(self.app)
        self.fsp = self.onboarding.member("Example Flex Ltd", "SC123456")
        self.dso = self.onboarding.member(
            "North DSO plc", "01234567", roles=["DistributionSystemOperator"]
        )
        self.anonymous = TestClient(self.app)
        self.fsp_client = self.onboarding.client(self.fsp)
        response = self.fsp_client.post(
            "/commercial-information",
            content=(EXAMPLES / "commercial-information.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
        self.commercial = response.json()["id"]

    def path(self, member: Member) -> str:
        return member.iri.removeprefix(BASE.rstrip("/"))


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def triples(response) -> list[ox.Triple]:  # type: ignore[no-untyped-def]
    fmt = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES}[
        response.headers["content-type"].split(";")[0]
    ]
    return [
        ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(response.content, format=fmt)
    ]


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["id"] for m in response.json()["members"]]


def test_search_by_role(world: World) -> None:
    found = world.anonymous.get("/directory", params={"role": "DistributionSystemOperator"})
    assert found.status_code == 200 and ids(found) == [world.dso.iri]


def test_search_by_region_technology_service_and_market(world: World) -> None:
    for params in (
        {"region": "London"},
        {"technology": "HeatPump"},
        {"service": "sustain"},
        {"market": "ukpn", "region": "area-eastern"},
    ):
        assert ids(world.anonymous.get("/directory", params=params)) == [world.fsp.iri], params
    assert ids(world.anonymous.get("/directory", params={"region": "Yorkshire"})) == []


def test_search_by_name_scheme_and_status(world: World) -> None:
    found = world.anonymous.get(
        "/directory", params={"name": "example FLEX", "scheme": "fdi", "status": "verified"}
    )
    (entry,) = found.json()["members"]
    assert entry["id"] == world.fsp.iri and entry["roles"] == ["FlexibilityServiceProvider"]
    assert entry["inbox"] == world.fsp.iri + "/inbox" and entry["schemes"] == ["fdi"]


def test_search_answers_in_rdf_by_content_negotiation(world: World) -> None:
    found = world.anonymous.get(
        "/directory",
        params={"role": "FlexibilityServiceProvider"},
        headers={"Accept": "text/turtle"},
    )
    graph = triples(found)
    fsp = ox.NamedNode(world.fsp.iri)
    assert ox.Triple(fsp, ROV.legalName, ox.Literal("Example Flex Ltd")) in graph
    assert ox.Triple(fsp, LDP.inbox, ox.NamedNode(world.fsp.iri + "/inbox")) in graph
    assert any(t.predicate == FDI.operatesIn for t in graph)
    assert not any(t.predicate == FDI.flexibleCapacity for t in graph)


def test_an_organisation_page_is_public_and_advertises_its_inbox(world: World) -> None:
    page = world.anonymous.get(world.path(world.dso), headers={"Accept": "text/turtle"})
    assert page.status_code == 200
    assert f'<{world.dso.iri}/inbox>; rel="{LDP_INBOX}"' in page.headers["link"]
    assert ox.Triple(
        ox.NamedNode(world.dso.iri), LDP.inbox, ox.NamedNode(world.dso.iri + "/inbox")
    ) in triples(page)
    assert (
        world.anonymous.get(world.path(world.dso), headers={"Accept": "text/html"}).status_code
        == 200
    )


def test_commercial_information_itself_is_not_public(world: World) -> None:
    assert world.anonymous.get(world.commercial.removeprefix(BASE.rstrip("/"))).status_code == 404


def test_the_scheme_operator_publishes_licences_anyone_can_list(world: World) -> None:
    licence = (EXAMPLES / "licence.ttl").read_bytes()
    refused = world.fsp_client.post(
        "/licences", content=licence, headers={"Content-Type": "text/turtle"}
    )
    assert refused.status_code == 403
    operator = world.onboarding.operator_client()
    assert (
        operator.post(
            "/licences", content=licence, headers={"Content-Type": "text/turtle"}
        ).status_code
        == 201
    )

    (listed,) = world.anonymous.get("/licences").json()["licences"]
    assert listed["title"] == "FDI asset data licence" and listed["scheme"] == FDI.FDIScheme.value
    assert listed["scopes"] == [FDI["scope-assets-read"].value]
    rdf = triples(world.anonymous.get("/licences", headers={"Accept": "application/n-triples"}))
    assert any(t.predicate == FDI.coversScope for t in rdf)


def test_the_export_is_the_public_directory_only(world: World) -> None:
    export = world.anonymous.get("/directory/export")
    assert export.headers["content-type"].startswith("application/n-triples")
    graph = triples(export)
    subjects = {t.subject.value for t in graph}
    assert {world.fsp.iri, world.dso.iri, FDI.FDIScheme.value} <= subjects
    assert world.commercial not in subjects and not any(
        t.predicate == FDI.flexibleCapacity for t in graph
    )
    assert (
        world.anonymous.get("/directory/export", headers={"Accept": "text/turtle"}).status_code
        == 200
    )
    jsonld = world.anonymous.get("/directory/export", headers={"Accept": "application/ld+json"})
    assert isinstance(json.loads(jsonld.content), (list, dict))


def test_signposts_list_each_market_and_its_published_requirements(world: World) -> None:
    markets = {m["slug"]: m for m in world.anonymous.get("/signpost").json()["markets"]}
    assert markets["neso"]["requirementsPublished"] and not markets["nged"]["requirementsPublished"]
    neso = world.anonymous.get("/signpost", params={"market": "market-neso"}).json()
    assert {r["field"] for r in neso["requirements"]} == {"services", "capacity", "contactPoint"}
    shapes = world.anonymous.get(
        neso["shapes"].removeprefix(BASE.rstrip("/")), headers={"Accept": "text/turtle"}
    )
    assert shapes.status_code == 200 and "NesoShape" in shapes.text
    assert world.anonymous.get("/shapes/market/nged").status_code == 404
    assert world.anonymous.get("/signpost", params={"market": "nowhere"}).status_code == 404
