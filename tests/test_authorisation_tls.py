"""Issue 12's findings, each tried again as members and rivals would: over real TLS, with the
real client certificates the registry issued them. Every refused request changes nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from registry.base.vocab import FDI, VCARD
from registry.operations.demo_identifiers import mpan_core
from registry.trust.authentication import request_certificate
from registry.trust.ca import new_key_and_csr
from tests.conftest import EXAMPLES
from tests.servers import wait_until
from tests.tls_world import World, tls_world
from tests.trust import Member

ASSET = (EXAMPLES / "asset.ttl").read_text()
TURTLE = {"Content-Type": "text/turtle"}
RIGHT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#r> a fdi:RightToOperate ; fdi:asset <{asset}> ; fdi:operator <{operator}> ;
  fdi:validFrom "{start}"^^xsd:date ; {extra} fdi:assetOwner "Household at CF10 1EP" ;
  fdi:consentEvidence <urn:uuid:6f1c2a7e-3b8d-4e7a-9c51-2d0f4b8e1a11> .
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with tls_world(tmp_path_factory.mktemp("tls")) as w:
        yield w


_numbers = iter(range(10_000_000, 99_999_999, 7919))


def member(world: World, name: str, **kwargs) -> Member:  # type: ignore[no-untyped-def]
    return world.member(name, f"{next(_numbers):08d}", **kwargs)


def entries(world: World) -> int:
    return world.registry.journal.read("SELECT max(seq) FROM entry")[0][0]


def register_asset(world: World, fsp: Member, mpan: str = "2143967712809") -> str:
    body = ASSET.replace("2143967712809", mpan).replace("TG1234567890", f"SN{mpan}")
    created = world.client(fsp).post("/assets", content=body, headers=TURTLE)
    assert created.status_code == 201, created.text
    return created.json()["ids"]["battery-cardiff-1"]


_mpans = iter(range(1, 100_000))


def fresh_mpan() -> str:
    """A valid MPAN core (its check digit computed) not used before in this module."""
    return mpan_core(21, 43_000_000 + next(_mpans))


SHARE_WITH_DSOS = {
    "type": "DataSharingAgreement",
    "id": "share",
    "assignee": ["fdi:DistributionSystemOperator"],
    "target": ["fdi:ProviderAssets"],
    "permission": {
        "action": "use",
        "constraint": {
            "leftOperand": "purpose",
            "operatorSymbol": "eq",
            "rightOperand": "fdi:FlexibilityProcurement",
        },
    },
}


def right(asset: str, operator: str, start: str, extra: str = "") -> str:
    return RIGHT.format(asset=asset, operator=operator, start=start, extra=extra)


def edit_record(
    client: httpx.Client, world: World, iri: str, change: Callable[[list[ox.Triple]], list]
) -> httpx.Response:
    """GET a record as Turtle, change its triples, PUT it back with If-Match."""
    got = client.get(world.path(iri), headers={"Accept": "text/turtle"})
    assert got.status_code == 200, got.text
    # The record's fragment nodes (its contact point, its capacities) go back as blank nodes,
    # which the update mints under the record again.
    nodes: dict[ox.Term, ox.Term] = {}

    def local(term: ox.Term) -> ox.Term:
        if isinstance(term, ox.NamedNode) and term.value.startswith(iri + "#"):
            return nodes.setdefault(term, ox.BlankNode())
        return term

    triples = [
        ox.Triple(local(q.subject), q.predicate, local(q.object))
        for q in ox.parse(got.content, format=ox.RdfFormat.TURTLE)
    ]
    body = ox.serialize(change(triples), format=ox.RdfFormat.TURTLE)
    return client.put(
        world.path(iri), content=body, headers={**TURTLE, "If-Match": got.headers["etag"]}
    )


def set_values(subject: str, predicate: ox.NamedNode, values: list[ox.Term]):  # type: ignore[no-untyped-def]
    node = ox.NamedNode(subject)

    def change(triples: list[ox.Triple]) -> list[ox.Triple]:
        kept = [t for t in triples if not (t.subject == node and t.predicate == predicate)]
        return kept + [ox.Triple(node, predicate, v) for v in values]

    return change


# --- a. verified facts are not claims ----------------------------------------------------


def test_an_organisation_cannot_raise_its_own_assurance_level(world: World) -> None:
    fsp = member(world, "Self Assured Ltd")
    before = world.registry.info(fsp.iri)
    refused = edit_record(
        world.client(fsp),
        world,
        fsp.iri,
        set_values(fsp.iri, FDI.assuranceLevel, [FDI.IndependentlyAudited]),
    )
    assert refused.status_code == 403, refused.text
    assert "assuranceLevel" in refused.json()["detail"]
    assert world.registry.info(fsp.iri).version == before.version
    view = world.client().get(f"/organisations/{fsp.uid}").json()
    assert view["assuranceLevel"] == "DocumentsChecked"


def test_an_organisation_cannot_give_itself_a_market_role(world: World) -> None:
    fsp = member(world, "Role Grabber Ltd")
    refused = edit_record(
        world.client(fsp),
        world,
        fsp.iri,
        set_values(
            fsp.iri,
            FDI.marketRole,
            [FDI.FlexibilityServiceProvider, FDI.DistributionSystemOperator],
        ),
    )
    assert refused.status_code == 403, refused.text
    listed = world.client().get("/directory", params={"role": "DistributionSystemOperator"})
    assert fsp.iri not in {m["id"] for m in listed.json()["members"]}


def test_an_organisation_cannot_set_its_own_status(world: World) -> None:
    fsp = member(world, "Status Setter Ltd")
    refused = edit_record(
        world.client(fsp),
        world,
        fsp.iri,
        set_values(fsp.iri, FDI.organisationStatus, [FDI.Suspended]),
    )
    assert refused.status_code == 403, refused.text
    assert world.registry.info(fsp.iri).status == "verified"


def test_editing_its_contact_point_keeps_an_organisation_verified(world: World) -> None:
    fsp = member(world, "Contact Changer Ltd")
    client = world.client(fsp)

    def new_email(triples: list[ox.Triple]) -> list[ox.Triple]:
        return [
            ox.Triple(t.subject, t.predicate, ox.NamedNode("mailto:new@contactchanger.example"))
            if t.predicate == VCARD.hasEmail
            else t
            for t in triples
        ]

    edited = edit_record(client, world, fsp.iri, new_email)
    assert edited.status_code == 200, edited.text
    assert world.registry.info(fsp.iri).status == "verified"
    assert client.get("/whoami").status_code == 200  # the certificate still works
    view = world.client().get(f"/organisations/{fsp.uid}").json()
    assert view["contactPoint"]["email"] == "mailto:new@contactchanger.example"
    assert view["status"] == "verified"


def test_linking_same_as_keeps_an_organisation_verified(world: World) -> None:
    fsp = member(world, "Same As Ltd")
    client = world.client(fsp)
    etag = client.get(world.path(fsp.iri), headers={"Accept": "text/turtle"}).headers["etag"]
    linked = client.post(
        f"/id/org/{fsp.uid}/same-as",
        json={"sameAs": "https://other-registry.example/id/org/77"},
        headers={"If-Match": etag},
    )
    assert linked.status_code == 200, linked.text
    assert world.registry.info(fsp.iri).status == "verified"
    assert client.get("/whoami").status_code == 200


def test_an_fsp_cannot_assert_its_asset_is_registered_in_a_market(world: World) -> None:
    fsp = member(world, "Registered Claimer Ltd")
    before = entries(world)
    body = ASSET.replace("2143967712809", fresh_mpan()).replace(
        'fdi:serialNumber "TG1234567890" .',
        'fdi:serialNumber "TG1234567890" ; fdi:registeredIn <https://market.example/ukpn> .',
    )
    refused = world.client(fsp).post("/assets", content=body, headers=TURTLE)
    assert refused.status_code == 403, refused.text
    assert "registeredIn" in refused.json()["detail"]
    assert entries(world) == before + 1  # only the audit event of the refusal


# --- b. scopes are enforced --------------------------------------------------------------


def test_a_certificate_with_only_messages_send_cannot_register_an_asset(world: World) -> None:
    fsp = member(world, "Messages Only Ltd", scopes=["messages-send"])
    assert world.client(fsp).get("/whoami").json()["scopes"] == ["messages-send"]
    counted = world.registry.counts().get(FDI.FlexibleAsset.value, 0)
    body = ASSET.replace("2143967712809", fresh_mpan())
    refused = world.client(fsp).post("/assets", content=body, headers=TURTLE)
    assert refused.status_code == 403, refused.text
    assert "assets-write" in refused.json()["detail"]
    assert world.registry.counts().get(FDI.FlexibleAsset.value, 0) == counted


def test_a_certificate_without_asset_scopes_cannot_read_its_organisations_assets(
    world: World,
) -> None:
    fsp = member(world, "Read Scoped Ltd")
    asset = register_asset(world, fsp, fresh_mpan())
    key, csr = new_key_and_csr("Read Scoped invoicing")
    narrow = request_certificate(
        world.registry,
        world.app.state.ca,
        fsp.admin_principal,
        fsp.iri,
        csr.decode(),
        scopes=["commercial-write"],
    )
    invoicing = world.client(replace(fsp, certificate=narrow.pem, key=key))
    refused = invoicing.get(world.path(asset), headers={"Accept": "text/turtle"})
    assert refused.status_code == 403, refused.text
    assert "assets-read" in refused.json()["detail"]
    assert world.client(fsp).get(world.path(asset)).status_code == 200


# --- c. rights to operate with consent ---------------------------------------------------


def test_a_rival_cannot_name_another_fsp_as_operator_of_its_asset(world: World) -> None:
    a, b = member(world, "Planner A Ltd"), member(world, "Rival B Ltd")
    asset = register_asset(world, a, fresh_mpan())
    before = entries(world)
    refused = world.client(b).post(
        "/rights-to-operate", content=right(asset, a.iri, "2026-01-01"), headers=TURTLE
    )
    assert refused.status_code == 403, refused.text
    assert entries(world) == before + 1  # the refusal's audit event, nothing else
    own = world.client(a).post(
        "/rights-to-operate", content=right(asset, a.iri, "2026-01-01"), headers=TURTLE
    )
    assert own.status_code == 201, own.text


def test_a_rival_switch_is_a_claim_that_changes_nothing_until_confirmed(world: World) -> None:
    a, b = member(world, "Holder A Ltd"), member(world, "Switcher B Ltd")
    asset = register_asset(world, a, fresh_mpan())
    held = world.client(a).post(
        "/rights-to-operate", content=right(asset, a.iri, "2025-01-01"), headers=TURTLE
    )
    old = held.json()["ids"]["r"]
    switch = right(asset, b.iri, "2026-01-01", extra=f"fdi:takesOver <{old}> ;")
    claimed = world.client(b).post("/rights-to-operate", content=switch, headers=TURTLE)
    assert claimed.status_code == 202, claimed.text
    assert claimed.json()["status"] == "pending"
    assert world.registry.info(old).status == "registered"  # not ended
    assert world.client(a).get(world.path(asset)).status_code == 200
    assert world.client(b).get(world.path(asset)).status_code == 404
    inbox = world.client(a).get(f"/id/org/{a.uid}/inbox")
    assert f"claims the right to operate {asset}" in inbox.text


def test_a_contested_claim_is_a_dispute_both_parties_and_the_operator_see(world: World) -> None:
    a, b, c = member(world, "Keeper A Ltd"), member(world, "Claimer B Ltd"), member(world, "C Ltd")
    asset = register_asset(world, a, fresh_mpan())
    claimed = world.client(b).post(
        "/rights-to-operate", content=right(asset, b.iri, "2026-01-01"), headers=TURTLE
    )
    assert claimed.status_code == 202, claimed.text
    path = "/claims/" + claimed.json()["id"].rsplit("/", 1)[-1]
    assert world.client(b).post(path + "/confirm", json={}).status_code == 403  # not its own
    assert world.client(c).post(path + "/contest", json={"reason": "x"}).status_code == 403
    contested = world.client(a).post(path + "/contest", json={"reason": "we hold the contract"})
    assert contested.status_code == 200, contested.text
    assert contested.json()["status"] == "disputed"
    for who in (world.client(a), world.client(b), world.operator_client()):
        listed = who.get("/disputes").json()["disputes"]
        assert claimed.json()["id"] in {d["id"] for d in listed}
    assert world.client(c).get("/disputes").json()["disputes"] == []
    assert world.client(c).get(path).status_code == 403
    assert world.client(a).post(path + "/confirm", json={}).status_code == 409  # decided


# --- d. control follows the operator -----------------------------------------------------


def test_after_a_confirmed_switch_the_new_operator_reads_and_updates_the_asset(
    world: World,
) -> None:
    a, b = member(world, "Leaving A Ltd"), member(world, "Arriving B Ltd")
    asset = register_asset(world, a, fresh_mpan())
    old = (
        world.client(a)
        .post("/rights-to-operate", content=right(asset, a.iri, "2025-01-01"), headers=TURTLE)
        .json()["ids"]["r"]
    )
    switch = right(asset, b.iri, "2026-01-01", extra=f"fdi:takesOver <{old}> ;")
    claim = world.client(b).post("/rights-to-operate", content=switch, headers=TURTLE).json()
    path = "/claims/" + claim["id"].rsplit("/", 1)[-1]
    confirmed = world.client(a).post(path + "/confirm", json={})
    assert confirmed.status_code == 200, confirmed.text
    assert world.registry.info(old).status == "ended"
    assert world.client(b).get(world.path(asset)).status_code == 200
    updated = edit_record(
        world.client(b),
        world,
        asset,
        set_values(asset, ox.NamedNode("https://saref.etsi.org/core/hasModel"), [ox.Literal("X")]),
    )
    assert updated.status_code == 200, updated.text
    version = world.registry.info(asset).version
    stale_owner = edit_record(
        world.client(a),
        world,
        asset,
        set_values(asset, ox.NamedNode("https://saref.etsi.org/core/hasModel"), [ox.Literal("Y")]),
    )
    assert stale_owner.status_code == 403, stale_owner.text
    assert world.registry.info(asset).version == version


def test_an_fsp_own_registered_in_never_skips_manual_checks(world: World) -> None:
    fsp = member(world, "Checked Flex Ltd")
    asset = register_asset(world, fsp, fresh_mpan())
    assert (
        world.client(fsp).get(world.path(asset) + "/assurance").json()["skipManualChecks"] is False
    )
    market = member(world, "Market DSO plc", roles=["DistributionSystemOperator"])
    attested = world.client(market).post(
        world.path(asset) + "/attestations",
        content=f"<{asset}> <{FDI.registeredIn.value}> <https://market.example/ukpn> .",
        headers={"Content-Type": "application/n-triples"},
    )
    assert attested.status_code == 201, attested.text
    assurance = world.client(fsp).get(world.path(asset) + "/assurance").json()
    assert assurance["skipManualChecks"] is True
    assert assurance["registeredIn"] == ["https://market.example/ukpn"]


def test_an_fsp_cannot_attest_registered_in_for_itself(world: World) -> None:
    fsp = member(world, "Self Attester Ltd", roles=["FlexibilityServiceProvider", "AssetOwner"])
    asset = register_asset(world, fsp, fresh_mpan())
    refused = world.client(fsp).post(
        world.path(asset) + "/attestations",
        content=f"<{asset}> <{FDI.registeredIn.value}> <https://market.example/ukpn> .",
        headers={"Content-Type": "application/n-triples"},
    )
    assert refused.status_code == 403, refused.text


def test_the_asset_owner_named_by_the_current_right_confirms_a_switch(world: World) -> None:
    a, b = member(world, "Operator A Ltd"), member(world, "Newcomer B Ltd")
    owner = member(world, "Home Owner Co", roles=["AssetOwner"])
    asset = register_asset(world, a, fresh_mpan())
    held = right(asset, a.iri, "2025-01-01").replace(
        'fdi:assetOwner "Household at CF10 1EP"', f"fdi:assetOwner <{owner.iri}>"
    )
    old = world.client(a).post("/rights-to-operate", content=held, headers=TURTLE)
    assert old.status_code == 201, old.text
    switch = right(asset, b.iri, "2026-01-01", extra=f"fdi:takesOver <{old.json()['ids']['r']}> ;")
    claim = world.client(b).post("/rights-to-operate", content=switch, headers=TURTLE)
    assert claim.status_code == 202, claim.text
    assert owner.iri in claim.json()["decidedBy"]
    path = "/claims/" + claim.json()["id"].rsplit("/", 1)[-1]
    confirmed = world.client(owner).post(path + "/confirm", json={})
    assert confirmed.status_code == 200, confirmed.text
    assert world.client(b).get(world.path(asset)).status_code == 200


def test_an_asset_owner_that_only_attested_the_asset_cannot_give_it_away(world: World) -> None:
    a, b = member(world, "Holding A Ltd"), member(world, "Grabbing B Ltd")
    stranger = member(world, "Self Styled Owner Co", roles=["AssetOwner"])
    asset = register_asset(world, a, fresh_mpan())
    attested = world.client(stranger).post(
        world.path(asset) + "/attestations",
        content=f'<{asset}> <https://saref.etsi.org/core/hasModel> "Powerwall 2" .',
        headers={"Content-Type": "application/n-triples"},
    )
    assert attested.status_code == 201, attested.text
    claim = (
        world.client(b)
        .post("/rights-to-operate", content=right(asset, b.iri, "2026-01-01"), headers=TURTLE)
        .json()
    )
    assert stranger.iri not in claim["decidedBy"]
    path = "/claims/" + claim["id"].rsplit("/", 1)[-1]
    refused = world.client(stranger).post(path + "/confirm", json={})
    assert refused.status_code == 403, refused.text
    assert world.registry.info(claim["id"]).status == "pending"
    assert world.client(b).get(world.path(asset)).status_code == 404


def test_a_read_after_a_switch_is_reported_to_the_current_operator(world: World) -> None:
    a, b = member(world, "First Op Ltd"), member(world, "Second Op Ltd")
    asset = register_asset(world, a, fresh_mpan())
    claim = (
        world.client(b)
        .post("/rights-to-operate", content=right(asset, b.iri, "2026-01-01"), headers=TURTLE)
        .json()
    )
    world.client(a).post("/claims/" + claim["id"].rsplit("/", 1)[-1] + "/confirm", json={})
    # The registrant shares its assets with DSOs; a DSO reads this one: both are told.
    assert world.client(a).post("/agreements", json=SHARE_WITH_DSOS).status_code == 201
    dso = member(world, "Reading DSO plc", roles=["DistributionSystemOperator"])
    assert world.client(dso).get(world.path(asset)).status_code == 200
    reads_b = world.client(b).get("/reads").json()["reads"]
    reads_a = world.client(a).get("/reads").json()["reads"]
    assert asset in {r["record"] for r in reads_b}
    assert asset in {r["record"] for r in reads_a}


# --- f. statistics disclosure control ----------------------------------------------------


def test_anonymous_statistics_never_show_a_cell_of_one_asset(world: World) -> None:
    fsp = member(world, "Lonely Battery Ltd")
    north_scotland = mpan_core(17, 43_000_000)  # distributor 17 is GSP group _P
    body = ASSET.replace("2143967712809", north_scotland).replace('"_K"', '"_P"')
    assert world.client(fsp).post("/assets", content=body, headers=TURTLE).status_code == 201
    seen = world.operator_client().get("/statistics").json()["capacity"]
    assert [c["assets"] for c in seen if c["area"] == "_P"] == [1]
    published = world.client().get("/statistics").json()
    assert published["disclosure"]["threshold"] == 5
    assert all(c["assets"] >= 5 for c in published["capacity"])
    assert "_P" not in {c["area"] for c in published["capacity"]}
    assert "_P" not in {c["area"] for c in world.client(fsp).get("/statistics").json()["capacity"]}


# --- g. read notifications are delivered ---------------------------------------------------


def digests_in(client: httpx.Client, member: Member) -> list[dict]:
    inbox = client.get(f"/id/org/{member.uid}/inbox").json()["contains"]
    return [n for n in inbox if "read(s) of your data" in (n.get("summary") or "")]


def test_reads_of_an_fsps_data_arrive_as_a_digest_in_its_inbox(tmp_path: Path) -> None:
    with tls_world(tmp_path, digest_interval=0.3) as live:
        fsp = live.member("Digest Flex Ltd", "07654321")
        asset = register_asset(live, fsp)
        assert live.client(fsp).post("/agreements", json=SHARE_WITH_DSOS).status_code == 201
        dso = live.member("Digest DSO plc", "07654322", roles=["DistributionSystemOperator"])
        assert live.client(dso).get(live.path(asset)).status_code == 200
        wait_until(lambda: digests_in(live.client(fsp), fsp), 15, "a digest", interval=0.2)
        assert len(digests_in(live.client(fsp), fsp)) == 1
        # The behaviour: later rounds (every 0.3 s) find nothing new; only time can show that.
        time.sleep(1)
        assert len(digests_in(live.client(fsp), fsp)) == 1


def test_a_duplicate_after_a_switch_is_reported_to_the_operator_and_the_registrant(
    world: World,
) -> None:
    a, b, c = (
        member(world, "Registrant A Ltd"),
        member(world, "Now Operating B Ltd"),
        member(world, "Duplicating C Ltd"),
    )
    mpan = fresh_mpan()
    asset = register_asset(world, a, mpan)
    claim = (
        world.client(b)
        .post("/rights-to-operate", content=right(asset, b.iri, "2026-01-01"), headers=TURTLE)
        .json()
    )
    world.client(a).post("/claims/" + claim["id"].rsplit("/", 1)[-1] + "/confirm", json={})
    body = ASSET.replace("2143967712809", mpan).replace("TG1234567890", f"SN{mpan}")
    assert world.client(c).post("/assets", content=body, headers=TURTLE).status_code == 409
    for who in (a, b, c):
        inbox = world.client(who).get(f"/id/org/{who.uid}/inbox").text
        assert f"already registered ({asset})" in inbox, who.iri


def test_a_claim_cannot_be_confirmed_once_the_claimant_is_suspended(world: World) -> None:
    a, b = member(world, "Patient A Ltd"), member(world, "Suspended Claimer B Ltd")
    asset = register_asset(world, a, fresh_mpan())
    claim = (
        world.client(b)
        .post("/rights-to-operate", content=right(asset, b.iri, "2026-01-01"), headers=TURTLE)
        .json()
    )
    suspended = world.operator_client().post(
        f"/organisations/{b.uid}/suspend", json={"reason": "fees unpaid"}
    )
    assert suspended.status_code == 200, suspended.text
    rights = world.registry.counts()["right-to-operate"]
    refused = world.client(a).post(
        "/claims/" + claim["id"].rsplit("/", 1)[-1] + "/confirm", json={}
    )
    assert refused.status_code == 409, refused.text
    assert "suspended" in refused.json()["detail"]
    assert world.registry.info(claim["id"]).status == "pending"
    assert world.registry.counts()["right-to-operate"] == rights


# --- d'. after a switch, SPARQL follows control as REST does ----------------------------------

ASSETS_SEEN = "PREFIX fdi: <https://w3id.org/fdi/ns#> SELECT ?a WHERE { ?a a fdi:FlexibleAsset }"


def sparql_assets(client: httpx.Client) -> set[str]:
    answer = client.post(
        "/sparql",
        content=ASSETS_SEEN,
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    )
    assert answer.status_code == 200, answer.text
    return {b["a"]["value"] for b in answer.json()["results"]["bindings"]}


def switch_to(world: World, asset: str, to: Member, confirmer: Member, start: str) -> None:
    """``to`` claims a switch of ``asset`` from its current right; ``confirmer`` confirms it."""
    from registry.trust.control import current_right

    current = current_right(world.registry, asset)
    body = right(asset, to.iri, start, extra=f"fdi:takesOver <{current}> ;")
    claim = world.client(to).post("/rights-to-operate", content=body, headers=TURTLE).json()
    path = "/claims/" + claim["id"].rsplit("/", 1)[-1] + "/confirm"
    assert world.client(confirmer).post(path, json={}).status_code == 200


def test_after_a_switch_the_new_operator_sees_the_asset_through_sparql(world: World) -> None:
    a, b = member(world, "Sparql Leaving Ltd"), member(world, "Sparql Arriving Ltd")
    asset = register_asset(world, a, fresh_mpan())
    body = right(asset, a.iri, "2025-01-01")
    assert world.client(a).post("/rights-to-operate", content=body, headers=TURTLE).is_success
    assert asset not in sparql_assets(world.client(b))
    switch_to(world, asset, b, a, "2026-01-01")
    assert world.client(b).get(world.path(asset)).status_code == 200
    assert asset in sparql_assets(world.client(b))
    assert asset in sparql_assets(world.client(a))  # its registrant still holds the record


def test_an_operator_switched_away_from_loses_the_asset_in_sparql(world: World) -> None:
    a, b, c = (
        member(world, "Sparql Registrant Ltd"),
        member(world, "Sparql Interim Ltd"),
        member(world, "Sparql Final Ltd"),
    )
    asset = register_asset(world, a, fresh_mpan())
    body = right(asset, a.iri, "2025-01-01")
    assert world.client(a).post("/rights-to-operate", content=body, headers=TURTLE).is_success
    switch_to(world, asset, b, a, "2026-01-01")
    assert asset in sparql_assets(world.client(b))
    switch_to(world, asset, c, b, "2026-06-01")
    assert asset in sparql_assets(world.client(c))
    assert asset not in sparql_assets(world.client(b))
    assert world.client(b).get(world.path(asset)).status_code == 404
    assert asset not in sparql_assets(world.client())  # never public


# --- f'. members see what their agreements allow -------------------------------------------


def asset_in(
    world: World, fsp: Member, distributor: int, area: str, technology: str = "BatteryStorage"
) -> str:
    """One asset of ``fsp`` alone in GSP group ``area`` (the distributor's)."""
    mpan = mpan_core(distributor, 44_000_000 + next(_mpans))
    body = ASSET.replace("2143967712809", mpan).replace('"_K"', f'"{area}"')
    body = body.replace("tech:BatteryStorage", f"tech:{technology}")
    body = body.replace("TG1234567890", f"SN{mpan}")
    created = world.client(fsp).post("/assets", content=body, headers=TURTLE)
    assert created.status_code == 201, created.text
    return created.json()["ids"]["battery-cardiff-1"]


def areas(cells: list[dict]) -> dict[str, int]:
    found: dict[str, int] = {}
    for c in cells:
        found[c["area"]] = found.get(c["area"], 0) + c["assets"]
    return found


def test_a_member_sees_the_exact_cell_of_its_own_single_asset(world: World) -> None:
    fsp = member(world, "Single Cell Flex Ltd")
    asset_in(world, fsp, 18, "_N")  # distributor 18 is GSP group _N
    seen = world.client(fsp).get("/statistics").json()
    assert areas(seen["visible"]) == {"_N": 1}
    assert "_N" not in areas(seen["capacity"])  # the published cells still protect it


def test_a_member_does_not_learn_a_rivals_single_asset_cell(world: World) -> None:
    fsp, rival = member(world, "Hidden Cell Flex Ltd"), member(world, "Curious Flex Ltd")
    asset_in(world, fsp, 20, "_H")  # distributor 20 is GSP group _H
    seen = world.client(rival).get("/statistics").json()
    assert "_H" not in areas(seen["visible"]) and "_H" not in areas(seen["capacity"])
    assert seen["visible"] == []
    assert "visible" not in world.client().get("/statistics").json()  # nor does anyone


def test_a_member_sees_the_exact_cells_of_assets_shared_with_it(world: World) -> None:
    fsp = member(world, "Sharing Cell Flex Ltd")
    asset_in(world, fsp, 19, "_J")  # distributor 19 is GSP group _J
    assert world.client(fsp).post("/agreements", json=SHARE_WITH_DSOS).status_code == 201
    dso = member(world, "Entitled DSO plc", roles=["DistributionSystemOperator"])
    assert areas(world.client(dso).get("/statistics").json()["visible"]).get("_J") == 1


def test_the_published_asset_total_reveals_nothing_withheld(tmp_path: Path) -> None:
    with tls_world(tmp_path) as own:  # a registry holding only what this test puts there
        fsp = own.member("Withheld Flex Ltd", "07123450")
        for _ in range(5):
            asset_in(own, fsp, 21, "_K")  # one published cell of five
        asset_in(own, fsp, 16, "_G", "ThermalStorage")  # alone even by technology: withheld
        assert own.operator_client().get("/statistics").json()["records"]["asset"] == 6
        for who in (own.client(), own.client(fsp)):
            published = who.get("/statistics").json()
            assert [c["assets"] for c in published["capacity"]] == [5]
            assert published["records"]["asset"] == 5  # not 6: 6 - 5 would tell of the one
        page = own.client().get("/", headers={"Accept": "text/html"}).text
        assert re.search(r'href="/assets"><b>5</b>', page)


def test_a_switch_dated_ahead_moves_the_sparql_copy_on_its_day(world: World) -> None:
    import datetime as dt

    from registry.markets.sharing import follow_operators

    a, b = member(world, "Sparql Today Ltd"), member(world, "Sparql Tomorrow Ltd")
    asset = register_asset(world, a, fresh_mpan())
    body = right(asset, a.iri, "2025-01-01")
    assert world.client(a).post("/rights-to-operate", content=body, headers=TURTLE).is_success
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    switch_to(world, asset, b, a, tomorrow.isoformat())
    assert asset not in sparql_assets(world.client(b))  # not its operator yet
    assert follow_operators(world.registry, dt.date.today(), dt.date.today()) == 0
    assert follow_operators(world.registry, dt.date.today(), tomorrow) >= 1
    assert asset in sparql_assets(world.client(b))
    assert follow_operators(world.registry, dt.date.today(), tomorrow) == 0  # once
