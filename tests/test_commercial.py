"""Commercial information: validated against the shapes, reported in a provider's terms with
what each market operator requires, private unless shared, listed in the directory."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
import pytest

from registry.assembly import Registry
from registry.base.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from registry.base.vocab import FDI
from registry.markets import commercial, directory, sharing
from registry.submissions.formats import read_bytes
from tests.trust import Onboarding

INFO: dict[str, Any] = {
    "type": "CommercialInformation",
    "id": "offer",
    "services": ["service-sustain", "service-dynamic-containment"],
    "markets": ["market-ukpn", "market-neso"],
    "technologies": ["BatteryStorage", "HeatPump"],
    "regions": ["area-london", "area-eastern"],
    "capacity": {"value": 2.5, "unit": "MW"},
    "contactPoint": {"fn": "Trading desk", "email": "mailto:trading@example.org"},
}


def parsed(**changes: Any):  # type: ignore[no-untyped-def]
    body = {k: v for k, v in {**INFO, **changes}.items() if v is not None}
    return read_bytes(json.dumps(body).encode(), "json", source="offer")


@pytest.fixture
def world(registry: Registry) -> Onboarding:
    return Onboarding.of_registry(registry)


def test_invalid_commercial_information_is_refused_with_what_is_missing(
    registry: Registry, world: Onboarding
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    with pytest.raises(ValidationFailed) as refused:
        commercial.submit(registry, parsed(services=None, capacity=None), fsp.principal)

    report = refused.value.extra["commercialReport"]
    assert not report["conforms"]
    assert sorted(f["field"] for f in report["missing"]) == ["capacity", "services"]
    assert commercial.current(registry, fsp.iri) is None


def test_the_report_says_what_is_optional_recommended_and_what_each_market_requires(
    registry: Registry,
    world: Onboarding,
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    _, report = commercial.submit(
        registry, parsed(capacity={"value": 500, "unit": "kW"}, contactPoint=None), fsp.principal
    )
    body = report.as_dict()

    assert body["conforms"] and body["missing"] == []
    assert [f["field"] for f in body["recommended"]] == ["contactPoint"]
    assert {o["field"] for o in body["optional"]} == {"assetCount", "description"}
    markets = {m["slug"]: m for m in body["markets"]}
    assert markets["neso"]["selected"] and not markets["neso"]["meets"]
    assert {f["field"] for f in markets["neso"]["missing"]} == {"capacity", "contactPoint"}
    assert {f["field"] for f in markets["ukpn"]["missing"]} == {"contactPoint"}


def test_the_provider_is_the_submitting_organisation(registry: Registry, world: Onboarding) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    registration, _ = commercial.submit(registry, parsed(), fsp.principal)
    iri = registration.records[0]["id"]

    assert ox.Triple(ox.NamedNode(iri), FDI.provider, ox.NamedNode(fsp.iri)) in registry.record(
        iri, fsp.principal
    )
    other = world.member("Other Flex Ltd", "SC654321")
    with pytest.raises(Forbidden):
        commercial.submit(registry, parsed(provider=fsp.iri), other.principal)


def test_a_second_submission_points_at_the_first(registry: Registry, world: Onboarding) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    registration, _ = commercial.submit(registry, parsed(), fsp.principal)
    with pytest.raises(Conflict) as again:
        commercial.submit(registry, parsed(), fsp.principal)
    assert again.value.extra["existing"] == registration.records[0]["id"]


def test_an_update_needs_the_current_version_and_refreshes_the_listing(
    registry: Registry, world: Onboarding
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    commercial.submit(registry, parsed(), fsp.principal)
    with pytest.raises(PreconditionFailed):
        commercial.update(registry, parsed(regions=["area-yorkshire"]), fsp.principal, '"7"')
    registration, _ = commercial.update(
        registry, parsed(regions=["area-yorkshire"]), fsp.principal, '"1"'
    )

    assert registration.records[0]["version"] == 2
    (entry,) = directory.members(registry, name="example flex")
    assert entry["regions"] == ["area-yorkshire"]


def test_only_a_flexibility_service_provider_submits(registry: Registry, world: Onboarding) -> None:
    dso = world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    with pytest.raises(Forbidden):
        commercial.submit(registry, parsed(), dso.principal)


def test_commercial_information_is_private_unless_shared(
    registry: Registry, world: Onboarding
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    dso = world.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    iri = commercial.submit(registry, parsed(), fsp.principal)[0].records[0]["id"]
    with pytest.raises(NotFound):
        registry.record(iri, dso.principal)
    with pytest.raises(NotFound):
        registry.record(iri)

    body = {
        "type": "DataSharingAgreement",
        "assignee": [dso.iri],
        "target": ["fdi:ProviderCommercialInformation"],
        "permission": {
            "action": "use",
            "constraint": {
                "leftOperand": "purpose",
                "operatorSymbol": "eq",
                "rightOperand": "fdi:Prequalification",
            },
        },
    }
    sharing.make_agreement(registry, read_bytes(json.dumps(body).encode(), "json"), fsp.principal)
    assert registry.record(iri, dso.principal)


def test_the_directory_lists_services_markets_technologies_and_regions_but_not_capacity(
    registry: Registry,
    world: Onboarding,
) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    commercial.submit(registry, parsed(), fsp.principal)

    (entry,) = directory.members(registry, technology="BatteryStorage", region="London")
    assert entry["id"] == fsp.iri and entry["markets"] == ["market-neso", "market-ukpn"]
    listing = registry.index.record_quads(
        registry.public_graph, ox.NamedNode(directory.listing_iri(fsp.iri))
    )
    assert listing and not [q for q in listing if q.predicate == FDI.flexibleCapacity]


def test_checking_stores_nothing(registry: Registry, world: Onboarding) -> None:
    fsp = world.member("Example Flex Ltd", "SC123456")
    report = commercial.assess(registry, parsed(markets=None), fsp.principal)

    assert report.as_dict()["conforms"] and [
        f["field"] for f in report.as_dict()["recommended"]
    ] == ["markets"]
    assert commercial.current(registry, fsp.iri) is None
