"""Other sources of asset data: provenance kept, conflicts shown, trusted attestations marked."""

import pytest

from registry.assets.attestations import assurance, attest, conflicts
from registry.base.errors import Forbidden
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.submissions.formats import read_bytes
from tests.test_assets import make_fsp, register_asset

MANUFACTURER = Principal("http://registry.test/id/org/oem-1", frozenset({FDI.Manufacturer.value}))
STATEMENT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix saref: <https://saref.etsi.org/core/> .
@prefix qudt: <http://qudt.org/schema/qudt/> . @prefix unit: <http://qudt.org/vocab/unit/> .
<{asset}> saref:hasManufacturer "Tesla" ; fdi:serialNumber "TG1234567890" ;
  fdi:exportCapacity [ qudt:numericValue {kw} ; qudt:unit unit:KiloW ] .
"""


def statement(asset: str, kw: str = "5.0"):
    return read_bytes(STATEMENT.format(asset=asset, kw=kw).encode(), "turtle")


def test_an_agreeing_trusted_attestation_lets_the_asset_skip_manual_checks(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    assert assurance(registry, asset, fsp)["status"] == "unverified"
    attest(registry, asset, statement(asset), MANUFACTURER)
    verdict = assurance(registry, asset, fsp)
    assert verdict["status"] == "attested"
    assert verdict["skipManualChecks"] is True


def test_a_conflicting_value_is_shown_not_overwritten(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    attest(registry, asset, statement(asset, kw="4.6"), MANUFACTURER)
    [conflict] = conflicts(registry, asset, fsp)
    assert conflict["property"] == FDI.exportCapacity.value
    assert sorted(v["value"] for v in conflict["values"]) == ["4.6 KiloW", "5 KiloW"]
    assert {v["source"] for v in conflict["values"]} == {
        fsp.organisation,
        MANUFACTURER.organisation,
    }
    record = registry.record(asset, fsp)
    assert any(t.object.value in ("5", "5.0") for t in record)  # the registered value stands
    assert assurance(registry, asset, fsp)["status"] == "disputed"


def test_the_fsp_is_told_about_an_attestation(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    attest(registry, asset, statement(asset), MANUFACTURER)
    rows = registry.journal.read(
        "SELECT body FROM notification WHERE recipient = ?", (fsp.organisation,)
    )
    assert any(asset in body for (body,) in rows)


def test_only_owners_installers_and_manufacturers_attest(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    with pytest.raises(Forbidden):
        attest(registry, asset, statement(asset), fsp)
