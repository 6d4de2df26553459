"""Agreements and inboxes over HTTP: list and withdraw agreements, the inbox as Turtle, and the
operator's certificate reminders."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from registry.base.vocab import LDP
from tests.conftest import BASE, EXAMPLES
from tests.trust import Member, Onboarding


@pytest.fixture
def world(app, onboarding: Onboarding, fsp: Member):  # type: ignore[no-untyped-def]
    """The shared app and FSP, and a DSO."""
    dso = onboarding.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    return app, onboarding, fsp, dso


def test_an_fsp_lists_and_withdraws_its_agreements(world) -> None:  # type: ignore[no-untyped-def]
    _, onboarding, fsp, dso = world
    client, mo = onboarding.client(fsp), onboarding.client(dso)
    client.post(
        "/assets",
        content=(EXAMPLES / "asset.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
    )
    made = client.post(
        "/agreements",
        content=(EXAMPLES / "agreement.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert made.status_code == 201, made.text
    (listed,) = client.get("/agreements").json()["agreements"]
    assert listed["sharedWith"] == [dso.iri] and listed["status"] == "registered"
    assert len(mo.get("/shared-with-me").json()["shared"][0]["records"]) == 1

    uid = made.headers["location"].rsplit("/", 1)[-1]
    assert mo.post(f"/agreements/{uid}/withdraw").status_code == 403
    withdrawn = client.post(f"/agreements/{uid}/withdraw", headers={"If-Match": '"1"'})
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["sharedWith"] == []
    assert mo.get("/shared-with-me").json()["shared"] == []


def test_an_agreement_needs_a_certificate(world) -> None:  # type: ignore[no-untyped-def]
    app = world[0]
    refused = TestClient(app).post(
        "/agreements",
        content=(EXAMPLES / "agreement.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 401


def test_the_inbox_is_turtle_on_request_and_refuses_other_media_types(world) -> None:  # type: ignore[no-untyped-def]
    _, onboarding, fsp, dso = world
    inbox = dso.iri.removeprefix(BASE.rstrip("/")) + "/inbox"
    turtle = onboarding.client(dso).get(inbox, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["accept-post"].startswith(
        "application/ld+json"
    )
    graph = list(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))
    assert any(q.predicate == LDP.contains for q in graph)
    refused = onboarding.client(fsp).post(
        inbox, content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert refused.status_code == 415
    assert TestClient(world[0]).get(inbox).status_code == 401


def test_only_the_scheme_operator_sends_certificate_reminders(world) -> None:  # type: ignore[no-untyped-def]
    _, onboarding, fsp, _ = world
    assert onboarding.client(fsp).post("/notifications/certificate-reminders").status_code == 403
    sent = onboarding.operator_client().post("/notifications/certificate-reminders")
    assert sent.status_code == 200 and sent.json() == {"reminders": 0}
