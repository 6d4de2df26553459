"""Issue 17's proposal flow end to end over real TLS: a standards body proposes a new asset
technology and a new property batteries must give; the impact report counts each FSP's
records that would fail and each FSP is told its count; a member comments; the scheme operator
adopts with an effective date; before it the old rules apply, from it the new ones (the
registry's clock is moved, never slept on); both versions are served and ``fdi validate
--rules`` gives each one's verdict. Members who may not propose or adopt change nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import httpx

from registry.operations.demo_identifiers import mpan_core
from tests.conftest import EXAMPLES
from tests.proposal_documents import proposal
from tests.servers import wait_until
from tests.tls_world import Running, onboard_over_tls, operator_client

TURTLE = {"Content-Type": "text/turtle"}
FDI_BIN = Path(sys.executable).with_name("fdi")


def asset(n: int, technology: str = "BatteryStorage", chemistry: str | None = None) -> str:
    text = (EXAMPLES / "asset.ttl").read_text()
    text = text.replace("2143967712809", mpan_core(21, 5000 + n))
    text = text.replace("TG1234567890", f"TG-{n}").replace("BatteryStorage", technology)
    if chemistry:
        text = text.replace(
            'fdi:serialNumber "', f'fdi:batteryChemistry "{chemistry}" ;\n    fdi:serialNumber "'
        )
    return text


def register(client: httpx.Client, body: str) -> httpx.Response:
    return client.post("/assets", content=body, headers=TURTLE)


def inbox(client: httpx.Client, org: str) -> list[str]:
    items = client.get("/id/org/" + org.rsplit("/", 1)[-1] + "/inbox")
    assert items.status_code == 200, items.text
    return [str(n.get("summary")) for n in items.json()["contains"]]


def finished_impact(client: httpx.Client, at: str) -> dict:  # type: ignore[type-arg]
    def finished() -> dict | None:  # type: ignore[type-arg]
        report = client.get(at + "/impact").json()
        return report if report["status"] != "running" else None

    return wait_until(finished, 120, "the impact report", interval=0.1)  # type: ignore[no-any-return]


def validate(path: Path, *options: str) -> int:
    done = subprocess.run([str(FDI_BIN), "validate", *options, str(path)], capture_output=True)
    return done.returncode


def test_a_standards_body_proposal_goes_from_impact_to_rules_in_force(
    server: Running, tmp_path: Path
) -> None:
    so = operator_client(server)
    registry = server.app.state.registry  # type: ignore[attr-defined]
    body, _, standards = onboard_over_tls(
        server, so, "Flex Standards Ltd", "SC300001", "-sb", role="StandardsBody"
    )
    fsp_a, _, a = onboard_over_tls(server, so, "Alpha Flex Ltd", "SC300002", "-a")
    fsp_b, _, b = onboard_over_tls(server, so, "Beta Flex Ltd", "SC300003", "-b")
    for n, client in ((1, a), (2, a), (3, b)):
        assert register(client, asset(n)).status_code == 201
    assert register(a, asset(4, "FlywheelStorage")).status_code == 422  # not a technology yet

    # A provider may not propose rules; nothing is stored.
    assert a.post("/proposals", json=proposal()).status_code == 403
    assert so.get("/proposals").json() == []

    made = standards.post("/proposals", json=proposal())
    assert made.status_code == 201, made.text
    at = "/proposals/" + made.json()["id"].rsplit("/", 1)[-1]

    report = finished_impact(standards, at)
    assert report["status"] == "finished", report
    assert report["byOrganisation"] == {fsp_a: 2, fsp_b: 1}
    assert report["byRule"] == {"battery chemistry required": 3}
    mine = a.get(at + "/impact").json()
    assert mine["yours"]["records"] == 2 and "byOrganisation" not in mine
    owners = {registry.info(s["record"]).owner for s in mine["yours"]["samples"]}
    assert owners == {fsp_a}  # its own records only
    assert b.get(at + "/impact").json()["yours"]["records"] == 1
    assert any("refuse 2 of your registered records" in s for s in inbox(a, fsp_a))
    assert any("refuse 1 of your registered records" in s for s in inbox(b, fsp_b))
    assert a.get(at).json()["status"] == "consultation"

    said = b.post(at + "/inbox", json={"type": "Note", "content": "Chemistry is on the label."})
    assert said.status_code == 201, said.text
    assert [c["content"] for c in standards.get(at + "/inbox").json()["orderedItems"]] == [
        "Chemistry is on the label."
    ]
    assert any("A comment on proposal" in s for s in inbox(standards, body))

    now = dt.datetime.now(dt.UTC)
    registry.clock = lambda: now
    effective = now + dt.timedelta(days=30)
    assert a.post(at + "/adoption", json={"effective": effective.isoformat()}).status_code == 403
    assert a.get(at).json()["status"] == "consultation"
    adopted = so.post(at + "/adoption", json={"effective": effective.isoformat()})
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["status"] == "adopted"

    # Before the effective date the rules in force are still 0.1.0.
    before = register(a, asset(5))
    assert before.status_code == 201, before.text
    assert register(a, asset(6, "FlywheelStorage")).status_code == 422
    record = a.get(before.json()["ids"]["battery-cardiff-1"])
    assert '<https://w3id.org/fdi/shapes/0.1.0>; rel="http://purl.org/dc/terms/conformsTo"' in (
        record.headers.get_list("link")
    )

    # From it, 0.2.0: a battery without its chemistry is refused, a flywheel is welcome.
    registry.clock = lambda: effective + dt.timedelta(seconds=1)
    refused = register(a, asset(7))
    assert refused.status_code == 422
    assert "chemistry" in refused.text
    assert register(a, asset(8, "FlywheelStorage")).status_code == 201
    after = register(a, asset(9, chemistry="LFP"))
    assert after.status_code == 201, after.text
    record = a.get(after.json()["ids"]["battery-cardiff-1"])
    assert '<https://w3id.org/fdi/shapes/0.2.0>; rel="http://purl.org/dc/terms/conformsTo"' in (
        record.headers.get_list("link")
    )
    assert [(v["version"], v["status"]) for v in so.get("/rules").json()] == [
        ("0.1.0", "superseded"),
        ("0.2.0", "in force"),
    ]

    # Both versions are served, and fdi validate checks against either, offline.
    old, new = server.client().get("/rules/0.1.0"), server.client().get("/rules/0.2.0")
    assert old.status_code == new.status_code == 200
    assert "batteryChemistry" in new.text and "batteryChemistry" not in old.text
    # ... at their version IRIs too (/shapes/0.2.0 for https://w3id.org/fdi/shapes/0.2.0), the
    # vocabulary's /ns/0.2.0 with the new technology; /shapes is the version in force.
    turtle = {"Accept": "text/turtle"}
    for path, new_term in (
        ("/shapes/{v}", "batteryChemistry"),
        ("/shapes/{v}/asset", "batteryChemistry"),
        ("/ns/{v}", "FlywheelStorage"),
    ):
        was = server.client().get(path.format(v="0.1.0"), headers=turtle)
        now = server.client().get(path.format(v="0.2.0"), headers=turtle)
        assert was.status_code == now.status_code == 200, path
        assert new_term in now.text and new_term not in was.text, path
    assert "batteryChemistry" in server.client().get("/shapes", headers=turtle).text
    changes = server.client().get("/ns/diff?from=0.1.0&to=0.2.0", headers=turtle)
    assert changes.status_code == 200 and "FlywheelStorage" in changes.text
    (tmp_path / "battery.ttl").write_text(asset(10))
    (tmp_path / "rules-0.2.0.ttl").write_text(new.text)
    remote = ("--registry", server.base, "--cacert", str(server.ca_file))
    assert validate(tmp_path / "battery.ttl", "--rules", "0.1.0") == 0
    assert validate(tmp_path / "battery.ttl", "--rules", "0.1.0", *remote) == 0
    assert validate(tmp_path / "battery.ttl", "--rules", "0.2.0", *remote) == 1
    assert validate(tmp_path / "battery.ttl", "--rules", "current", *remote) == 1
    assert validate(tmp_path / "battery.ttl", "--rules", str(tmp_path / "rules-0.2.0.ttl")) == 1
