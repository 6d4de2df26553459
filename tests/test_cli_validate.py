"""``fdi validate``: offline verdicts with documented exit codes."""

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from tests.conftest import EXAMPLES


def run(*args: str):
    return CliRunner().invoke(main, ["validate", *args])


def test_the_examples_conform():
    result = run(
        str(EXAMPLES / "asset.ttl"), str(EXAMPLES / "asset.json"), str(EXAMPLES / "assets.csv")
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("conforms") == 3


def test_a_wrong_mpan_check_digit_exits_1_and_names_the_mpan(tmp_path):
    bad = tmp_path / "asset.ttl"
    bad.write_text((EXAMPLES / "asset.ttl").read_text().replace("2143967712809", "2143967712808"))
    result = run(str(bad))
    assert result.exit_code == 1
    assert "2143967712808" in result.output
    assert "check digit" in result.output
    assert "battery-cardiff-1" in result.output


def test_json_report_names_record_field_and_value(tmp_path):
    bad = tmp_path / "assets.csv"
    bad.write_text((EXAMPLES / "assets.csv").read_text().replace("1212345678902", "1212345678901"))
    result = run("--format", "json", str(bad))
    assert result.exit_code == 1
    report = json.loads(result.output)
    [finding] = report["files"][0]["findings"]
    assert finding["record"] == "row 3 (id battery-london-2)"
    assert finding["field"] == "mpan"
    assert finding["value"] == "1212345678901"


def test_a_turtle_syntax_error_exits_2_and_names_the_line(tmp_path):
    bad = tmp_path / "broken.ttl"
    bad.write_text(
        "@prefix fdi: <https://w3id.org/fdi/ns#> .\n<#a> a fdi:FlexibleAsset ;\n"
        '  fdi:gspGroup "_A" \n<#b> a fdi:FlexibleAsset .\n'
    )
    result = run(str(bad))
    assert result.exit_code == 2
    assert "line 4" in result.output


def test_an_unreadable_file_exits_2(tmp_path):
    result = run(str(tmp_path / "missing.ttl"))
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_rdf_xml_exits_2(tmp_path):
    path = tmp_path / "asset.rdf"
    path.write_text("<rdf:RDF/>")
    result = run(str(path))
    assert result.exit_code == 2
    assert "RDF/XML" in result.output


def test_registry_only_rules_are_listed_as_not_checked():
    result = run("--format", "json", str(EXAMPLES / "asset.ttl"))
    names = [rule["name"] for rule in json.loads(result.output)["notChecked"]]
    assert names, "the registry-only rules should be listed"


def test_custom_shapes_directory(tmp_path):
    (tmp_path / "strict.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix fdi: <https://w3id.org/fdi/ns#> .\n"
        "<urn:s> a sh:NodeShape ; sh:targetClass fdi:FlexibleAsset ;\n"
        ' sh:name "needs a manufacturer" ;\n'
        " sh:property [ sh:path <https://saref.etsi.org/core/hasManufacturer> ; sh:minCount 1 ;\n"
        ' sh:name "manufacturer" ; sh:message "Name the manufacturer" ] .\n'
    )
    result = run(
        "--shapes", str(tmp_path), str(EXAMPLES / "asset.json"), str(EXAMPLES / "assets.csv")
    )
    assert result.exit_code == 1
    assert "Name the manufacturer" in result.output
    assert "solar-planned-4" in result.output


def test_the_installed_fdi_command_runs():
    """The ``fdi`` script the install put beside the interpreter running the tests."""
    fdi = Path(sys.executable).parent / "fdi"
    done = subprocess.run(
        [str(fdi), "validate", str(EXAMPLES / "asset.ttl")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
