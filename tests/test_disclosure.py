"""Statistics disclosure control: anonymous aggregates never publish a cell of fewer than the
threshold's assets, and never count an asset twice (so no cell can be found by subtraction)."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from registry.base.settings import Settings
from registry.publishing.disclosure import OTHER, protect
from tests.trust import Onboarding


def random_cells(seed: int) -> list[dict]:
    rng = random.Random(seed)
    cells = {}
    for _ in range(rng.randint(1, 60)):
        key = (rng.choice("ABCD"), rng.choice(["_A", "_B", "_C", "_D", "_E"]), rng.choice("PCD"))
        n = rng.choice([1, 1, 2, 3, 4, 5, 8, 20])
        cell = cells.setdefault(
            key, dict(zip(("technology", "area", "status"), key, strict=True), assets=0)
        )
        cell["assets"] += n
    for cell in cells.values():
        cell.update(importKW=cell["assets"] * 5.0, exportKW=cell["assets"] * 4.0, energyKWh=0.0)
    return list(cells.values())


@pytest.mark.parametrize("seed", range(40))
def test_published_cells_hold_at_least_the_threshold_and_count_each_asset_once(seed: int) -> None:
    cells = random_cells(seed)
    published = protect(cells, 5)
    total = sum(c["assets"] for c in cells)
    assert all(c["assets"] >= 5 for c in published)
    assert 0 <= total - sum(c["assets"] for c in published) < 5  # only a remainder is withheld
    big = [c for c in cells if c["assets"] >= 5]
    assert all(c in published for c in big)  # cells that were large enough are unchanged
    # Every published merged cell is the sum of the small cells it stands for, no more.
    for c in published:
        if OTHER in (c["technology"], c["area"], c["status"]):
            assert c not in cells


def test_anonymous_statistics_never_show_a_single_asset_but_the_operator_sees_it() -> None:
    app = create_app(Settings(data_dir=None), demo_assets=60)
    with TestClient(app) as anonymous:
        raw = app.state.registry.capacity_statistics()
        assert any(c["assets"] < 5 for c in raw)  # the demo data has small cells to protect
        body = anonymous.get("/statistics").json()
        assert body["disclosure"]["threshold"] == 5
        assert all(c["assets"] >= 5 for c in body["capacity"])
        page = anonymous.get("/", headers={"Accept": "text/html"}).text
        assert "Flexible assets by technology" in page
        operator = Onboarding.of(app).operator_client()
        assert operator.get("/statistics").json()["capacity"] == raw
