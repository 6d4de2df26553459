"""Issue 11, item 5: what the registry serves for a record can be PUT back with its ETag.

For every record kind (organisation, asset, right to operate, licence, agreement, catalogue,
commercial information) and every RDF format the registry serves (Turtle, N-Triples, JSON-LD):
the record sent back unchanged is accepted without a new version; with one value changed it
makes exactly one new version holding that change and nothing else. Changes to what only the
registry states are refused and change nothing. Served documents are read with pyoxigraph (the
oracle for what the record says), independently of the registry's own submission readers.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.base.vocab import (
    DCT,
    FDI,
    KEPT_BY_REGISTRY,
    LDP,
    ODRL,
    QUDT,
    RDFS,
    ROV,
    SAREF,
    VCARD,
    XSD,
)
from registry.proof.receipts import verify_receipt
from tests.conftest import BASE, EXAMPLES, new_app
from tests.trust import Member, Onboarding

FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
KINDS = (
    "organisation",
    "asset",
    "right to operate",
    "licence",
    "agreement",
    "catalogue",
    "commercial information",
)
# Values a member may change freely (no identity, no cross-record rule hangs on them).
TEXT = (RDFS.label, RDFS.comment, DCT.title, DCT.description, FDI.assetOwner, VCARD.fn)
TEXT += (FDI.registeredAddress, SAREF.hasModel)
NUMBERS = (FDI.assetCount, QUDT.numericValue)


@dataclass
class World:
    """One registry holding one record of every kind, and who may update each."""

    app: Any
    onboarding: Onboarding
    fsp: Member
    records: dict[str, tuple[TestClient, str]] = field(default_factory=dict)

    @property
    def head(self) -> tuple[int, str]:
        return self.app.state.registry.journal.last()

    def get(self, kind: str, media: str = "text/turtle") -> Any:
        client, path = self.records[kind]
        answer = client.get(path, headers={"Accept": media})
        assert answer.status_code == 200, answer.text
        return answer

    def put(self, kind: str, body: bytes, media: str, etag: str) -> Any:
        client, path = self.records[kind]
        return client.put(path, content=body, headers={"Content-Type": media, "If-Match": etag})


@pytest.fixture(scope="module")
def world() -> World:
    app = new_app()
    onboarding = Onboarding.of(app)
    fsp = onboarding.member("Example Flex Ltd", "SC123456")
    client, operator = onboarding.client(fsp), onboarding.operator_client()
    world = World(app, onboarding, fsp)
    asset = _post(client, "/assets", EXAMPLES / "asset.ttl")
    right = (EXAMPLES / "right-to-operate.ttl").read_text()
    right = right.replace("http://localhost:8000/id/asset/REPLACE-WITH-ASSET-ID", asset)
    right = right.replace("http://localhost:8000/id/org/REPLACE-WITH-ORGANISATION-ID", fsp.iri)
    made = {
        "organisation": (client, fsp.iri),
        "asset": (client, asset),
        "right to operate": (client, _post(client, "/rights-to-operate", right.encode())),
        "licence": (operator, _post(operator, "/submissions", EXAMPLES / "licence.ttl")),
        "agreement": (client, _post(client, "/agreements", EXAMPLES / "agreement.json")),
        "catalogue": (client, _post(client, "/catalogues", EXAMPLES / "catalogue.ttl")),
        "commercial information": (
            client,
            _post(client, "/commercial-information", EXAMPLES / "commercial-information.json"),
        ),
    }
    world.records = {kind: (c, iri[len(BASE) - 1 :]) for kind, (c, iri) in made.items()}
    # The organisation and the agreement as made hold no free-text value: give them one (the
    # first GET-edit-PUT of this module; it must make version n + 1).
    for kind in ("organisation", "agreement"):
        served = world.get(kind)
        subject = ox.NamedNode(made[kind][1])
        extra = ox.Triple(subject, RDFS.comment, ox.Literal("Kept for the round-trip tests"))
        body = ox.serialize(
            [*_read(served.content, "text/turtle"), extra], format=ox.RdfFormat.TURTLE
        )
        answer = world.put(kind, body, "text/turtle", served.headers["etag"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["records"][0]["version"] == _version(served) + 1
    return world


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), media=st.sampled_from(list(FORMATS)))
def test_round_trip_a_served_record_put_back_unchanged_makes_no_new_version(
    world: World, kind: str, media: str
) -> None:
    served = world.get(kind, media)
    head = world.head
    answer = world.put(kind, served.content, media, served.headers["etag"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"][0]["version"] == _version(served)
    assert world.head == head  # no journal entry, no receipt
    again = world.get(kind, media)
    assert again.headers["etag"] == served.headers["etag"]
    assert again.content == served.content


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), media=st.sampled_from(list(FORMATS)), data=st.data())
def test_round_trip_one_value_changed_makes_one_new_version_with_that_change(
    world: World, kind: str, media: str, data: st.DataObject
) -> None:
    served = world.get(kind, media)
    triples = _read(served.content, media)
    editable = sorted(
        (t for t in triples if t.predicate in TEXT + NUMBERS and isinstance(t.object, ox.Literal)),
        key=str,
    )
    assert editable, f"the {kind} holds no value to change"
    target = data.draw(st.sampled_from(editable), label="value")
    value = data.draw(_other_value(target.object), label="new value")
    edited = [ox.Triple(t.subject, t.predicate, value) if t == target else t for t in triples]
    head = world.head
    body = ox.serialize(edited, format=FORMATS[media], prefixes={"fdi": FDI.iri})
    answer = world.put(kind, body, media, served.headers["etag"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"][0]["version"] == _version(served) + 1
    assert world.head[0] == head[0] + 1  # one journal entry
    after = world.get(kind, media)
    assert _version(after) == _version(served) + 1
    assert _canonical(_read(after.content, media)) == _canonical(edited)
    # The new version's receipt covers the record exactly as it is now served.
    jwks = TestClient(world.app).get("/.well-known/jwks.json").json()
    record = [t for t in _read(after.content, media) if t.predicate != LDP.inbox]
    verify_receipt(answer.json()["receipt"], jwks, record)


@pytest.mark.parametrize(
    ("predicate", "value"),
    [
        (FDI.assuranceLevel, FDI.IndependentlyAudited),
        (FDI.organisationStatus, FDI.Applied),
        (FDI.marketRole, FDI.DistributionSystemOperator),
        (FDI.companyNumber, ox.Literal("01234567")),
        (ROV.legalName, ox.Literal("National Grid Electricity Transmission plc")),
    ],
)
def test_round_trip_an_organisation_cannot_change_what_the_registry_states_about_it(
    world: World, predicate: ox.NamedNode, value: ox.Term
) -> None:
    _refused_change(world, "organisation", predicate, value)


def test_round_trip_an_agreement_cannot_share_another_organisations_data(world: World) -> None:
    rival = world.onboarding.member("Rival Flex Ltd", "SC654321")
    _refused_change(world, "agreement", ODRL.assigner, ox.NamedNode(rival.iri))


def test_round_trip_commercial_information_cannot_name_another_provider(world: World) -> None:
    _refused_change(world, "commercial information", FDI.provider, ox.NamedNode(BASE + "id/org/x"))


def test_round_trip_a_catalogue_cannot_name_another_publisher(world: World) -> None:
    _refused_change(world, "catalogue", DCT.publisher, ox.NamedNode(BASE + "id/org/x"))


def test_round_trip_a_changed_organisation_stays_verified_and_its_certificate_works(
    world: World,
) -> None:
    _change_a_comment(world, "organisation", "Still verified after an update")
    client, path = world.records["organisation"]
    assert world.app.state.registry.info(BASE + path[1:]).status == "verified"
    assert client.get("/whoami").json()["authenticated"] is True


def test_round_trip_a_withdrawn_agreement_stays_withdrawn_after_an_update(world: World) -> None:
    client = world.onboarding.client(world.fsp)
    iri = _post(client, "/agreements", EXAMPLES / "agreement.json")
    version = _version(client.get(iri[len(BASE) - 1 :]))  # withdraw wants "1", not "1.ttl"
    withdrawn = client.post(
        f"/agreements/{iri.rsplit('/', 1)[-1]}/withdraw", headers={"If-Match": f'"{version}"'}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    world.records["withdrawn"] = (client, iri[len(BASE) - 1 :])
    _change_a_comment(world, "withdrawn", "An update of a withdrawn agreement", add=True)
    assert world.app.state.registry.info(iri).status == "withdrawn"


def test_round_trip_a_members_only_catalogue_stays_members_only_after_an_update(
    world: World,
) -> None:
    client = world.onboarding.client(world.fsp)
    answer = client.post(
        "/catalogues?audience=members",
        content=(EXAMPLES / "catalogue.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
    )
    assert answer.status_code == 201, answer.text
    iri = answer.json()["records"][0]["id"]
    world.records["members catalogue"] = (client, iri[len(BASE) - 1 :])
    _change_a_comment(world, "members catalogue", "For members only", add=True)
    anonymous = TestClient(world.app)
    assert anonymous.get(iri[len(BASE) - 1 :], headers={"Accept": "text/turtle"}).status_code == 404


def test_round_trip_a_fragment_of_another_record_is_not_taken_into_this_one(
    world: World,
) -> None:
    served = world.get("asset")
    other = BASE + world.records["commercial information"][1][1:] + "#flexibleCapacity"
    stray = ox.Triple(ox.NamedNode(other), RDFS.label, ox.Literal("planted"))
    body = ox.serialize([*_read(served.content, "text/turtle"), stray], format=ox.RdfFormat.TURTLE)
    head = world.head
    answer = world.put("asset", body, "text/turtle", served.headers["etag"])
    assert answer.status_code == 422
    assert "not part of any record" in answer.text
    assert world.head == head
    assert world.get("asset").content == served.content


# --- helpers ---------------------------------------------------------------------------------


def _post(client: TestClient, route: str, body: Path | bytes) -> str:
    data = body.read_bytes() if isinstance(body, Path) else body
    name = body.name if isinstance(body, Path) else "body.ttl"
    media = "application/json" if name.endswith(".json") else "text/turtle"
    answer = client.post(route, content=data, headers={"Content-Type": media})
    assert answer.status_code == 201, answer.text
    return answer.json().get("id") or answer.json()["records"][0]["id"]


def _read(body: bytes, media: str) -> list[ox.Triple]:
    return [
        ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=FORMATS[media])
    ]


def _canonical(triples: list[ox.Triple]) -> set[ox.Triple]:
    """The triples as Oxigraph stores them (literals in canonical form)."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return {ox.Triple(q.subject, q.predicate, q.object) for q in store}


