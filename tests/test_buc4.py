"""BUC.4 (common user registration) end to end through the HTTP API.

Steps 1–2: FSP-1 applies with its KYC evidence, the scheme operator verifies it, it holds one
ID however it applies again, joins the FDI scheme, accepts the scheme's standard agreement and
obtains a client certificate for its application. Every request presents a real client
certificate issued by the registry's CA, put into the ASGI scope as the TLS layer does
(``tests/test_tls.py`` makes the same journey over real TLS).

Steps 3–8 extend this file: ``journey`` is module-scoped and holds FSP-1's clients;
``journey.onboard(...)`` onboards further organisations (market operators, in the roles given)
through the same HTTP calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.tls import with_client_certificate
from registry.base.settings import Settings
from registry.trust import operator
from registry.trust.ca import new_key_and_csr
from tests.conftest import BASE

FSP1 = {
    "legalName": "FSP-1 Flexibility Ltd",
    "companyNumber": "SC123456",
    "lei": "5493001KJTIIGC8Y1R12",
    "registeredAddress": "1 Example Street, Edinburgh EH1 1AA",
    "website": "https://fsp1.example.org/",
    "contactPoint": {"name": "Flexibility desk", "email": "flex@fsp1.example.org"},
    "administrator": {"name": "Ada Admin", "email": "ada@fsp1.example.org"},
}


@dataclass
class Onboarded:
    """An organisation onboarded over HTTP, with the responses of each step."""

    id: str
    admin: TestClient
    client: TestClient
    steps: dict[str, httpx.Response] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        return self.id.rsplit("/", 1)[-1]


@dataclass
class Journey:
    app: Any
    anonymous: TestClient
    operator: TestClient
    fsp1: Onboarded | None = None

    def client(self, certificate: str) -> TestClient:
        return TestClient(with_client_certificate(self.app, certificate))

    def onboard(self, application: dict[str, Any], roles: list[str], **grant: Any) -> Onboarded:
        """Apply (with a CSR), verify, join in ``roles``, accept the agreement, be granted
        (``grant``: scopes, validFrom, validTo), and obtain an application certificate."""
        steps: dict[str, httpx.Response] = {}
        _, admin_csr = new_key_and_csr(f"{application['legalName']} administrator")
        steps["apply"] = self.anonymous.post(
            "/organisations", json={**application, "csr": admin_csr.decode()}
        )
        uid = steps["apply"].json()["id"].rsplit("/", 1)[-1]
        steps["verify"] = self.operator.post(
            f"/organisations/{uid}/verify", json={"assuranceLevel": "DocumentsChecked"}
        )
        steps["admin-certificate"] = self.anonymous.get(
            steps["verify"].json()["next"]["certificate"]
        )
        admin = self.client(steps["admin-certificate"].text)
        steps["join"] = admin.post("/schemes/fdi/memberships", json={"roles": roles})
        membership = steps["join"].json()["id"].rsplit("/", 1)[-1]
        steps["agreement"] = self.anonymous.get(steps["join"].json()["next"]["document"])
        steps["accept"] = admin.post(
            f"/memberships/{membership}/accept",
            json={"agreement": steps["join"].json()["next"]["agreement"]},
        )
        steps["grant"] = self.operator.post(
            f"/memberships/{membership}/grant", json={"roles": roles, **grant}
        )
        _, csr = new_key_and_csr(f"{application['legalName']} application")
        steps["certificate"] = admin.post(
            f"/organisations/{uid}/certificates", json={"csr": csr.decode(), "name": "application"}
        )
        onboarded = Onboarded(
            steps["apply"].json()["id"],
            admin,
            self.client(steps["certificate"].json()["certificate"]),
            steps,
        )
        return onboarded


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Journey:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("buc4") / "data", base_iri=BASE))
    _, issued = operator.admin_certificate(app.state.registry, app.state.ca)
    j = Journey(app, TestClient(app), TestClient(with_client_certificate(app, issued.pem)))
    j.fsp1 = j.onboard(FSP1, ["FlexibilityServiceProvider"])
    return j


# ------------------------------------------------------------------ step 1: verified once


def test_step1_fsp1_applies_with_its_kyc_evidence(journey: Journey) -> None:
    applied = journey.fsp1.steps["apply"]
    assert applied.status_code == 201
    assert (
        applied.json()["status"] == "applied"
        and applied.json()["next"]["step"] == "wait-for-verification"
    )
    assert (
        applied.json()["companyNumber"] == "SC123456"
        and applied.json()["lei"] == "5493001KJTIIGC8Y1R12"
    )


def test_step1_the_scheme_operator_verifies_fsp1(journey: Journey) -> None:
    verified = journey.fsp1.steps["verify"].json()
    assert verified["status"] == "verified" and verified["assuranceLevel"] == "DocumentsChecked"
    assert verified["next"]["step"] == "join-scheme"
    assert journey.fsp1.steps["admin-certificate"].text.startswith("-----BEGIN CERTIFICATE-----")


# ------------------------------------------------------------------ step 2: one ID


def test_step2_fsp1_holds_one_id_however_it_applies_again(journey: Journey) -> None:
    for again in (
        {"companyNumber": "sc 123 456"},
        {"companyNumber": None, "lei": "5493001kjtiigc8y1r12"},
    ):
        response = journey.anonymous.post("/organisations", json={**FSP1, **again})
        assert response.status_code == 409
        assert response.headers["location"] == journey.fsp1.id
    found = journey.anonymous.post(
        "/sparql",
        data={"query": 'SELECT ?o WHERE { ?o <https://w3id.org/fdi/ns#companyNumber> "SC123456" }'},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert [b["o"]["value"] for b in found.json()["results"]["bindings"]] == [journey.fsp1.id]


def test_step2_fsp1_joins_the_scheme_and_accepts_its_agreement(journey: Journey) -> None:
    steps = journey.fsp1.steps
    assert (
        steps["join"].status_code == 201
        and steps["join"].json()["next"]["step"] == "accept-agreement"
    )
    assert steps["agreement"].headers["content-type"].startswith("text/markdown")
    assert steps["accept"].json()["acceptance"]["by"].startswith(BASE + "id/user/")
    assert steps["grant"].json()["status"] == "active"
    assert steps["grant"].json()["next"]["step"] == "request-certificate"


def test_step2_fsp1_obtains_a_certificate_carrying_its_id_roles_and_scopes(
    journey: Journey,
) -> None:
    issued = journey.fsp1.steps["certificate"]
    assert issued.status_code == 201
    me = journey.fsp1.client.get("/whoami").json()
    assert me["organisation"] == journey.fsp1.id
    assert me["roles"] == ["FlexibilityServiceProvider"]
    assert me["scopes"] == ["agreements-write", "assets-write", "commercial-write", "messages-send"]
    status = journey.anonymous.get(f"/organisations/{journey.fsp1.uid}").json()
    assert status["marketRoles"] == ["FlexibilityServiceProvider"]
    assert [m["status"] for m in status["memberships"]] == ["active"]


# ------------------------------------------------------------------ steps 3-8: one journey
#
# ``market`` runs steps 3-8 once, in order, over HTTP with real client certificates, and keeps
# every response; the tests below check them. MO-1 (a DSO) gets an agreement, MO-2 (a market
# operator) does not, and must read none of FSP-1's data through REST, SPARQL or the catalogue.

MO1 = {
    "legalName": "MO-1 Distribution plc",
    "companyNumber": "02366923",
    "contactPoint": {"name": "Flexibility team", "email": "flex@mo1.example.org"},
}
MO2 = {
    "legalName": "MO-2 Flexibility Markets Ltd",
    "companyNumber": "11111111",
    "contactPoint": {"name": "Market desk", "email": "desk@mo2.example.org"},
}
FSP2 = {
    "legalName": "FSP-2 Aggregation Ltd",
    "companyNumber": "SC654321",
    "contactPoint": {"name": "Ops", "email": "ops@fsp2.example.org"},
}
ASSETS_QUERY = "PREFIX fdi: <https://w3id.org/fdi/ns#> SELECT ?a WHERE { ?a a fdi:FlexibleAsset }"
COMMERCIAL_QUERY = (
    "PREFIX fdi: <https://w3id.org/fdi/ns#> "
    "SELECT ?c ?v WHERE { ?c fdi:flexibleCapacity/<http://qudt.org/schema/qudt/numericValue> ?v }"
)
GRAPHS_QUERY = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
INTEREST = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Offer",
    "summary": "FSP-1 would like to take part in MO-1's flexibility tenders",
    "object": {
        "type": "Note",
        "content": "2.5 MW of batteries and heat pumps in London and the East",
    },
}


@dataclass
class Market:
    mo1: Onboarded
    mo2: Onboarded
    fsp2: Onboarded
    r: dict[str, httpx.Response]
    asset: str
    commercial: str
    agreement: str


def _path(iri: str) -> str:
    return iri.removeprefix(BASE.rstrip("/"))


def _sparql(client: TestClient, query: str) -> list[dict[str, Any]]:
    found = client.post(
        "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert found.status_code == 200, found.text
    return found.json()["results"]["bindings"]


@pytest.fixture(scope="module")
def market(journey: Journey) -> Market:
    from tests.conftest import EXAMPLES

    fsp1 = journey.fsp1
    assert fsp1 is not None
    mo1 = journey.onboard(MO1, ["DistributionSystemOperator"])
    mo2 = journey.onboard(MO2, ["MarketOperator"])
    fsp2 = journey.onboard(FSP2, ["FlexibilityServiceProvider"])
    r: dict[str, httpx.Response] = {}
    offer = json.loads((EXAMPLES / "commercial-information.json").read_text())
    invalid = {k: v for k, v in offer.items() if k not in ("services", "capacity")}
    # Step 3: commercial information, first invalid, then valid.
    r["commercial-invalid"] = fsp1.client.post("/commercial-information", json=invalid)
    r["commercial"] = fsp1.client.post("/commercial-information", json=offer)
    r["asset"] = fsp1.client.post(
        "/assets",
        content=(EXAMPLES / "asset.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
    )
    # Step 4: an agreement sharing FSP-1's assets and commercial information with MO-1 only.
    r["agreement"] = fsp1.client.post(
        "/agreements",
        json={
            "type": "DataSharingAgreement",
            "id": "share-with-mo1",
            "assignee": [mo1.id],
            "target": ["fdi:ProviderAssets", "fdi:ProviderCommercialInformation"],
            "permission": {
                "action": "use",
                "constraint": {
                    "leftOperand": "purpose",
                    "operatorSymbol": "eq",
                    "rightOperand": "fdi:FlexibilityProcurement",
                },
            },
        },
    )
    # Step 5: FSP-1 searches the directory for market operators and finds MO-1's inbox.
    r["search-dso"] = journey.anonymous.get(
        "/directory", params={"role": "DistributionSystemOperator"}
    )
    r["search-mo"] = journey.anonymous.get(
        "/directory", params={"role": "MarketOperator", "scheme": "fdi"}
    )
    r["mo1-page"] = fsp1.client.get(_path(mo1.id), headers={"Accept": "text/turtle"})
    inbox = r["mo1-page"].links["http://www.w3.org/ns/ldp#inbox"]["url"]
    # Steps 5-6: FSP-1 expresses interest; posting is refused where roles do not allow it.
    r["interest"] = fsp1.client.post(
        _path(inbox), json=INTEREST, headers={"Content-Type": "application/ld+json"}
    )
    r["fsp-to-fsp"] = fsp1.client.post(
        _path(fsp2.id + "/inbox"), json=INTEREST, headers={"Content-Type": "application/ld+json"}
    )
    r["mo1-inbox"] = mo1.client.get(_path(inbox))
    r["mo2-reads-mo1-inbox"] = mo2.client.get(_path(inbox))
    r["acknowledge"] = mo1.client.post(_path(r["interest"].json()["id"]) + "/acknowledgement")
    # Steps 7-8: MO-1 reads what FSP-1 shares with it; MO-2, without an agreement, reads nothing.
    asset = r["asset"].json()["ids"]["battery-cardiff-1"]
    commercial = r["commercial"].json()["id"]
    for who, client in (("mo1", mo1.client), ("mo2", mo2.client)):
        r[f"{who}-shared"] = client.get("/shared-with-me")
        r[f"{who}-asset"] = client.get(_path(asset), headers={"Accept": "text/turtle"})
        r[f"{who}-commercial"] = client.get(_path(commercial), headers={"Accept": "text/turtle"})
        r[f"{who}-catalogue"] = client.get(
            "/catalogue", headers={"Accept": "application/n-triples"}
        )
    return Market(mo1, mo2, fsp2, r, asset, commercial, r["agreement"].json()["agreement"]["id"])


def test_step3_invalid_commercial_information_is_refused_with_what_is_missing(
    market: Market,
) -> None:
    refused = market.r["commercial-invalid"]
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    report = refused.json()["commercialReport"]
    assert sorted(f["field"] for f in report["missing"]) == ["capacity", "services"]


def test_step3_valid_commercial_information_is_registered_with_signposts(market: Market) -> None:
    created = market.r["commercial"]
    assert created.status_code == 201 and created.json()["id"].startswith(BASE + "id/commercial/")
    report = created.json()["report"]
    assert report["conforms"] and report["missing"] == [] and report["optional"] == []
    markets = {m["slug"]: m for m in report["markets"]}
    assert markets["ukpn"]["selected"] and markets["ukpn"]["meets"]
    assert markets["neso"]["selected"] and markets["neso"]["meets"]
    assert markets["neso"]["shapes"] == BASE + "shapes/market/neso"


def test_step4_fsp1_configures_a_data_sharing_agreement(market: Market, journey: Journey) -> None:
    made = market.r["agreement"]
    assert made.status_code == 201, made.text
    agreement = made.json()["agreement"]
    assert agreement["assigner"] == journey.fsp1.id
    assert agreement["inForce"] and agreement["sharedWith"] == [market.mo1.id]
    assert agreement["purposes"] == ["https://w3id.org/fdi/ns#FlexibilityProcurement"]


def test_step5_fsp1_finds_market_operators_in_the_directory(market: Market) -> None:
    assert [m["id"] for m in market.r["search-dso"].json()["members"]] == [market.mo1.id]
    assert [m["id"] for m in market.r["search-mo"].json()["members"]] == [market.mo2.id]
    assert market.r["mo1-page"].status_code == 200


def test_step5_fsp1_expresses_interest_in_mo1s_inbox(market: Market) -> None:
    posted = market.r["interest"]
    assert posted.status_code == 201 and posted.headers["location"] == posted.json()["id"]
    contained = market.r["mo1-inbox"].json()["contains"]
    assert posted.json()["id"] in [n["id"] for n in contained]
    assert any(n["type"] == "as:Announce" and "shares data" in n["summary"] for n in contained)
    assert market.r["acknowledge"].json()["acknowledged"]


def test_step5_posting_where_roles_do_not_allow_it_is_a_403_problem(market: Market) -> None:
    refused = market.r["fsp-to-fsp"]
    assert (
        refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    )
    assert market.r["mo2-reads-mo1-inbox"].status_code == 403


def test_step8_mo1_reads_what_fsp1_shares_with_it(market: Market) -> None:
    (shared,) = market.r["mo1-shared"].json()["shared"]
    assert shared["agreement"] == market.agreement
    assert {r["id"] for r in shared["records"]} == {market.asset, market.commercial}
    assert (
        market.r["mo1-asset"].status_code == 200 and "2143967712809" in market.r["mo1-asset"].text
    )
    assert market.r["mo1-commercial"].status_code == 200
    assert [b["a"]["value"] for b in _sparql(market.mo1.client, ASSETS_QUERY)] == [market.asset]
    assert [b["c"]["value"] for b in _sparql(market.mo1.client, COMMERCIAL_QUERY)] == [
        market.commercial
    ]
    catalogue = market.r["mo1-catalogue"].text  # the catalogue lists what is shared with MO-1
    assert (
        market.asset in catalogue
        and market.commercial in catalogue
        and market.agreement in catalogue
    )


def test_step8_mo2_without_an_agreement_reads_none_of_it(market: Market, journey: Journey) -> None:
    assert market.r["mo2-shared"].json()["shared"] == []
    assert market.r["mo2-asset"].status_code == 404
    assert market.r["mo2-commercial"].status_code == 404
    assert _sparql(market.mo2.client, ASSETS_QUERY) == []
    assert _sparql(market.mo2.client, COMMERCIAL_QUERY) == []
    graphs = {b["g"]["value"] for b in _sparql(market.mo2.client, GRAPHS_QUERY)}
    assert not [g for g in graphs if journey.fsp1.uid in g or market.mo1.uid in g]
    catalogue = market.r["mo2-catalogue"]
    assert catalogue.status_code == 200
    assert market.asset not in catalogue.text and market.commercial not in catalogue.text
    assert market.agreement not in catalogue.text
    for anonymous in (
        journey.anonymous.get(_path(market.asset)),
        journey.anonymous.get(_path(market.commercial)),
    ):
        assert anonymous.status_code == 404


def test_step8_the_catalogue_listing_shared_data_conforms_to_dcat_ap(market: Market) -> None:
    import rdflib

    from tests.test_catalogue import DCAT_AP, dcat_ap_report

    if not DCAT_AP.is_dir():
        pytest.skip(f"DCAT-AP shapes not found at {DCAT_AP} (set FDI_SHARED_DIR)")
    shapes = rdflib.Graph()
    for name in ("shapes.ttl", "range.ttl", "imports.ttl"):
        shapes.parse(DCAT_AP / name, format="turtle")
    data = rdflib.Graph().parse(data=market.r["mo1-catalogue"].text, format="nt")
    conforms, text = dcat_ap_report(data, shapes)
    assert conforms, text
