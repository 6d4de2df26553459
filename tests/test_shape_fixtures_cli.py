"""Every fixture of every shapes folder, through ``fdi validate`` with exactly its own shapes.

The bundled shapes' fixtures (``tests/fixtures/shapes/{valid,invalid}``) go with ``shapes/``; a
market's (``tests/fixtures/shapes/market/{valid,invalid}/<market>-*.ttl``) with
``shapes/market/<market>.ttl``. A valid fixture gives no finding at all and exit status 0; an
invalid one gives exactly its ``# expect:`` results (exit status 1), except those of the rules
that need the registry's records, which ``fdi validate`` lists as not checked and the registry's
own check (every rule on) gives.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Graph

from api.cli import main
from registry.formats import read_file
from registry.records import local_id
from registry.validation import check, load_shapes
from tests.test_shapes import expected_results

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"


def shapes_for(fixture: Path) -> Path:
    if "market" in fixture.relative_to(FIXTURES).parts:
        return ROOT / "shapes" / "market" / f"{fixture.stem.split('-', 1)[0]}.ttl"
    return ROOT / "shapes"


def fixtures(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.ttl")) + sorted(
        (FIXTURES / "market" / kind).glob("*.ttl")
    )


VALID, INVALID = fixtures("valid"), fixtures("invalid")
Row = tuple[str, str | None, str, str, str]


def fdi_validate(fixture: Path, shapes: Path | None = None) -> tuple[int, dict]:
    shapes = shapes or shapes_for(fixture)
    result = CliRunner().invoke(
        main, ["validate", "--format", "json", "--shapes", str(shapes), str(fixture)]
    )
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def found(findings: list[dict]) -> Counter[Row]:
    return Counter(
        (f["focus"], f["path"], f["constraint"], f["shape"], f["severity"]) for f in findings
    )


def declared(fixture: Path) -> Counter[Row]:
    """The fixture's ``# expect:`` lines as findings name them (paths: single predicates only)."""
    out: Counter[Row] = Counter()
    for focus, path, component, shape, severity in expected_results(
        fixture, Graph().parse(fixture)
    ):
        single = path if path and path.count("<") == 1 else None
        out[
            (
                local_id(ox.NamedNode(str(focus))),
                single[1:-1] if single else None,
                component,
                local_id(ox.NamedNode(str(shape))),
                severity,
            )
        ] += 1
    return out


# Fixtures of records the registry makes itself (memberships, their acceptances, users,
# certificates) or whose parts ``fdi validate`` does not link into a record (a catalogue's
# datasets and services): ``fdi validate`` takes submissions, and reports these nodes as "not
# part of any record" (RecordTypeConstraint) besides the shapes' exact results.
NOT_SUBMISSIONS = ("acceptance-", "certificate-", "member-", "membership-", "user-")
# Fixtures that break a rule as written but that the registry's normalisation (normalise.py)
# repairs before the shapes run: an MPAN core given as a number, or written with spaces.
REPAIRED = {"asset-mpanCore-datatype", "asset-exportMpanCore-format"}


def shape_findings(fixture: Path, findings: list[dict]) -> Counter[Row]:
    records = [f for f in findings if f["constraint"] == "RecordTypeConstraint"]
    assert not records or fixture.name.startswith(NOT_SUBMISSIONS), records
    return found([f for f in findings if f["constraint"] != "RecordTypeConstraint"])


def test_every_shapes_folder_has_valid_and_invalid_fixtures() -> None:
    for folder in [ROOT / "shapes", *sorted((ROOT / "shapes" / "market").glob("*.ttl"))]:
        assert any(shapes_for(f) == folder for f in VALID), folder
        assert any(shapes_for(f) == folder for f in INVALID), folder


@pytest.mark.parametrize("fixture", VALID, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_valid_fixture_passes_fdi_validate_with_its_shapes(fixture: Path) -> None:
    status, report = fdi_validate(fixture)
    assert shape_findings(fixture, report["files"][0]["findings"]) == Counter()
    if not fixture.name.startswith(NOT_SUBMISSIONS):
        assert status == 0


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_invalid_fixture_fails_fdi_validate_with_its_expected_results(fixture: Path) -> None:
    expected = declared(fixture)
    assert expected, f"{fixture.name} declares no '# expect:' line"
    status, report = fdi_validate(fixture)
    if fixture.stem in REPAIRED:
        assert (status, report["files"][0]["findings"]) == (0, [])
        return
    not_checked = {local_id(ox.NamedNode(r["shape"])) for r in report["notChecked"]}
    offline = Counter({row: n for row, n in expected.items() if row[3] not in not_checked})
    assert shape_findings(fixture, report["files"][0]["findings"]) == offline
    if any(row[4] == "Violation" for row in offline):
        assert status == 1
    if fixture.name.startswith(NOT_SUBMISSIONS):
        return  # the registry judges only submitted records: these are none
    # The registry runs every rule: there the registry-only rules give their results too.
    shapes = load_shapes(shapes_for(fixture))
    inside, _, _ = check(read_file(fixture), shapes, related=lambda triples: [])
    assert shape_findings(fixture, [f.as_dict() for f in inside.findings]) == expected


def test_a_london_asset_is_inside_ukpn_areas_and_a_scottish_one_is_not(tmp_path: Path) -> None:
    # Regression: "_C" in sh:in did not match the data's "_C" (an xsd:string in Oxigraph), so
    # the valid UKPN fixture was reported as outside UK Power Networks' licence areas.
    london = FIXTURES / "market" / "valid" / "ukpn-asset.ttl"
    scotland = tmp_path / "ukpn-asset-scotland.ttl"
    scotland.write_text(london.read_text().replace('"_C"', '"_P"'))
    status, report = fdi_validate(london)
    assert (status, report["files"][0]["findings"]) == (0, [])
    status, report = fdi_validate(scotland, shapes_for(london))
    assert status == 1
    assert [(f["shape"], f["value"]) for f in report["files"][0]["findings"]] == [
        ("https://w3id.org/fdi/shapes#UkpnAsset-gspGroup", "_P")
    ]


def test_a_missing_shapes_path_exits_2_instead_of_checking_nothing(tmp_path: Path) -> None:
    # An empty set of shapes would let every file "conform".
    result = CliRunner().invoke(
        main,
        ["validate", "--shapes", str(tmp_path / "nowhere"), str(INVALID[0])],
    )
    assert result.exit_code == 2 and "does not exist" in result.output