def _kinds_since(world: World, head: tuple[int, str]) -> list[str]:
    journal = world.app.state.registry.journal
    return [entry.kind for entry in journal.entries(after=head[0])]


def _version(answer: Any) -> int:
    return int(answer.headers["etag"].strip('"').split(".")[0])


def _other_value(old: ox.Literal) -> st.SearchStrategy[ox.Literal]:
    """A different value of the same kind: text in the same language, or a positive number."""
    if old.datatype == XSD.integer:
        return (
            st.integers(1, 10**6)
            .filter(lambda n: str(n) != old.value)
            .map(lambda n: ox.Literal(str(n), datatype=XSD.integer))
        )
    if old.datatype == XSD.decimal:
        return (
            st.decimals(min_value=decimal.Decimal("0.1"), max_value=10_000, places=1)
            .filter(lambda d: d != decimal.Decimal(old.value))
            .map(lambda d: ox.Literal(str(d), datatype=XSD.decimal))
        )
    letters = st.characters(categories=("L", "N", "Zs"), exclude_characters="\x85\xa0")
    words = st.text(letters, min_size=1, max_size=40).map(str.strip).filter(bool)
    words = words.filter(lambda w: w != old.value)
    if old.language:
        return words.map(lambda w: ox.Literal(w, language=old.language))
    return words.map(ox.Literal)


