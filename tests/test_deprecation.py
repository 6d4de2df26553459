"""Deprecated terms and rules: a warning until the sunset date, a refusal from it, over HTTP,
in ``/validate`` and in ``fdi validate`` offline; the day comes from an injectable clock."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from registry.base.resources import shapes_dir
from registry.shacl.validation import load_shapes
from tests.conftest import EXAMPLES, new_app

SUNSET = dt.date(2027, 1, 1)
BEFORE, ON = SUNSET - dt.timedelta(days=1), SUNSET
# A rules version that deprecates a term (fdi:serialNumber) and a rule (the postcode rule).
DEPRECATIONS = """
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix fdish: <https://w3id.org/fdi/shapes#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

fdi:serialNumber owl:deprecated true ;
    dcterms:isReplacedBy fdi:deviceIdentifier ;
    fdi:sunset "2027-01-01"^^xsd:date .

fdish:Asset-postcode owl:deprecated true ;
    dcterms:isReplacedBy fdish:Asset-location ;
    fdi:sunset "2027-01-01"^^xsd:date .
"""
ASSET = (EXAMPLES / "asset.ttl").read_text()  # it gives an fdi:serialNumber
WITHOUT_SERIAL = ASSET.replace(' ;\n    fdi:serialNumber "TG1234567890" .', " .")
BAD_POSTCODE = WITHOUT_SERIAL.replace('"CF10 1EP"', '"NOT A POSTCODE"')


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("rules")
    for path in shapes_dir().glob("*.ttl"):
        shutil.copy(path, directory / path.name)
    (directory / "deprecations.ttl").write_text(DEPRECATIONS)
    return directory


def client_on(rules: Path, day: dt.date) -> TestClient:
    app = new_app(fsp=True)
    app.state.registry.shapes = load_shapes(rules)
    app.state.registry.clock = lambda: dt.datetime.combine(day, dt.time(12), dt.UTC)
    return TestClient(app)


def submit(client: TestClient, turtle: str):
    headers = {"Content-Type": "text/turtle"}
    return client.post("/submissions", content=turtle.encode(), headers=headers)


def deprecation_warnings(findings: list[dict]) -> list[dict]:
    return [f for f in findings if "deprecated" in f["message"]]


def test_a_deprecated_term_is_accepted_with_a_warning_before_its_sunset(rules):
    with client_on(rules, BEFORE) as client:
        response = submit(client, ASSET)
    assert response.status_code == 201, response.text
    [warning] = deprecation_warnings(response.json()["warnings"])
    assert warning["severity"] == "Warning"
    assert warning["path"] == "https://w3id.org/fdi/ns#serialNumber"
    assert "fdi:deviceIdentifier" in warning["message"]
    assert "2027-01-01" in warning["message"]


def test_a_deprecated_term_is_refused_from_its_sunset_and_nothing_is_stored(rules):
    with client_on(rules, ON) as client:
        response = submit(client, ASSET)
        assert client.app.state.registry.counts()["asset"] == 0
    assert response.status_code == 422
    findings = response.json()["report"]["findings"]
    [refusal] = deprecation_warnings(findings)
    assert refusal["severity"] == "Violation"
    assert "refused since 2027-01-01" in refusal["message"]


def test_a_deprecated_rule_only_warns_before_its_sunset(rules):
    with client_on(rules, BEFORE) as client:
        response = submit(client, BAD_POSTCODE)
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]
    assert warning["shape"] == "https://w3id.org/fdi/shapes#Asset-postcode"
    assert warning["severity"] == "Warning"
    assert "fdish:Asset-location" in warning["message"]


def test_a_deprecated_rule_refuses_from_its_sunset_and_nothing_is_stored(rules):
    with client_on(rules, ON) as client:
        response = submit(client, BAD_POSTCODE)
        assert client.app.state.registry.counts()["asset"] == 0
    assert response.status_code == 422
    [finding] = response.json()["report"]["findings"]
    assert (finding["severity"], finding["field"]) == ("Violation", "postcode")


def test_the_validate_endpoint_judges_on_the_registrys_day(rules):
    verdicts = {}
    for day in (BEFORE, ON):
        with client_on(rules, day) as client:
            headers = {"Content-Type": "text/turtle"}
            verdicts[day] = client.post("/validate", content=ASSET.encode(), headers=headers).json()
    assert (verdicts[BEFORE]["conforms"], verdicts[BEFORE]["warnings"]) == (True, 1)
    assert (verdicts[ON]["conforms"], verdicts[ON]["violations"]) == (False, 1)


def test_the_packaged_rules_deprecate_nothing_a_valid_asset_uses():
    app = new_app(fsp=True)
    with TestClient(app) as client:
        response = submit(client, ASSET)
    assert response.status_code == 201
    assert response.json()["warnings"] == []


def fdi_validate(rules: Path, day: dt.date, path: Path) -> subprocess.CompletedProcess:
    fdi = Path(sys.executable).with_name("fdi")
    command = [str(fdi), "validate", "--shapes", str(rules), "--on", day.isoformat()]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [*command, "--format", "json", str(path)], capture_output=True, text=True, env=env
    )


def test_fdi_validate_offline_warns_before_the_sunset(rules, tmp_path):
    asset = tmp_path / "asset.ttl"
    asset.write_text(ASSET)
    result = fdi_validate(rules, BEFORE, asset)
    assert result.returncode == 0, result.stdout + result.stderr
    [report] = json.loads(result.stdout)["files"]
    assert [f["severity"] for f in deprecation_warnings(report["findings"])] == ["Warning"]


def test_fdi_validate_offline_fails_from_the_sunset(rules, tmp_path):
    asset = tmp_path / "asset.ttl"
    with_serial = '"NOT A POSTCODE" ;\n    fdi:serialNumber "X1" ;'
    asset.write_text(BAD_POSTCODE.replace('"NOT A POSTCODE" ;', with_serial))
    result = fdi_validate(rules, ON, asset)
    assert result.returncode == 1
    [report] = json.loads(result.stdout)["files"]
    assert sorted(f["constraint"] for f in report["findings"]) == [
        "DeprecatedTermConstraint",
        "PatternConstraintComponent",
    ]
