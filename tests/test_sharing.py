"""Data-sharing agreements: made by an FSP, enforced on every read path by shared copies that
change in the same journal entry as whatever changes them."""

from __future__ import annotations

import json
import shutil

import pyoxigraph as ox
import pytest

from registry.assembly import Registry
from registry.assets.assets import register_assets
from registry.base.errors import Forbidden, NotFound, UnusableInput
from registry.base.settings import Settings
from registry.markets import sharing
from registry.submissions.formats import read_bytes
from registry.trust import organisations
from registry.trust.ca import CertificateAuthority
from tests.conftest import BASE, EXAMPLES
from tests.trust import Member, Onboarding

ASSETS = (
    "PREFIX fdi: <https://w3id.org/fdi/ns#> SELECT ?a WHERE { ?a a fdi:FlexibleAsset } ORDER BY ?a"
)
ANY_GRAPH = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"


class World:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.onboarding = Onboarding(registry, CertificateAuthority.open(None))
        self.fsp = self.onboarding.member("Example Flex Ltd", "SC123456")
        self.dso = self.onboarding.member(
            "North DSO plc", "01234567", roles=["DistributionSystemOperator"]
        )
        self.dso2 = self.onboarding.member(
            "South DSO plc", "07654321", roles=["DistributionSystemOperator"]
        )
        self.mo = self.onboarding.member("Flex Market Ltd", "09999999", roles=["MarketOperator"])

    def asset(self, name: str = "asset.ttl") -> str:
        fmt = "turtle" if name.endswith(".ttl") else "json"
        parsed = read_bytes((EXAMPLES / name).read_bytes(), fmt, source=name)
        return next(iter(register_assets(self.registry, parsed, self.fsp.principal).ids.values()))

    def agree(self, assignees: list[str], targets: list[str], by: Member | None = None) -> str:
        body = {
            "type": "DataSharingAgreement",
            "id": "agreement",
            "assignee": assignees,
            "target": targets,
            "permission": {
                "action": "use",
                "constraint": {
                    "leftOperand": "purpose",
                    "operatorSymbol": "eq",
                    "rightOperand": "fdi:FlexibilityProcurement",
                },
            },
        }
        parsed = read_bytes(json.dumps(body).encode(), "json", source="agreement")
        return sharing.make_agreement(self.registry, parsed, (by or self.fsp).principal).records[0][
            "id"
        ]

    def sees(self, who: Member, iri: str) -> bool:
        try:
            self.registry.record(iri, who.principal)
        except NotFound:
            return False
        return True

    def assets_seen(self, who: Member) -> list[str]:
        result = self.registry.query(ASSETS, who.principal)
        return [s["a"].value for s in result.value]  # type: ignore[attr-defined]


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def test_an_agreement_with_an_organisation_shares_its_targets_with_it_alone(world: World) -> None:
    asset = world.asset()
    world.agree([world.dso.iri], [asset])

    assert world.sees(world.dso, asset) and world.assets_seen(world.dso) == [asset]
    assert not world.sees(world.dso2, asset) and world.assets_seen(world.dso2) == []
    assert not world.sees(world.mo, asset) and world.assets_seen(world.mo) == []


def test_without_an_agreement_nobody_else_sees_an_asset(world: World) -> None:
    asset = world.asset()

    assert world.sees(world.fsp, asset)
    assert [world.sees(m, asset) for m in (world.dso, world.dso2, world.mo)] == [False] * 3


def test_an_agreement_with_a_role_shares_with_every_holder_of_the_role(world: World) -> None:
    asset = world.asset()
    world.agree(["fdi:DistributionSystemOperator"], ["fdi:ProviderAssets"])

    assert world.assets_seen(world.dso) == [asset] and world.assets_seen(world.dso2) == [asset]
    assert world.assets_seen(world.mo) == []


def test_a_collection_target_covers_records_registered_later(world: World) -> None:
    world.agree([world.dso.iri], ["fdi:ProviderAssets"])
    later = world.asset("asset.json")

    assert world.assets_seen(world.dso) == [later]


def test_a_changed_record_reaches_the_copy_in_the_same_journal_entry(world: World) -> None:
    asset = world.asset()
    world.agree([world.dso.iri], [asset])
    text = (
        (EXAMPLES / "asset.ttl")
        .read_text()
        .replace("Home battery, Cardiff", "Battery, Cardiff Bay")
    )
    registration = world.registry.update(
        asset, read_bytes(text.encode(), "turtle"), world.fsp.principal, '"1"'
    )

    copy = world.registry.record(asset, world.dso.principal)
    assert ox.Literal("Battery, Cardiff Bay") in {t.object for t in copy}
    entry = world.registry.journal.entry(registration.seq)
    assert entry is not None and [c["iri"] for c in entry.payload["copies"] if c["iri"] == asset]


def test_withdrawing_an_agreement_removes_the_copies_and_tells_the_holders(world: World) -> None:
    asset = world.asset()
    agreement = world.agree([world.dso.iri], [asset])
    sharing.withdraw(world.registry, world.fsp.principal, agreement)

    assert not world.sees(world.dso, asset) and not world.sees(world.dso, agreement)
    told = world.registry.journal.read(
        "SELECT body FROM notification WHERE recipient = ? ORDER BY id", (world.dso.iri,)
    )
    assert [json.loads(b)["type"] for (b,) in told][-2:] == ["Announce", "Undo"]
    assert sharing.describe(world.registry, agreement)["status"] == "withdrawn"