def _refused_change(world: World, kind: str, predicate: ox.NamedNode, value: ox.Term) -> None:
    """PUT the record as served with ``predicate`` set to ``value``: 403, and nothing changes."""
    served = world.get(kind)
    triples = _read(served.content, "text/turtle")
    client, path = world.records[kind]
    subject = ox.NamedNode(BASE + path[1:])
    edited = [t for t in triples if not (t.subject == subject and t.predicate == predicate)]
    edited.append(ox.Triple(subject, predicate, value))
    head = world.head
    answer = world.put(
        kind,
        ox.serialize(edited, format=ox.RdfFormat.TURTLE),
        "text/turtle",
        served.headers["etag"],
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["field"] == predicate.value
    assert _kinds_since(world, head) == ["audit"]  # the refusal is journaled, nothing else
    assert world.get(kind).content == served.content


def _change_a_comment(world: World, kind: str, text: str, *, add: bool = False) -> None:
    served = world.get(kind)
    triples = _read(served.content, "text/turtle")
    client, path = world.records[kind]
    subject = ox.NamedNode(BASE + path[1:])
    kept = [t for t in triples if add or not (t.subject == subject and t.predicate == RDFS.comment)]
    edited = [*kept, ox.Triple(subject, RDFS.comment, ox.Literal(text))]
    answer = world.put(
        kind,
        ox.serialize(edited, format=ox.RdfFormat.TURTLE),
        "text/turtle",
        served.headers["etag"],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"][0]["version"] == _version(served) + 1


@pytest.mark.parametrize(
    ("kind", "route", "number", "status"),
    [
        ("asset", "/assets", "SC777771", 409),
        ("catalogue", "/catalogues", "SC777772", 409),
        # The stored agreement's assigner is seen beside the rival's: two assigners, 422.
        ("agreement", "/agreements", "SC777773", 422),
    ],
)
def test_round_trip_a_served_record_posted_by_a_rival_does_not_take_it_over(
    world: World, kind: str, route: str, number: str, status: int
) -> None:
    rival = world.onboarding.member(f"Takeover Flex {number} Ltd", number)
    served = world.get(kind)
    # Naming the rival as publisher or assigner, as those routes demand of a new record.
    own = (DCT.publisher, ODRL.assigner)
    body = [
        ox.Triple(t.subject, t.predicate, ox.NamedNode(rival.iri)) if t.predicate in own else t
        for t in _read(served.content, "text/turtle")
        if t.predicate not in KEPT_BY_REGISTRY or t.predicate in own
    ]
    head = world.head
    answer = world.onboarding.client(rival).post(
        route,
        content=ox.serialize(body, format=ox.RdfFormat.TURTLE),
        headers={"Content-Type": "text/turtle"},
    )
    assert answer.status_code == status, answer.text
    path = world.records[kind][1]
    assert status != 409 or answer.json()["existing"] == BASE + path[1:]
    assert _kinds_since(world, head) in ([], ["audit"])
    assert world.app.state.registry.info(BASE + path[1:]).owner == world.fsp.iri
    assert world.get(kind).content == served.content


def test_round_trip_a_record_posted_again_by_its_owner_is_not_a_second_version(
    world: World,
) -> None:
    served = world.get("asset")
    client, _ = world.records["asset"]
    head = world.head
    answer = client.post("/assets", content=served.content, headers={"Content-Type": "text/turtle"})
    assert answer.status_code == 409, answer.text
    assert _kinds_since(world, head) in ([], ["audit"])
    assert world.get("asset").headers["etag"] == served.headers["etag"]
