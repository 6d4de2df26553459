"""Statistics disclosure control: published aggregates never single out a few assets.

The capacity statistics (``registry.capacity``) count assets by technology, GSP group and
lifecycle status; a cell holding one or two assets tells anyone the size and place of someone's
battery. Before they are published, cells below ``settings.disclosure_threshold`` assets
(default 5) are *merged* up a hierarchy: first their status is left out (``(other)``), then
their area, then their technology; whatever is still below the threshold is suppressed. Each
asset is counted in at most one published cell, so no cell can be recovered by subtracting
published cells from one another, and no total over the merged cells is published.

The scheme operator sees the cells as they are.

>>> cells = [
...     {"technology": "BatteryStorage", "area": "_A", "status": "Commissioned", "assets": 6,
...      "importKW": 6.0, "exportKW": 6.0, "energyKWh": 12.0},
...     {"technology": "BatteryStorage", "area": "_B", "status": "Planned", "assets": 3,
...      "importKW": 3.0, "exportKW": 3.0, "energyKWh": 6.0},
...     {"technology": "BatteryStorage", "area": "_C", "status": "Planned", "assets": 2,
...      "importKW": 2.0, "exportKW": 2.0, "energyKWh": 4.0},
... ]
>>> [(c["area"], c["status"], c["assets"]) for c in protect(cells, 5)]
[('_A', 'Commissioned', 6), ('(other)', '(other)', 5)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry.identity import Principal

if TYPE_CHECKING:
    from registry.core import Registry

OTHER = "(other)"
KEYS = ("technology", "area", "status")
SUMS = ("assets", "importKW", "exportKW", "energyKWh")
# What each round of merging keeps: every key, then technology and area, then technology.
LEVELS = (KEYS, ("technology", "area"), ("technology",), ())


def protect(cells: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    """The cells with those below ``threshold`` assets merged up the hierarchy, and the rest
    suppressed (module docstring)."""
    if threshold <= 1:
        return cells
    published: list[dict[str, Any]] = []
    pool = cells
    for kept in LEVELS:
        merged: dict[tuple[str, ...], dict[str, Any]] = {}
        for cell in pool:
            key = tuple(cell[k] if k in kept else OTHER for k in KEYS)
            into = merged.setdefault(
                key, {**dict(zip(KEYS, key, strict=True)), **dict.fromkeys(SUMS, 0)}
            )
            for s in SUMS:
                into[s] += cell[s]
        pool = []
        for cell in merged.values():
            (published if cell["assets"] >= threshold else pool).append(cell)
    return [{**c, **{s: round(c[s], 3) for s in SUMS[1:]}} for c in published]


def capacity_for(registry: Registry, principal: Principal | None) -> dict[str, Any]:
    """The capacity statistics as ``principal`` may see them: merged and suppressed below the
    threshold for everyone but the scheme operator."""
    cells = registry.capacity_statistics()
    threshold = registry.settings.disclosure_threshold
    if principal is not None and principal.is_scheme_operator:
        return {"capacity": cells, "disclosure": {"threshold": None, "applied": False}}
    return {
        "capacity": protect(cells, threshold),
        "disclosure": {
            "threshold": threshold,
            "applied": threshold > 1,
            "method": "cells below the threshold merged (status, then area, then technology "
            "left out as '(other)'), then suppressed; each asset counted at most once",
        },
    }