def test_an_organisation_gaining_the_role_gets_the_copies(world: World) -> None:
    asset = world.asset()
    world.agree(["fdi:DistributionSystemOperator"], ["fdi:ProviderAssets"])
    newcomer = world.onboarding.member(
        "East DSO plc", "05555555", roles=["DistributionSystemOperator"]
    )

    assert world.assets_seen(newcomer) == [asset]


def test_a_suspended_organisation_loses_the_copies_until_reinstated(world: World) -> None:
    asset = world.asset()
    world.agree([world.dso.iri], [asset])
    operator = world.onboarding.operator
    organisations.suspend(world.registry, operator, world.dso.iri, "unpaid fees")
    assert not world.sees(world.dso, asset)

    organisations.reinstate(world.registry, operator, world.dso.iri)
    assert world.sees(world.dso, asset)


def test_a_role_grant_is_lost_with_the_role(world: World) -> None:
    asset = world.asset()
    world.agree(["fdi:DistributionSystemOperator"], [asset])
    organisations.suspend(world.registry, world.onboarding.operator, world.dso2.iri, "audit")

    assert world.sees(world.dso, asset) and not world.sees(world.dso2, asset)


def test_sparql_cannot_reach_another_organisations_shared_graph(world: World) -> None:
    asset = world.asset()
    world.agree([world.dso.iri], [asset])
    graphs = [s["g"].value for s in world.registry.query(ANY_GRAPH, world.dso2.principal).value]  # type: ignore[attr-defined]

    assert all("/graph/shared/" + world.dso.uid not in g for g in graphs)
    assert all("/graph/org/" + world.fsp.uid not in g for g in graphs)


def test_only_your_own_records_can_be_targets(world: World) -> None:
    asset = world.asset()
    other = world.onboarding.member("Other Flex Ltd", "SC654321")
    with pytest.raises(Forbidden):
        world.agree([world.dso.iri], [asset], by=other)


def test_the_assigner_must_be_the_submitter(world: World) -> None:
    body = {
        "type": "DataSharingAgreement",
        "assigner": world.dso.iri,
        "assignee": [world.dso.iri],
        "target": ["fdi:ProviderAssets"],
        "permission": {"action": "use"},
    }
    with pytest.raises(Forbidden):
        sharing.make_agreement(
            world.registry, read_bytes(json.dumps(body).encode(), "json"), world.fsp.principal
        )


def test_an_unknown_assignee_is_refused(world: World) -> None:
    with pytest.raises(UnusableInput):
        world.agree([BASE + "id/org/nobody"], ["fdi:ProviderAssets"])


def test_a_market_operator_cannot_make_agreements(world: World) -> None:
    with pytest.raises(Forbidden):
        world.agree([world.fsp.iri], ["fdi:ProviderAssets"], by=world.dso)


def test_an_agreement_registered_without_an_owner_shares_nothing(world: World) -> None:
    asset = world.asset()
    turtle = f"""
        @prefix fdi: <https://w3id.org/fdi/ns#> . @prefix odrl: <http://www.w3.org/ns/odrl/2/> .
        <#a> a fdi:DataSharingAgreement ; odrl:assigner <{world.fsp.iri}> ;
            odrl:assignee <{world.dso.iri}> ;
            odrl:target <{asset}> ;
            odrl:permission [ odrl:action odrl:use ;
                odrl:constraint [ odrl:leftOperand odrl:purpose ; odrl:operator odrl:eq ;
                                  odrl:rightOperand fdi:FlexibilityProcurement ] ] ."""
    world.registry.register(read_bytes(turtle.encode(), "turtle"), "anonymous")

    assert not world.sees(world.dso, asset)


def test_shared_with_lists_each_agreement_and_its_records(world: World) -> None:
    asset = world.asset()
    agreement = world.agree([world.dso.iri], ["fdi:ProviderAssets"])

    (shared,) = sharing.shared_with(world.registry, world.dso.principal)
    assert shared["agreement"] == agreement and shared["assigner"] == world.fsp.iri
    assert shared["assignerName"] == "Example Flex Ltd"
    assert shared["purposes"] == ["https://w3id.org/fdi/ns#FlexibilityProcurement"]
    assert [r["id"] for r in shared["records"]] == [asset]
    assert sharing.shared_with(world.registry, world.dso2.principal) == []


def test_the_copies_are_rebuilt_from_the_journal(disk_settings: Settings) -> None:
    registry = Registry(disk_settings)
    world = World(registry)
    asset = world.asset()
    world.agree([world.dso.iri], [asset])
    before = set(registry.index.dump())
    registry.close()
    shutil.rmtree(disk_settings.data_dir / "index")  # type: ignore[operator]

    rebuilt = Registry(disk_settings)
    try:
        assert set(rebuilt.index.dump()) == before
        assert [s["a"].value for s in rebuilt.query(ASSETS, world.dso.principal).value] == [asset]  # type: ignore[attr-defined]
    finally:
        rebuilt.close()
