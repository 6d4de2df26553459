"""Capacity statistics are kept by every write, derived from the journal, and rebuilt from it."""

from __future__ import annotations

from pathlib import Path

from registry.assembly import Registry
from registry.assets import capacity
from registry.base.settings import Settings
from registry.operations.demo import generate
from registry.operations.demo_files import load_demo


def aggregate_by_scan(registry: Registry) -> dict[tuple[str, str, str], tuple[int, float]]:
    """The same figures counted the slow way, over the index."""
    rows = registry.index.query(
        """PREFIX fdi: <https://w3id.org/fdi/ns#> PREFIX qudt: <http://qudt.org/schema/qudt/>
        PREFIX unit: <http://qudt.org/vocab/unit/>
        SELECT ?tech ?gsp ?status (COUNT(?a) AS ?n) (SUM(?kw) AS ?export) WHERE {
          ?a a fdi:FlexibleAsset ; fdi:technology ?tech ; fdi:gspGroup ?gsp ;
             fdi:lifecycleStatus ?status .
          OPTIONAL { ?a fdi:exportCapacity ?q . ?q qudt:numericValue ?v ; qudt:unit ?u }
          BIND(COALESCE(IF(?u = unit:MegaW, ?v * 1000, ?v), 0) AS ?kw)
        } GROUP BY ?tech ?gsp ?status""",
        [registry.public_graph],
    )
    return {
        (
            r["tech"].value.rsplit("/", 1)[-1],
            r["gsp"].value,
            r["status"].value.rsplit("#", 1)[-1],
        ): (int(r["n"].value), round(float(r["export"].value), 3))
        for r in rows
    }


def aggregate(registry: Registry) -> dict[tuple[str, str, str], tuple[int, float]]:
    return {
        (r["technology"], r["area"], r["status"]): (r["assets"], round(r["exportKW"], 3))
        for r in registry.capacity_statistics()
    }


def test_statistics_equal_a_count_over_the_index() -> None:
    registry = Registry(Settings(data_dir=None))
    load_demo(registry, assets=300)
    assert aggregate(registry) == aggregate_by_scan(registry)
    assert sum(n for n, _ in aggregate(registry).values()) == 300


def test_record_counts_come_from_the_register() -> None:
    registry = Registry(Settings(data_dir=None))
    counts = load_demo(registry, assets=40)
    assert {k: v for k, v in registry.counts().items() if v and k in counts} == counts


def test_statistics_are_rebuilt_from_the_journal(tmp_path: Path) -> None:
    registry = Registry(Settings(data_dir=tmp_path))
    load_demo(registry, assets=120)
    before = registry.capacity_statistics()
    db = registry.journal._db
    db.execute("DELETE FROM aggregate_state")
    db.execute("DELETE FROM capacity")
    registry.close()

    reopened = Registry(Settings(data_dir=tmp_path))
    assert reopened.capacity_statistics() == before


def test_a_new_version_moves_capacity_instead_of_adding_it() -> None:
    registry = Registry(Settings(data_dir=None))
    load_demo(registry, assets=20)
    total = sum(r["assets"] for r in registry.capacity_statistics())
    (iri,) = registry.journal.read(
        "SELECT iri FROM record WHERE type = ? LIMIT 1", (capacity.ASSET,)
    )[0]
    triples = registry.record(iri)
    with registry.transaction("test", "update") as tx:
        tx.put(triples[0].subject, capacity.FDI.FlexibleAsset, triples, status="registered")
    assert sum(r["assets"] for r in registry.capacity_statistics()) == total


def test_demo_technologies_are_all_counted() -> None:
    registry = Registry(Settings(data_dir=None))
    load_demo(registry, assets=200)
    demo = generate(200)
    expected = {row["technology"] for row in demo.asset_rows}
    assert {r["technology"] for r in registry.capacity_statistics()} == expected


def test_statistics_are_served_and_on_the_home_page() -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=None, disclosure_threshold=1)  # every cell, unmerged
    with TestClient(create_app(settings, demo_assets=50)) as client:
        body = client.get("/statistics").json()
        assert sum(row["assets"] for row in body["capacity"]) == body["records"]["asset"] == 50
        page = client.get("/", headers={"Accept": "text/html"}).text
        assert "Flexible assets by technology" in page
