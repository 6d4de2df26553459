"""BUC.2 rules with other parties involved: duplicates, one operator at a time, switches."""

import threading

import pytest

from registry.assembly import Registry
from registry.assets.assets import register_assets
from registry.assets.claims import claim_right, decide
from registry.base.errors import ConflictingRight, DuplicateAsset, Forbidden, NotFound
from registry.base.identity import FSP, Principal
from registry.base.vocab import FDI
from registry.submissions.formats import read_bytes, read_file
from registry.trust.control import operator_of
from registry.trust.schemes import FDI_SCHEME
from tests.conftest import EXAMPLES

ORG = (EXAMPLES / "organisation.ttl").read_text()
ASSET = (EXAMPLES / "asset.ttl").read_text()
# The scopes an FSP's certificate carries by default (assets-write, commercial-write, ...).
FSP_SCOPES = frozenset(FDI_SCHEME.default_scopes[FSP])
RIGHT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#r> a fdi:RightToOperate ; fdi:asset <{asset}> ; fdi:operator <{operator}> ;
  fdi:validFrom "{start}"^^xsd:date ; {extra} fdi:assetOwner "Household at CF10 1EP" ;
  fdi:consentEvidence <urn:uuid:{start}> .
"""


def make_fsp(registry: Registry, number: str) -> Principal:
    text = ORG.replace("12345678", number).replace("FlexCo", f"FlexCo {number}")
    result = registry.register(read_bytes(text.encode(), "turtle"), actor="scheme-operator")
    return Principal(next(iter(result.ids.values())), frozenset({FSP}), FSP_SCOPES)


def register_asset(registry: Registry, fsp: Principal, text: str = ASSET) -> str:
    result = register_assets(registry, read_bytes(text.encode(), "turtle"), fsp)
    return result.ids["battery-cardiff-1"]


def right(asset: str, operator: str, start: str, extra: str = "") -> bytes:
    return RIGHT.format(asset=asset, operator=operator, start=start, extra=extra).encode()


def inbox(registry: Registry, org: str) -> list[str]:
    rows = registry.journal.read("SELECT body FROM notification WHERE recipient = ?", (org,))
    return [body for (body,) in rows]


def test_an_fsp_registers_an_asset_into_its_own_graph(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    assert registry.info(asset).owner == fsp.organisation
    assert registry.record(asset, fsp)
    with pytest.raises(NotFound):
        registry.record(asset, Principal.anonymous())


def test_only_an_fsp_registers_assets(registry):
    with pytest.raises(Forbidden):
        register_assets(
            registry, read_file(EXAMPLES / "asset.ttl"), Principal("urn:x", frozenset())
        )


def test_a_second_registration_is_refused_with_a_pointer_and_both_fsps_are_told(registry):
    first, second = make_fsp(registry, "00000001"), make_fsp(registry, "00000002")
    asset = register_asset(registry, first)
    with pytest.raises(DuplicateAsset) as caught:
        register_asset(registry, second)
    assert caught.value.extra["existing"] == asset
    assert any(asset in body for body in inbox(registry, second.organisation))
    assert any(asset in body for body in inbox(registry, first.organisation))
    assert registry.counts()["asset"] == 1


def test_twenty_concurrent_registrations_of_one_asset_make_one_asset(disk_settings):
    registry = Registry(disk_settings)
    fsps = [make_fsp(registry, f"{n:08d}") for n in range(1, 21)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(fsps))

    def attempt(fsp: Principal) -> None:
        barrier.wait()
        try:
            register_asset(registry, fsp)
            outcomes.append("registered")
        except DuplicateAsset:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(f,)) for f in fsps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 19 + ["registered"]
    assert registry.counts()["asset"] == 1
    told = [f for f in fsps if inbox(registry, f.organisation)]
    assert len(told) == 20  # every refused FSP, and the winner as current operator
    registry.close()


def test_an_overlapping_right_is_refused_naming_the_other(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    register_assets(
        registry, read_bytes(right(asset, fsp.organisation, "2025-01-01"), "turtle"), fsp
    )
    with pytest.raises(ConflictingRight) as caught:
        register_assets(
            registry, read_bytes(right(asset, fsp.organisation, "2025-06-01"), "turtle"), fsp
        )
    assert "/id/right-to-operate/" in caught.value.detail
    assert "resolve" in caught.value.extra


def test_simultaneous_overlapping_rights_are_never_both_accepted(disk_settings):
    registry = Registry(disk_settings)
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def claim(start: str) -> None:
        barrier.wait()
        try:
            register_assets(
                registry, read_bytes(right(asset, fsp.organisation, start), "turtle"), fsp
            )
            results.append("ok")
        except ConflictingRight:
            results.append("conflict")

    threads = [threading.Thread(target=claim, args=(f"2025-03-0{n}",)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    registry.close()


def test_a_switch_ends_the_previous_right_and_notifies_both(registry):
    from tests.trust import Onboarding

    world = Onboarding.of_registry(registry)
    first = world.member("First Flex Ltd", "00000001").principal
    second = world.member("Second Flex Ltd", "00000002").principal
    asset = register_asset(registry, first)
    old = register_assets(
        registry, read_bytes(right(asset, first.organisation, "2025-01-01"), "turtle"), first
    ).ids["r"]
    switch = right(asset, second.organisation, "2026-01-01", extra=f"fdi:takesOver <{old}> ;")
    claim = claim_right(registry, read_bytes(switch, "turtle"), second)
    decide(registry, first, claim["id"], confirm=True)
    new = registry.journal.read(
        "SELECT iri FROM record WHERE type = ? AND owner = ?",
        (FDI.RightToOperate.value, second.organisation),
    )[0][0]
    ended = registry.record(old, first)
    assert any(
        t.predicate.value.endswith("validTo") and t.object.value == "2026-01-01" for t in ended
    )
    assert registry.info(old).status == "ended"
    assert (
        operator_of(registry, asset, on=__import__("datetime").date(2026, 2, 1))
        == second.organisation
    )
    assert (
        operator_of(registry, asset, on=__import__("datetime").date(2025, 2, 1))
        == first.organisation
    )
    assert any(new in body for body in inbox(registry, first.organisation))
    assert any(new in body for body in inbox(registry, second.organisation))
