"""Every fixture of every shapes folder, through ``fdi validate`` with exactly its own shapes.

The bundled shapes' fixtures (``tests/fixtures/shapes/{valid,invalid}``) go with ``shapes/``; a
market's (``tests/fixtures/shapes/market/{valid,invalid}/<market>-*.ttl``) with
``shapes/market/<market>.ttl``. A valid fixture gives no finding at all and exit status 0; an
invalid one gives exactly its ``# expect:`` results (exit status 1), except those of the rules
that need the registry's records, which ``fdi validate`` lists as not checked and the registry's
own check (every rule on) gives. Records the registry makes itself (memberships, users,
certificates) are checked too and noted as such; the registry refuses them in a submission. A
fixture in ``respelled/`` breaks a rule as written, but the registry stores it respelled (an MPAN
core as text, without spaces): ``fdi validate`` accepts it and says how it is stored.
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
from registry.shacl.validation import check, load_shapes
from registry.submissions.formats import read_file
from registry.submissions.records import local_id
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


# Fixtures of records the registry makes itself: ``fdi validate`` checks them and notes that
# the registry refuses them in a submission; the registry reports their nodes as strays.
MADE_BY_REGISTRY = {"certificate": "certificate", "membership": "membership", "user": "user"}
MADE_BY_REGISTRY |= {"acceptance": "membership"}  # an acceptance is part of a membership


def made_by_registry(fixture: Path) -> str | None:
    return MADE_BY_REGISTRY.get(fixture.stem.split("-", 1)[0])


def test_every_shapes_folder_has_valid_and_invalid_fixtures() -> None:
    for folder in [ROOT / "shapes", *sorted((ROOT / "shapes" / "market").glob("*.ttl"))]:
        assert any(shapes_for(f) == folder for f in VALID), folder
        assert any(shapes_for(f) == folder for f in INVALID), folder


@pytest.mark.parametrize("fixture", VALID, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_valid_fixture_passes_fdi_validate_with_its_shapes(fixture: Path) -> None:
    status, report = fdi_validate(fixture)
    assert (status, report["files"][0]["findings"]) == (0, [])
    made = {m["type"] for m in report["files"][0]["madeByRegistry"]}
    assert made == ({made_by_registry(fixture)} if made_by_registry(fixture) else set())


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_invalid_fixture_fails_fdi_validate_with_its_expected_results(fixture: Path) -> None:
    expected = declared(fixture)
    assert expected, f"{fixture.name} declares no '# expect:' line"
    status, report = fdi_validate(fixture)
    not_checked = {local_id(ox.NamedNode(r["shape"])) for r in report["notChecked"]}
    offline = Counter({row: n for row, n in expected.items() if row[3] not in not_checked})
    assert found(report["files"][0]["findings"]) == offline
    assert status == (1 if any(row[4] == "Violation" for row in offline) else 0)
    # The registry runs every rule: there the registry-only rules give their results too.
    shapes = load_shapes(shapes_for(fixture))
    inside, _, _ = check(read_file(fixture), shapes, related=lambda triples: [])
    strays = [f for f in inside.findings if f.constraint == "RecordTypeConstraint"]
    if made_by_registry(fixture):  # refused as a submission: it holds no record to judge
        assert strays and not inside.conforms
        return
    assert found([f.as_dict() for f in inside.findings]) == expected


RESPELLED = sorted((FIXTURES / "respelled").glob("*.ttl"))


@pytest.mark.parametrize("fixture", RESPELLED, ids=lambda p: p.stem)
def test_a_respelled_value_conforms_and_fdi_validate_says_how_it_is_stored(
    fixture: Path,
) -> None:
    # The value breaks its rule as written (tests/test_shapes.py) but the registry stores it
    # respelled, which conforms: fdi validate gives the registry's verdict and says so.
    status, report = fdi_validate(fixture)
    assert (status, report["files"][0]["findings"]) == (0, [])
    (respelled,) = report["files"][0]["respelled"]
    assert respelled["record"] == "http://example.org/asset"
    assert respelled["given"] != respelled["stored"]
    assert respelled["stored"].isdigit() and len(respelled["stored"]) == 13


def test_the_registry_refuses_a_record_it_makes_itself_in_a_submission() -> None:
    # fdi validate checks a certificate against its shapes; a member cannot submit one.
    fixture = FIXTURES / "valid" / "certificate-active.ttl"
    inside, _, split = check(read_file(fixture), load_shapes(), related=lambda triples: [])
    assert split.records == [] and not inside.conforms
    assert {f.constraint for f in inside.findings} == {"RecordTypeConstraint"}


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
