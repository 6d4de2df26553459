"""What the registry holds, in numbers: records by type, assets by technology and by area."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.assets import capacity
from registry.base import rdf
from registry.base.resources import ontology_dir, ttl_files
from registry.base.vocab import RECORD_TYPES, sparql_prefixes
from registry.publishing import disclosure
from registry.store.index_protocol import Index

if TYPE_CHECKING:
    from registry.kernel.core import Registry

_RECORD_TYPE_VALUES = " ".join(str(t) for t in RECORD_TYPES)
RECORDS_BY_TYPE = f"""
SELECT ?type (COUNT(?s) AS ?n) (SAMPLE(?s) AS ?sample) WHERE {{
  VALUES ?type {{ {_RECORD_TYPE_VALUES} }}
  ?s a ?type
}} GROUP BY ?type
"""

ASSETS_BY_TECHNOLOGY = (
    sparql_prefixes("fdi", "qudt", "unit")
    + """
SELECT ?technology (COUNT(?asset) AS ?assets) (SUM(?ekw) AS ?exportKW) (SUM(?ikw) AS ?importKW)
WHERE {
  ?asset fdi:technology ?technology .
  OPTIONAL {
    ?asset fdi:exportCapacity ?q . ?q qudt:numericValue ?v ; qudt:unit ?u .
    BIND(IF(?u = unit:MegaW, ?v * 1000, ?v) AS ?ekw)
  }
  OPTIONAL {
    ?asset fdi:importCapacity ?iq . ?iq qudt:numericValue ?iv ; qudt:unit ?iu .
    BIND(IF(?iu = unit:MegaW, ?iv * 1000, ?iv) AS ?ikw)
  }
} GROUP BY ?technology ORDER BY DESC(?assets)
"""
)

ASSETS_BY_GSP_GROUP = (
    sparql_prefixes("fdi")
    + """
SELECT ?gsp (COUNT(?asset) AS ?assets) WHERE { ?asset fdi:gspGroup ?gsp }
GROUP BY ?gsp ORDER BY ?gsp
"""
)


LICENCE_AREAS = (
    sparql_prefixes("fdi", "rdfs")
    + """
SELECT ?gsp ?name WHERE { ?area a fdi:LicenceArea ; fdi:gspGroup ?gsp ; rdfs:label ?name }
"""
)


@lru_cache(maxsize=1)
def licence_areas() -> dict[str, str]:
    """GSP group → licence area name, from the ontology's licence area individuals."""
    store = ox.Store()
    for path in ttl_files(ontology_dir()):
        store.load(path=path, format=ox.RdfFormat.TURTLE)
    return {
        row["gsp"].value: row["name"].value for row in rdf.solutions(store.query(LICENCE_AREAS))
    }


@dataclass
class Summary:
    counts: dict[str, int]
    technologies: list[dict[str, object]] = field(default_factory=list)
    areas: list[dict[str, object]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


def summary_of(
    counts: dict[str, int], capacity: list[dict[str, Any]], samples: list[str]
) -> Summary:
    """The home page's figures from the aggregates the registry keeps (registry.assets.capacity):
    record counts and capacity rows by technology, area and status. Reads no asset."""
    technologies: dict[str, list[float]] = {}
    areas: dict[str, int] = {}
    for row in capacity:
        tech = technologies.setdefault(row["technology"], [0, 0.0, 0.0])
        tech[0] += row["assets"]
        tech[1] += row["exportKW"]
        tech[2] += row["importKW"]
        areas[row["area"]] = areas.get(row["area"], 0) + row["assets"]
    names = licence_areas()
    return Summary(
        counts,
        [
            {"technology": t, "assets": int(n), "mw": export / 1000, "import_mw": imported / 1000}
            for t, (n, export, imported) in sorted(technologies.items(), key=lambda i: -i[1][0])
        ],
        [
            {"gsp": gsp, "area": _area_name(names, gsp), "assets": n}
            for gsp, n in sorted(areas.items())
        ],
        samples,
    )


def _area_name(names: dict[str, str], gsp: str) -> str:
    if gsp == "(other)":  # small cells merged (registry.publishing.disclosure)
        return "other areas (small numbers merged)"
    return names.get(gsp, "independent networks")


def summarise(index: Index, graphs: list[ox.NamedNode]) -> Summary:
    """Counts and breakdowns over ``graphs``."""

    def select(query: str) -> list[ox.QuerySolution]:
        return list(rdf.solutions(index.query(query, graphs)))

    by_type = {row["type"]: row for row in select(RECORDS_BY_TYPE)}
    counts = {
        kind: int(by_type[rtype]["n"].value) if rtype in by_type else 0
        for rtype, kind in RECORD_TYPES.items()
    }
    technologies = [
        {
            "technology": row["technology"].value.rsplit("/", 1)[-1],
            "assets": int(row["assets"].value),
            "mw": float(row["exportKW"].value) / 1000 if row["exportKW"] else 0.0,
            "import_mw": float(row["importKW"].value) / 1000 if row["importKW"] else 0.0,
        }
        for row in select(ASSETS_BY_TECHNOLOGY)
    ]
    names = licence_areas()
    areas = [
        {
            "gsp": row["gsp"].value,
            "area": names.get(row["gsp"].value, "independent networks"),
            "assets": int(row["assets"].value),
        }
        for row in select(ASSETS_BY_GSP_GROUP)
    ]
    samples = [row["sample"].value for row in by_type.values()]
    return Summary(counts, technologies, areas, samples)


def summary(registry: Registry) -> Summary:
    """Counts and breakdowns of what the registry holds, from the aggregates every write keeps
    (registry.assets.capacity), disclosure control applied: the home page never scans the
    index."""
    samples = [
        r.iri
        for rtype in RECORD_TYPES
        for r in registry.records(rtype, graph=registry.public_graph, limit=1)
    ]
    cells = disclosure.protect(
        capacity.statistics_of(registry), registry.settings.disclosure_threshold
    )
    published = disclosure.published_counts(capacity.counts(registry), cells)
    return summary_of(published, cells, samples)
