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

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.tls import with_client_certificate
from registry import operator
from registry.ca import new_key_and_csr
from registry.settings import Settings
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
