"""The demo generator: deterministic, domain-valid data that the registry accepts."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest

from registry.assembly import Registry
from registry.base.errors import UnsupportedFormat
from registry.base.resources import shapes_dir, ttl_files
from registry.base.settings import Settings
from registry.base.vocab import FDI, STORAGE_TECHNOLOGIES, TECHNOLOGIES
from registry.operations.demo import generate, local_iri
from registry.operations.demo_data import LICENCE_AREAS
from registry.operations.demo_files import load_demo, write_demo
from registry.operations.demo_identifiers import is_valid_lei, mpan_check_digit
from registry.submissions.csvformat import HEADER, asset_triples
from registry.submissions.formats import Parsed, read_file
from registry.submissions.normalise import normalise_postcode

# The pattern of DOMAIN.md, as the shapes use it.
POSTCODE = re.compile(
    r"^(GIR 0AA|((([A-PR-UWYZ][0-9][0-9]?)|([A-PR-UWYZ][A-HK-Y][0-9][0-9]?)"
    r"|([A-PR-UWYZ][0-9][A-HJKSTUW])|([A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]))"
    r" [0-9][ABD-HJLNP-UW-Z]{2}))$"
)
COMPANY_NUMBER = re.compile(r"^([0-9]{8}|[A-Z][A-Z0-9][0-9]{6})$")
GSP_OF_DISTRIBUTOR = {d: area.gsp_group for d, area in LICENCE_AREAS.items()}
needs_shapes = pytest.mark.skipif(not ttl_files(shapes_dir()), reason="shapes/ has no rules yet")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return list(generate(assets=2000, seed=1).asset_rows)


def mpans(rows: list[dict[str, str]]) -> list[str]:
    return [r[c] for r in rows for c in ("mpan", "export_mpan") if r[c]]


def test_the_same_seed_gives_the_same_demo() -> None:
    first, second = generate(assets=300, seed=5), generate(assets=300, seed=5)
    assert first.organisations == second.organisations
    assert list(first.asset_rows) == list(second.asset_rows)
    assert list(first.rights()) == list(second.rights())


def test_another_seed_gives_another_demo() -> None:
    assert list(generate(50, seed=1).asset_rows) != list(generate(50, seed=2).asset_rows)


def test_asset_n_does_not_depend_on_how_many_assets_are_asked_for() -> None:
    assert list(generate(100, seed=3).asset_rows) == list(generate(400, seed=3).asset_rows)[:100]


def test_rows_have_exactly_the_csv_columns(rows: list[dict[str, str]]) -> None:
    assert all(list(row) == HEADER for row in rows)


@pytest.mark.parametrize(
    "core", ["2143967712809", "1012345678903", "1212345678902", "1712345678905", "2312345678900"]
)
def test_mpan_check_digit_agrees_with_the_domain_examples(core: str) -> None:
    assert mpan_check_digit(core[:12]) == int(core[12])


def test_every_mpan_is_13_digits_with_a_valid_check_digit(rows: list[dict[str, str]]) -> None:
    for core in mpans(rows):
        assert re.fullmatch(r"[0-9]{13}", core), core
        assert mpan_check_digit(core[:12]) == int(core[12]), core


def test_mpans_are_unique_across_import_and_export(rows: list[dict[str, str]]) -> None:
    cores = mpans(rows)
    assert len(cores) == len(set(cores))


def test_serial_numbers_are_unique(rows: list[dict[str, str]]) -> None:
    serials = [r["serial_number"] for r in rows]
    assert len(serials) == len(set(serials))


def test_every_licence_area_appears(rows: list[dict[str, str]]) -> None:
    distributors = {int(core[:2]) for core in mpans(rows[:1000])}
    assert set(range(10, 24)) <= distributors
    assert distributors - set(range(10, 24)) <= {24, 25, 26, 27}


def test_gsp_group_matches_the_distributor_id(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert re.fullmatch(r"_[A-HJ-NP]", row["gsp_group"])
        for core in filter(None, (row["mpan"], row["export_mpan"])):
            distributor = int(core[:2])
            if distributor <= 23:
                assert row["gsp_group"] == GSP_OF_DISTRIBUTOR[distributor], row["id"]


def test_some_assets_are_on_independent_networks(rows: list[dict[str, str]]) -> None:
    assert any(int(core[:2]) >= 24 for core in mpans(rows))


def test_postcodes_are_normalised_and_match_the_domain_pattern(rows: list[dict[str, str]]) -> None:
    postcodes = [r["postcode"] for r in rows if r["postcode"]]
    assert postcodes
    for postcode in postcodes:
        assert POSTCODE.match(postcode), postcode
        assert normalise_postcode(postcode) == postcode


def test_every_storage_asset_has_an_energy_capacity(rows: list[dict[str, str]]) -> None:
    storage = [r for r in rows if r["technology"] in STORAGE_TECHNOLOGIES]
    assert storage
    assert all(float(r["energy_kwh"]) > 0 for r in storage)


def test_every_asset_has_a_positive_import_or_export_capacity(rows: list[dict[str, str]]) -> None:
    for row in rows:
        ratings = [float(row[c]) for c in ("import_kw", "export_kw") if row[c]]
        assert ratings and all(r > 0 for r in ratings), row["id"]


def test_the_technology_mix_covers_every_technology(rows: list[dict[str, str]]) -> None:
    mix = Counter(r["technology"] for r in rows)
    assert set(mix) == set(TECHNOLOGIES)
    assert mix["EVCharger"] > mix["SolarPV"] > mix["WindTurbine"]


def test_lifecycle_fields_follow_the_status(rows: list[dict[str, str]]) -> None:
    statuses = Counter(r["status"] for r in rows)
    assert statuses["Commissioned"] > statuses["Planned"] > statuses["Decommissioned"] > 0
    for row in rows:
        if row["status"] == "Planned":
            assert row["planned_commissioning_date"] and not row["commissioning_date"]
            continue
        assert row["mpan"] and row["postcode"] and row["commissioning_date"]
        if row["status"] == "Decommissioned":
            assert row["decommissioning_date"] > row["commissioning_date"]


def test_one_right_to_operate_per_commissioned_asset() -> None:
    demo = generate(assets=1000, seed=2)
    commissioned = {r["id"] for r in demo.asset_rows if r["status"] == "Commissioned"}
    rights = list(demo.rights())
    assert [r.asset for r in rights] == sorted(commissioned)


def test_rights_run_forwards_from_commissioning_and_name_an_fsp() -> None:
    demo = generate(assets=1000, seed=2)
    fsps = {o.id for o in demo.fsps}
    pairs = [(row, right) for row, right in demo.assets_with_rights() if right is not None]
    for row, right in pairs:
        assert right.operator in fsps
        assert right.valid_from >= row["commissioning_date"]
        assert not right.valid_to or right.valid_to > right.valid_from
        assert right.asset_owner and right.consent_evidence
    assert any(right.valid_to for _, right in pairs)
    assert any(not right.valid_to for _, right in pairs)


def test_organisations_include_the_market_operators_and_36_fsps() -> None:
    orgs = generate(assets=0).organisations
    roles = Counter(role for o in orgs for role in o.roles)
    assert roles["FlexibilityServiceProvider"] == 36
    assert roles["DistributionSystemOperator"] == 6
    assert roles["TransmissionSystemOperator"] == 1
    assert roles["MarketOperator"] >= 2  # NESO and the independent platforms
    assert len({o.id for o in orgs}) == len({o.legal_name for o in orgs}) == len(orgs)


def test_organisation_identifiers_are_well_formed() -> None:
    orgs = generate(assets=0).organisations
    numbers = [o.company_number for o in orgs]
    assert all(COMPANY_NUMBER.match(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    leis = [o.lei for o in orgs if o.lei]
    assert len(leis) >= 9
    assert all(len(lei) == 20 and is_valid_lei(lei) for lei in leis)
    assert all(o.email.startswith("mailto:") and o.homepage.startswith("https://") for o in orgs)


def test_lei_check_rejects_a_changed_character() -> None:
    assert is_valid_lei("5493001KJTIIGC8Y1R12")
    assert not is_valid_lei("5493001KJTIIGC8Y1R13")


@pytest.mark.parametrize("suffix", [".nt", ".ttl"])
def test_rdf_files_read_back_as_the_generated_triples(tmp_path: Path, suffix: str) -> None:
    demo = generate(assets=40, seed=4)
    counts = write_demo(tmp_path / f"demo{suffix}", assets=40, seed=4)
    expected = {t for o in demo.organisations for t in o.triples()}
    for row, right in demo.assets_with_rights():
        expected.update(asset_triples(local_iri(row["id"]), row))
        expected.update(right.triples() if right else ())
    assert set(read_file(tmp_path / f"demo{suffix}").triples) == expected
    assert counts == {"org": 45, "asset": 40, "right-to-operate": len(list(demo.rights()))}


def test_csv_file_reads_back_as_the_asset_triples(tmp_path: Path) -> None:
    assert write_demo(tmp_path / "demo.csv", assets=40, seed=4) == {"asset": 40}
    rows = generate(assets=40, seed=4).asset_rows
    expected = {t for row in rows for t in asset_triples(local_iri(row["id"]), row)}
    assert set(read_file(tmp_path / "demo.csv").triples) == expected


def test_write_demo_refuses_other_formats(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat):
        write_demo(tmp_path / "demo.rdf", assets=1)


@needs_shapes
def test_a_small_demo_loads_into_an_in_memory_registry() -> None:
    registry = Registry(Settings(data_dir=None))
    try:
        counts = load_demo(registry, assets=200, seed=1, batch=100)
        commissioned = sum(r["status"] == "Commissioned" for r in generate(200, 1).asset_rows)
        assert counts == {"org": 45, "asset": 200, "right-to-operate": commissioned}
        assert {k: v for k, v in registry.counts().items() if v} == counts
        operators = registry.index.store.quads_for_pattern(None, FDI.operator, None, None)
        orgs = registry.settings.base_iri + "id/org/"
        assert all(q.object.value.startswith(orgs) for q in operators)
    finally:
        registry.close()


def test_dates_are_iso_dates(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column in ("commissioning_date", "decommissioning_date", "planned_commissioning_date"):
            if row[column]:
                dt.date.fromisoformat(row[column])


def test_a_demo_sample_passes_every_rule_including_the_registry_ones():
    """load_demo skips the shapes for speed, so the generator's output is checked here."""
    from registry.operations.demo import local_iri
    from registry.operations.demo_files import resolve_references
    from registry.submissions.csvformat import asset_triples

    registry = Registry(Settings(data_dir=None))
    demo = generate(assets=120, seed=5)
    minted: dict[str, str] = {}

    def register(triples):
        minted.update(registry.register(Parsed("demo", "turtle", triples), actor="test").ids)

    register([t for o in demo.organisations for t in o.triples()])
    rows = list(demo.asset_rows)
    register([t for row in rows for t in asset_triples(local_iri(row["id"]), row)])
    register(resolve_references([t for r in demo.rights() for t in r.triples()], minted))
    counts = registry.counts()
    assert counts["asset"] == 120
    assert counts["right-to-operate"] == sum(1 for r in rows if r["status"] == "Commissioned")
