"""BUC.2, common asset registration, steps 1–9 through the HTTP API, one journey.

Every party presents a real client certificate from the registry's CA (``tests/trust.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from registry.base.settings import Settings
from tests.conftest import BASE, EXAMPLES
from tests.trust import Onboarding

TURTLE = {"Content-Type": "text/turtle"}
ASSET = (EXAMPLES / "asset.ttl").read_bytes()
RIGHT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#right> a fdi:RightToOperate ; fdi:asset <{asset}> ; fdi:operator <{operator}> ;
  fdi:validFrom "{start}"^^xsd:date ; fdi:assetOwner "Household at CF10 1EP" ;
  fdi:consentEvidence <urn:uuid:0b6f3c1e-{tag}> {extra}.
"""
ASSETS_SEEN = "SELECT ?a WHERE { ?a a <https://w3id.org/fdi/ns#FlexibleAsset> }"


def path(iri: str) -> str:
    return iri.removeprefix(BASE.rstrip("/"))


def inbox(client: TestClient, org: str) -> str:
    return json.dumps(
        client.get(path(org) + "/inbox", headers={"Accept": "application/ld+json"}).json()
    )


class Journey:
    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(data_dir=data_dir, base_iri=BASE)
        self.app = create_app(self.settings)
        self.world = Onboarding.of(self.app)
        self.fsp1 = self.world.member("Cardiff Flex Ltd", "11111111")
        self.fspn = self.world.member("Rival Flex Ltd", "22222222")
        self.dso = self.world.member(
            "South Wales DSO plc", "33333333", roles=["DistributionSystemOperator"]
        )
        self.dso2 = self.world.member(
            "Other DSO plc", "44444444", roles=["DistributionSystemOperator"]
        )
        self.oem = self.world.member("Battery Maker Ltd", "55555555", roles=["Manufacturer"])
        self.client = {
            name: self.world.client(getattr(self, name))
            for name in ("fsp1", "fspn", "dso", "dso2", "oem")
        }

    def as_(self, who: str) -> TestClient:
        return self.client[who]

    def right(self, asset: str, operator: str, start: str, tag: str, extra: str = "") -> bytes:
        return RIGHT.format(
            asset=asset, operator=operator, start=start, tag=tag, extra=extra
        ).encode()


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory):
    j = Journey(tmp_path_factory.mktemp("buc2") / "data")
    with TestClient(j.app):
        yield j


