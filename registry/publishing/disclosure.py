"""Statistics disclosure control: published aggregates never single out a few assets.

The capacity statistics (``registry.assets.capacity``) count assets by technology, GSP group and
lifecycle status; a cell holding one or two assets tells anyone the size and place of someone's
battery. Before they are published, cells below ``settings.disclosure_threshold`` assets
(default 5) are *merged* up a hierarchy: first their status is left out (``(other)``), then
their area, then their technology; whatever is still below the threshold is suppressed. Each
asset is counted in at most one published cell, so no cell can be recovered by subtracting
published cells from one another, and no total over the merged cells is published.

The scheme operator sees the cells as they are. The asset count published beside the cells
is their sum, so the total minus the cells tells nobody how many were withheld. A member also
sees, apart, the exact cells of the assets it may read anyway (its own, those it operates, those
shared with it): what it learns there it could count through SPARQL.

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

import pyoxigraph as ox

from registry.assets import capacity
from registry.base.identity import Principal
from registry.base.vocab import FDI, RDF
from registry.kernel import access

if TYPE_CHECKING:
    from registry.kernel.core import Registry

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


def published_counts(counts: dict[str, int], published: list[dict[str, Any]]) -> dict[str, int]:
    """Record counts as published beside protected cells: the asset count is the number of
    assets the published cells hold, so that ``total - sum(cells)`` reveals nothing withheld
    (nor how many assets are retired or otherwise outside the cells).

    >>> published_counts({"asset": 7, "org": 3}, [{"assets": 5}])
    {'asset': 5, 'org': 3}
    """
    return {**counts, "asset": sum(c["assets"] for c in published)}


def capacity_for(registry: Registry, principal: Principal | None) -> dict[str, Any]:
    """The capacity statistics as ``principal`` may see them: every cell as it is for the
    scheme operator; for anyone else the cells merged and suppressed below the threshold, the
    asset count consistent with them (:func:`published_counts`), and for a member, in
    ``visible``, the exact cells of the assets it may read itself (its own, those it operates,
    those shared with it under an agreement: its own and shared graphs)."""
    cells = capacity.statistics_of(registry)
    threshold = registry.settings.disclosure_threshold
    if principal is not None and principal.is_scheme_operator:
        return {
            "capacity": cells,
            "records": capacity.counts(registry),
            "disclosure": {"threshold": None, "applied": False},
        }
    published = protect(cells, threshold)
    out: dict[str, Any] = {
        "capacity": published,
        "records": published_counts(capacity.counts(registry), published),
        "disclosure": {
            "threshold": threshold,
            "applied": threshold > 1,
            "method": "cells below the threshold merged (status, then area, then technology "
            "left out as '(other)'), then suppressed; each asset counted at most once; the "
            "asset count is the published cells' sum",
        },
    }
    if principal is not None and principal.organisation:
        out["visible"] = visible_cells(registry, principal.organisation)
        out["disclosure"]["visible"] = (
            "exact cells of the assets you may read: your own, those you operate, and those "
            "shared with you under a data-sharing agreement"
        )
    return out


def visible_cells(registry: Registry, organisation: str) -> list[dict[str, Any]]:
    """Exact capacity cells over the assets in ``organisation``'s own and shared graphs."""
    base = registry.settings.base_iri
    iris = {
        r.iri
        for r in registry.records(
            FDI.FlexibleAsset, owner=organisation, graph=access.org_graph(base, organisation)
        )
    }
    iris |= {
        q.subject.value
        for q in registry.index.quads(
            None, RDF.type, FDI.FlexibleAsset, access.shared_graph(base, organisation)
        )
        if isinstance(q.subject, ox.NamedNode)
    }
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    ordered = sorted(iris)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for tech, area, status, imported, exported, energy in registry.journal.read(
            _CONTRIBUTIONS.format(marks=marks), tuple(chunk)
        ):
            cell = cells.setdefault(
                (tech, area, status),
                {"technology": tech, "area": area, "status": status, **dict.fromkeys(SUMS, 0)},
            )
            for name, value in zip(SUMS, (1, imported, exported, energy), strict=True):
                cell[name] += value
    return [
        {**c, **{s: round(c[s], 3) for s in SUMS[1:]}}
        for _, c in sorted(cells.items(), key=lambda item: item[0])
    ]


_CHUNK = 500
_CONTRIBUTIONS = (
    "SELECT technology, area, status, import_kw, export_kw, energy_kwh FROM asset_capacity "
    "WHERE iri IN ({marks})"
)
