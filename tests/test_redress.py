"""Customer services and redress over real TLS: an asset owner's complaint against a flexibility
service provider from raising to resolution by the scheme operator, each step journaled and
told to the other party; a third member sees nothing and changes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import EXAMPLES, new_app
from tests.tls_world import Running, onboard_over_tls, operator_client

ASSET = (EXAMPLES / "asset.ttl").read_bytes()


@dataclass
class Parties:
    owner: str
    owner_app: httpx.Client
    fsp: str
    fsp_app: httpx.Client
    third: httpx.Client
    operator: httpx.Client


@pytest.fixture
def parties(server: Running) -> Parties:
    so = operator_client(server)
    owner, _, owner_app = onboard_over_tls(
        server, so, "Home Batteries Ltd", "SC111111", "-owner", role="AssetOwner"
    )
    fsp, _, fsp_app = onboard_over_tls(server, so, "Example Flex Ltd", "SC123456", "-fsp")
    _, _, third = onboard_over_tls(server, so, "Rival Flex Ltd", "SC222222", "-third")
    return Parties(owner, owner_app, fsp, fsp_app, third, so)


def complain(p: Parties) -> dict:  # type: ignore[type-arg]
    answer = p.owner_app.post(
        "/cases",
        json={
            "kind": "complaint",
            "against": p.fsp,
            "summary": "My battery was dispatched outside the hours we agreed.",
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def path(case: dict) -> str:  # type: ignore[type-arg]
    return "/cases/" + case["id"].rsplit("/", 1)[-1]


def inbox(client: httpx.Client, org: str) -> list[str]:
    items = client.get("/id/org/" + org.rsplit("/", 1)[-1] + "/inbox")
    assert items.status_code == 200, items.text
    return [str(n.get("summary")) for n in items.json()["contains"]]


def test_an_asset_owners_complaint_goes_from_raised_to_resolved(
    server: Running, parties: Parties
) -> None:
    p = parties
    case = complain(p)
    assert case["status"] == "raised" and case["respondent"] == p.fsp
    assert case["complainant"] == p.owner
    at = path(case)
    steps = [
        (p.fsp_app, "acknowledge", {}, "acknowledged"),
        (p.fsp_app, "answer", {"note": "We will keep to the agreed hours."}, "answered"),
        (p.owner_app, "escalate", {"note": "It happened again."}, "escalated"),
        (
            p.operator,
            "resolve",
            {"outcome": "upheld", "note": "The FSP refunds the owner's losses."},
            "resolved",
        ),
    ]
    for client, step, body, status in steps:
        answer = client.post(f"{at}/{step}", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status
    final = p.owner_app.get(at).json()
    assert [s["step"] for s in final["steps"]] == [
        "raise", "acknowledge", "answer", "escalate", "resolve"
    ]  # fmt: skip
    assert final["outcome"] == "upheld" and final["version"] == 5
    assert final["steps"][-1]["by"].endswith("scheme-operator")
    registry = server.app.state.registry  # type: ignore[attr-defined]
    kinds = [k for (k,) in registry.journal.read("SELECT kind FROM entry ORDER BY seq")]
    assert [k for k in kinds if k.startswith("case-")] == [
        "case-raise", "case-acknowledge", "case-answer", "case-escalate", "case-resolve"
    ]  # fmt: skip


def test_each_party_and_then_the_operator_hear_of_the_steps(parties: Parties) -> None:
    p = parties
    case = complain(p)
    uid = case["id"].rsplit("/", 1)[-1]
    assert any(uid in s and "raised against you" in s for s in inbox(p.fsp_app, p.fsp))
    p.fsp_app.post(f"{path(case)}/answer", json={"note": "Sorry."})
    assert any(uid in s and "answer" in s for s in inbox(p.owner_app, p.owner))
    p.owner_app.post(f"{path(case)}/escalate", json={"note": "Not enough."})
    operator = p.operator.get("/whoami").json()["organisation"]
    assert any(uid in s and "escalate" in s for s in inbox(p.operator, operator))
    assert any(uid in s and "escalate" in s for s in inbox(p.fsp_app, p.fsp))


def test_a_third_member_cannot_see_or_touch_a_case_and_changes_nothing(
    parties: Parties,
) -> None:
    p = parties
    case = complain(p)
    at = path(case)
    assert p.third.get(at).status_code == 404
    for step in ("acknowledge", "answer", "escalate", "resolve"):
        refused = p.third.post(f"{at}/{step}", json={"note": "x", "outcome": "withdrawn"})
        assert refused.status_code == 404
    assert p.third.get("/cases").json() == []
    assert p.owner_app.get(at).json()["version"] == 1


def test_anonymous_requesters_see_no_cases(server: Running, parties: Parties) -> None:
    case = complain(parties)
    with server.client() as anonymous:
        assert anonymous.get(path(case)).status_code == 401
        assert anonymous.get("/cases").status_code == 401
    query = "SELECT * WHERE { GRAPH ?g { ?s a <https://w3id.org/fdi/ns#RedressCase> } }"
    for client in (parties.third, parties.owner_app):
        rows = client.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})  # fmt: skip
        assert rows.json()["results"]["bindings"] == []


def test_the_parties_may_take_only_their_own_steps(parties: Parties) -> None:
    p = parties
    at = path(complain(p))
    assert p.owner_app.post(f"{at}/acknowledge", json={}).status_code == 403
    assert p.fsp_app.post(f"{at}/escalate", json={}).status_code == 403
    assert p.fsp_app.post(f"{at}/resolve", json={"outcome": "not-upheld"}).status_code == 403
    assert p.owner_app.get(at).json()["version"] == 1


def test_escalation_waits_for_an_answer_within_the_time_limit(parties: Parties) -> None:
    p = parties
    at = path(complain(p))
    early = p.owner_app.post(f"{at}/escalate", json={"note": "impatient"})
    assert early.status_code == 409
    assert p.owner_app.get(at).json()["status"] == "raised"


def test_a_resolved_case_stays_resolved(parties: Parties) -> None:
    p = parties
    at = path(complain(p))
    assert p.owner_app.post(f"{at}/resolve", json={"outcome": "withdrawn"}).status_code == 200
    assert p.fsp_app.post(f"{at}/answer", json={"note": "late"}).status_code == 409


def register_asset(p: Parties) -> str:
    registered = p.fsp_app.post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"})
    assert registered.status_code == 201, registered.text
    return str(next(iter(registered.json()["ids"].values())))


def test_a_dispute_about_an_asset_is_against_its_holder_and_links_it(parties: Parties) -> None:
    # The rival's own registration of the asset was refused as a duplicate, naming the asset.
    p = parties
    asset = register_asset(p)
    twice = p.third.post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"})
    assert twice.status_code == 409 and twice.json()["existing"] == asset
    answer = p.third.post(
        "/cases",
        json={"kind": "dispute", "about": asset, "summary": "This asset is our customer's."},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["respondent"] == p.fsp and answer.json()["concerns"] == asset


def test_a_case_about_a_record_one_cannot_see_does_not_say_who_holds_it(
    parties: Parties,
) -> None:
    # Otherwise any member learns the holder of any private record from the case's respondent.
    p = parties
    asset = register_asset(p)
    for body in (
        {"kind": "dispute", "about": asset, "summary": "Whose is it?"},
        {"kind": "dispute", "about": asset, "against": p.owner, "summary": "Is it theirs?"},
    ):
        answer = p.owner_app.post("/cases", json=body)
        assert answer.status_code == 404 and p.fsp not in answer.text
    assert answer.json()["detail"] == p.owner_app.post(
        "/cases", json={**body, "about": asset + "0"}
    ).json()["detail"].replace(asset + "0", asset)  # the same as for no record at all
    assert p.owner_app.get("/cases").json() == [] and p.fsp_app.get("/cases").json() == []


def test_a_case_against_oneself_is_refused(parties: Parties) -> None:
    p = parties
    answer = p.owner_app.post(
        "/cases", json={"kind": "complaint", "against": p.owner, "summary": "me"}
    )
    assert answer.status_code == 400
    assert p.owner_app.get("/cases").json() == []


def test_an_overdue_answer_lets_the_complainant_escalate_and_a_late_step_is_marked() -> None:
    from registry.markets import redress
    from tests.test_catalogue import organisation

    app = new_app(case_acknowledge_days=0,
                              case_answer_days=0)  # fmt: skip
    registry = app.state.registry
    owner = organisation(app, "Home Batteries Ltd", "07111111")
    fsp = organisation(app, "Example Flex Ltd", "07222222")
    case = redress.raise_case(registry, owner, "complaint", "No answer", against=fsp.organisation)
    time.sleep(1.1)  # the behaviour: the (zero-day) deadline passes
    late = redress.take_step(registry, fsp, case["id"], "acknowledge")
    assert late["steps"][-1]["late"] is True and late["overdue"] is True
    escalated = redress.take_step(registry, owner, case["id"], "escalate", "Still nothing")
    assert escalated["status"] == "escalated"
