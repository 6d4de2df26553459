"""Inboxes (W3C LDN with ActivityStreams 2.0): posting where scheme roles allow it, reading
one's own inbox, acknowledging."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from registry.assembly import Registry
from registry.base.errors import Forbidden, NotFound, UnusableInput
from registry.base.vocab import FDI, LDP
from registry.messaging import inbox
from tests.trust import Member, Onboarding

AS = "https://www.w3.org/ns/activitystreams"
INTEREST = {
    "@context": AS,
    "type": "Offer",
    "summary": "FSP-1 would like to take part in your tenders",
    "object": {"type": "Note", "content": "2.5 MW of batteries in London"},
}


class World:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.onboarding = Onboarding.of_registry(registry)
        self.fsp = self.onboarding.member("Example Flex Ltd", "SC123456")
        self.fsp2 = self.onboarding.member("Other Flex Ltd", "SC654321")
        self.dso = self.onboarding.member(
            "North DSO plc", "01234567", roles=["DistributionSystemOperator"]
        )

    def post(self, sender: Member, recipient: Member, body: dict | None = None) -> dict:
        return inbox.post(
            self.registry, sender.principal, recipient.iri, json.dumps(body or INTEREST).encode()
        )


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def test_an_fsp_expresses_interest_to_a_market_operator(world: World) -> None:
    posted = world.post(world.fsp, world.dso)
    container = inbox.container(world.registry, world.dso.principal, world.dso.iri)

    assert posted["id"] in [n["id"] for n in container["contains"]]
    found = inbox.notification(
        world.registry, world.dso.principal, world.dso.iri, int(posted["id"].rsplit("/", 1)[-1])
    )
    assert (
        found["type"] == "Offer"
        and found["actor"] == world.fsp.iri
        and found["to"] == world.dso.iri
    )
    assert found["acknowledged"] is None


def test_posting_is_refused_where_scheme_roles_do_not_allow_it(world: World) -> None:
    with pytest.raises(Forbidden):
        world.post(world.fsp, world.fsp2)


def test_a_market_operator_may_answer_an_fsp(world: World) -> None:
    world.post(world.dso, world.fsp, {"@context": AS, "type": "Accept", "summary": "Welcome"})
    assert any(
        n.get("summary") == "Welcome"
        for n in inbox.container(world.registry, world.fsp.principal, world.fsp.iri)["contains"]
    )


def test_posting_needs_the_messages_scope(world: World) -> None:
    without = replace(world.fsp.principal, scopes=frozenset())
    with pytest.raises(Forbidden):
        inbox.post(world.registry, without, world.dso.iri, json.dumps(INTEREST).encode())


@pytest.mark.parametrize(
    "body",
    [
        {"type": "Offer"},
        {"@context": AS, "type": "Delete", "object": "x"},
        ["not", "an", "object"],
    ],
)
def test_only_activity_streams_offers_notes_and_replies_are_accepted(
    world: World, body: object
) -> None:
    with pytest.raises(UnusableInput):
        inbox.post(world.registry, world.fsp.principal, world.dso.iri, json.dumps(body).encode())


def test_the_actor_cannot_be_someone_else(world: World) -> None:
    with pytest.raises(Forbidden):
        world.post(world.fsp, world.dso, {**INTEREST, "actor": world.fsp2.iri})


def test_an_inbox_is_read_only_by_its_organisation(world: World) -> None:
    with pytest.raises(Forbidden):
        inbox.container(world.registry, world.fsp.principal, world.dso.iri)
    with pytest.raises(NotFound):
        inbox.post(
            world.registry,
            world.fsp.principal,
            world.dso.iri + "-nobody",
            json.dumps(INTEREST).encode(),
        )


def test_registry_notifications_arrive_in_the_inbox(world: World) -> None:
    summaries = [
        n.get("summary", "")
        for n in inbox.container(world.registry, world.fsp.principal, world.fsp.iri)["contains"]
    ]
    assert any("active" in s.lower() or "granted" in s.lower() for s in summaries), summaries


def test_acknowledging_marks_the_notification_once_and_is_journaled(world: World) -> None:
    number = int(world.post(world.fsp, world.dso)["id"].rsplit("/", 1)[-1])
    with pytest.raises(Forbidden):
        inbox.acknowledge(world.registry, world.fsp.principal, world.dso.iri, number)
    seq_before = world.registry.journal.last()[0]

    first = inbox.acknowledge(world.registry, world.dso.principal, world.dso.iri, number)
    again = inbox.acknowledge(world.registry, world.dso.principal, world.dso.iri, number)

    assert first["acknowledged"] and again["acknowledged"] == first["acknowledged"]
    assert world.registry.journal.last()[0] == seq_before + 1
    listed = inbox.container(world.registry, world.dso.principal, world.dso.iri)["contains"]
    assert [n["acknowledged"] for n in listed if n["id"].endswith(f"/{number}")] == [
        first["acknowledged"]
    ]


def test_an_organisation_advertises_its_inbox(world: World) -> None:
    (triple,) = inbox.advertisement(world.registry, world.dso.iri)
    assert triple.predicate == LDP.inbox and triple.object.value == world.dso.iri + "/inbox"
    assert inbox.advertisement(world.registry, FDI.FDIScheme.value) == []


def test_the_container_is_json_ld_listing_its_notifications(world: World) -> None:
    posted = world.post(world.fsp, world.dso)
    triples = inbox.as_triples(inbox.container(world.registry, world.dso.principal, world.dso.iri))
    assert {(t.subject.value, t.object.value) for t in triples if t.predicate == LDP.contains} >= {
        (world.dso.iri + "/inbox", posted["id"])
    }


def test_the_messaging_rules_are_read_from_the_ontology() -> None:
    assert inbox.may_message(
        {FDI.FlexibilityServiceProvider.value}, {FDI.DistributionSystemOperator.value}
    )
    assert not inbox.may_message(
        {FDI.FlexibilityServiceProvider.value}, {FDI.FlexibilityServiceProvider.value}
    )
    assert not inbox.may_message(set(), {FDI.MarketOperator.value})


def test_holders_are_reminded_once_of_certificates_about_to_expire(world: World) -> None:
    import pyoxigraph as ox

    from registry.kernel.lifecycle import parse_datetime
    from registry.trust.certificates import certificates_of

    (application,) = [
        c
        for c in certificates_of(world.registry, world.dso.iri)
        if c["name"].endswith("application")
    ]
    soon = parse_datetime(ox.Literal(application["notAfter"])) - dt.timedelta(days=10)

    assert inbox.remind_expiring_certificates(world.registry, 30, now=soon) >= 1
    assert inbox.remind_expiring_certificates(world.registry, 30, now=soon) == 0
    reminders = [
        n
        for n in inbox.container(world.registry, world.dso.principal, world.dso.iri)["contains"]
        if "Action needed" in n.get("summary", "")
    ]
    assert any(application["serial"] in n["summary"] for n in reminders)
    assert inbox.remind_expiring_certificates(world.registry, 30) == 0  # nothing due today