def test_buc2_steps_1_to_9(journey: Journey):
    fsp1, fspn, dso, dso2, oem = (journey.as_(w) for w in ("fsp1", "fspn", "dso", "dso2", "oem"))

    # Step 1: FSP-1 provides asset data: one asset, and many as a bulk job.
    created = fsp1.post("/assets", content=ASSET, headers=TURTLE)
    assert created.status_code == 201, created.text
    asset = created.json()["ids"]["battery-cardiff-1"]
    assert created.json()["receipt"]  # BUC.2 step 5: a signed confirmation
    job = fsp1.post(
        "/jobs",
        content=(EXAMPLES / "assets.csv").read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    assert job.status_code == 202
    journey.app.state.jobs.wait(120)
    done = fsp1.get(job.headers["location"]).json()
    assert (done["status"], done["registered"]) == (
        "finished",
        4,
    )  # the planned asset too (step 2c)
    # Step 1b: signposting, for a given market operator.
    markets = {m["slug"]: m for m in fsp1.get(path(asset) + "/signpost").json()["markets"]}
    assert markets["neso"]["meets"] is False
    assert any(f["field"] == "responseTime" for f in markets["neso"]["missing"])

    # Step 2: technical validation against the published rules; a bad MPAN is refused.
    bad = ASSET.replace(b"2143967712809", b"2143967712808").replace(b"TG1234567890", b"TG-OTHER")
    refused = fsp1.post("/assets", content=bad, headers=TURTLE)
    assert refused.status_code == 422
    assert any(
        f["field"] == "mpan" and "check digit" in f["message"]
        for f in refused.json()["report"]["findings"]
    )
    # Step 2a/2b: a trusted source (the manufacturer) attests; the asset can skip manual checks.
    attested = oem.post(
        path(asset) + "/attestations",
        headers=TURTLE,
        content=(
            f'<{asset}> <https://saref.etsi.org/core/hasManufacturer> "Tesla" ; '
            f'<https://w3id.org/fdi/ns#serialNumber> "TG1234567890" .'
        ).encode(),
    )
    assert attested.status_code == 201, attested.text
    assert fsp1.get(path(asset) + "/assurance").json()["skipManualChecks"] is True

    # Step 3: contractual validation: FSP-1's right to operate; an overlapping claim is refused.
    right = fsp1.post(
        "/rights-to-operate",
        headers=TURTLE,
        content=journey.right(asset, journey.fsp1.iri, "2025-04-01", "1"),
    )
    assert right.status_code == 201, right.text
    clash = fspn.post(
        "/rights-to-operate",
        headers=TURTLE,
        content=journey.right(asset, journey.fspn.iri, "2025-06-01", "2"),
    )
    assert clash.status_code == 409
    assert right.json()["ids"]["right"] in clash.json()["detail"]

    # Step 4 and 5a: one ID per asset; FSP-n's duplicate is refused with a pointer; both told.
    duplicate = fspn.post("/assets", content=ASSET, headers=TURTLE)
    assert duplicate.status_code == 409
    assert duplicate.json()["existing"] == asset
    assert asset in inbox(fspn, journey.fspn.iri)
    assert asset in inbox(fsp1, journey.fsp1.iri)

    # Step 6: MOs read the asset data within their agreements; the FSP sees who read what.
    agreement = {
        "type": "DataSharingAgreement",
        "id": "share",
        "assignee": [journey.dso.iri],
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
    made = fsp1.post("/agreements", json=agreement)
    assert made.status_code == 201, made.text
    assert dso.get(path(asset), headers={"Accept": "text/turtle"}).status_code == 200
    seen = dso.get("/sparql", params={"query": ASSETS_SEEN}).json()["results"]["bindings"]
    assert asset in {b["a"]["value"] for b in seen}
    assert dso2.get(path(asset), headers={"Accept": "text/turtle"}).status_code == 404
    assert dso2.get("/sparql", params={"query": ASSETS_SEEN}).json()["results"]["bindings"] == []
    reads = fsp1.get("/reads").json()["reads"]
    assert (journey.dso.iri, asset) in {(r["reader"], r["record"]) for r in reads}
    by_dso = [r["record"] for r in reads if r["reader"] == journey.dso.iri]
    assert by_dso.count(asset) == 2  # the REST read and the SPARQL read
    assert len(set(by_dso)) == 5  # the SPARQL query showed all five of FSP-1's assets

    # Step 7: FSP-1 updates the asset with If-Match; a stale update is refused; history kept.
    current = fsp1.get(path(asset), headers={"Accept": "text/turtle"})
    updated_body = ASSET.replace(b"<#battery-cardiff-1>", f"<{asset}>".encode()).replace(
        b"Powerwall 2", b"Powerwall 3"
    )
    updated = fsp1.put(
        path(asset), content=updated_body, headers={**TURTLE, "If-Match": current.headers["etag"]}
    )
    assert updated.status_code == 200, updated.text
    stale = fsp1.put(
        path(asset), content=updated_body, headers={**TURTLE, "If-Match": current.headers["etag"]}
    )
    assert stale.status_code == 412
    assert [v["version"] for v in fsp1.get(path(asset) + "/versions").json()["versions"]] == [1, 2]
    # The DSO's shared copy follows the update.
    assert "Powerwall 3" in dso.get(path(asset), headers={"Accept": "text/turtle"}).text

    # Step 8: unexpected downtime: the journal is the system of record; a fresh start rebuilds.
    registry = journey.app.state.registry
    assert registry.journal.verify() > 0

    # Step 9: the outcomes are usable by other BUCs: the operator is the BUC.4 organisation ID,
    # which dereferences.
    assert (
        journey.fsp1.iri
        in fsp1.get(path(right.json()["ids"]["right"]), headers={"Accept": "text/turtle"}).text
    )
    assert (
        TestClient(journey.app)
        .get(path(journey.fsp1.iri), headers={"Accept": "text/turtle"})
        .status_code
        == 200
    )
