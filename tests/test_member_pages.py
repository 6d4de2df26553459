"""Issue 16 item 3: member pages behind the organisation's client certificate. Each shows the
organisation's own data only; without a certificate each is a 401 page and shows nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EXAMPLES, new_app
from tests.trust import Member, Onboarding

HTML = {"Accept": "text/html"}
PAGES = ["/me", "/me/validate", "/me/assets", "/me/reads", "/me/notifications", "/me/agreements"]
FDI = str(Path(sys.executable).parent / "fdi")
BAD_CSV = (
    b"id,name,technology,status,mpan,gsp_group,postcode,import_kw\n"
    b"bad-1,Broken battery,BatteryStorage,Commissioned,1234567890123,_K,CF10 1EP,-5\n"
)


pytestmark = pytest.mark.app(started=True)


@pytest.fixture
def world(onboarding: Onboarding) -> tuple[Onboarding, Member, Member]:
    """Two FSPs in a started app."""
    flex = onboarding.member("Flex One Ltd", "11111111")
    rival = onboarding.member("Rival Flex Ltd", "22222222")
    return onboarding, flex, rival


def test_without_a_certificate_every_member_page_is_a_401_page(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    anonymous = TestClient(trust.app)
    for path in PAGES:
        page = anonymous.get(path, headers=HTML)
        assert page.status_code == 401, path
        assert page.headers["content-type"].startswith("text/html")
        assert "client certificate" in page.text and "Flex One" not in page.text
    refused = anonymous.post("/me/validate", files={"file": ("bad.csv", BAD_CSV)}, headers=HTML)
    assert refused.status_code == 401 and "row 2" not in refused.text


def test_my_page_names_my_organisation_and_roles(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    page = trust.client(flex).get("/me", headers=HTML)
    assert page.status_code == 200 and "Flex One Ltd" in page.text
    assert "FlexibilityServiceProvider" in page.text
    assert page.headers["cache-control"] == "private, no-store"


def test_validating_a_file_shows_the_same_findings_as_fdi_validate(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    before = trust.registry.journal.last()
    page = trust.client(flex).post(
        "/me/validate", files={"file": ("bad.csv", BAD_CSV)}, headers=HTML
    )
    assert page.status_code == 200 and "does not conform" in page.text
    (tmp_path / "bad.csv").write_bytes(BAD_CSV)
    cli = subprocess.run(
        [FDI, "validate", "--format", "json", str(tmp_path / "bad.csv")],
        capture_output=True,
        text=True,
    )
    findings = json.loads(cli.stdout)["files"][0]["findings"]
    assert findings and page.text.count("<tr><td>row 2 (id bad-1)</td>") == len(findings)
    for finding in findings:
        assert f"<td>{finding['field']}</td>" in page.text
    assert trust.registry.journal.last() == before  # nothing stored


def test_a_good_file_conforms(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    body = (EXAMPLES / "asset.ttl").read_bytes()
    page = trust.client(flex).post(
        "/me/validate", files={"file": ("asset.ttl", body)}, headers=HTML
    )
    assert 'asset.ttl: <span class="ok">conforms</span>' in page.text


def test_the_page_says_how_a_respelled_mpan_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    body = (EXAMPLES / "asset.ttl").read_text()
    spaced = re.sub(
        r'fdi:mpanCore "(\d{2})(\d{4})(\d{4})(\d{3})"', r'fdi:mpanCore "\1 \2 \3 \4"', body
    )
    assert spaced != body
    page = trust.client(flex).post(
        "/me/validate", files={"file": ("asset.ttl", spaced.encode())}, headers=HTML
    )
    assert 'asset.ttl: <span class="ok">conforms</span>' in page.text
    assert '<table id="respelled">' in page.text and "<td>mpan</td>" in page.text


def test_my_assets_lists_mine_and_never_a_rivals(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, rival = world
    body = (EXAMPLES / "asset.ttl").read_bytes()
    mine = trust.client(flex).post("/assets", content=body, headers={"Content-Type": "text/turtle"})
    assert mine.status_code == 201
    page = trust.client(flex).get("/me/assets", headers=HTML)
    assert "Home battery, Cardiff" in page.text and "1 record registered" in page.text
    theirs = trust.client(rival).get("/me/assets", headers=HTML)
    assert "Home battery, Cardiff" not in theirs.text and "0 records registered" in theirs.text


def test_notifications_show_a_duplicate_claim_to_both_providers(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, rival = world
    body = (EXAMPLES / "asset.ttl").read_bytes()
    headers = {"Content-Type": "text/turtle"}
    assert trust.client(flex).post("/assets", content=body, headers=headers).status_code == 201
    assert trust.client(rival).post("/assets", content=body, headers=headers).status_code == 409
    for member, other in ((flex, rival), (rival, flex)):
        page = trust.client(member).get("/me/notifications", headers=HTML)
        assert "Attempt to register an asset that is already registered" in page.text
        assert f"/id/org/{member.uid}/inbox/" in page.text
        assert f"/id/org/{other.uid}/inbox/" not in page.text  # never another's inbox


def test_who_read_my_data_is_empty_until_someone_reads_it(world) -> None:  # type: ignore[no-untyped-def]
    trust, flex, _ = world
    page = trust.client(flex).get("/me/reads", headers=HTML)
    assert "0 reads of your records" in page.text


def test_agreements_page_shows_what_i_share_and_what_is_shared_with_me() -> None:
    app = new_app()
    trust = Onboarding.of(app)
    fsp = trust.member("Example Flex Ltd", "SC123456")
    dso = trust.member("North DSO plc", "01234567", roles=["DistributionSystemOperator"])
    bystander = trust.member("Other Flex Ltd", "33333333")
    client = trust.client(fsp)
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
    assert made.status_code == 201
    uid = made.headers["location"].rsplit("/", 1)[-1]
    mine = client.get("/me/agreements", headers=HTML).text
    assert "1 agreement." in mine and uid in mine and "North DSO plc" in mine
    theirs = trust.client(dso).get("/me/agreements", headers=HTML).text
    assert "1 agreement in force" in theirs and "Example Flex Ltd" in theirs
    nobody = trust.client(bystander).get("/me/agreements", headers=HTML).text
    assert uid not in nobody and "0 agreements." in nobody and "0 agreements in force" in nobody
