"""What the registry holds, in numbers: records by type, assets by technology and by area."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from registry.vocab import RECORD_TYPES

COUNT_OF_TYPE = "SELECT (COUNT(?s) AS ?n) WHERE { ?s a ?type }"

ASSETS_BY_TECHNOLOGY = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX unit: <http://qudt.org/vocab/unit/>
SELECT ?technology (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?exportKW) WHERE {
  ?asset fdi:technology ?technology .
  OPTIONAL {
    ?asset fdi:exportCapacity ?q . ?q qudt:numericValue ?v ; qudt:unit ?u .
    BIND(IF(?u = unit:MegaW, ?v * 1000, ?v) AS ?kw)
  }
} GROUP BY ?technology ORDER BY DESC(?assets)
"""

ASSETS_BY_GSP_GROUP = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
SELECT ?gsp (COUNT(?asset) AS ?assets) WHERE { ?asset fdi:gspGroup ?gsp }
GROUP BY ?gsp ORDER BY ?gsp
"""

SAMPLE_OF_TYPE = "SELECT ?s WHERE { ?s a ?type } LIMIT 1"


@dataclass
class Summary:
    counts: dict[str, int]
    technologies: list[dict[str, object]] = field(default_factory=list)
    areas: list[dict[str, object]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


def summarise(store: ox.Store, graphs: list[ox.NamedNode]) -> Summary:
    """Counts and breakdowns over ``graphs``."""

    def select(query: str, **bindings: ox.Term) -> list[ox.QuerySolution]:
        subs = {ox.Variable(k): v for k, v in bindings.items()}
        return list(store.query(query, substitutions=subs, default_graph=graphs))  # type: ignore[arg-type]

    counts = {
        kind: int(select(COUNT_OF_TYPE, type=rtype)[0]["n"].value)
        for rtype, kind in RECORD_TYPES.items()
    }
    technologies = [
        {
            "technology": row["technology"].value.rsplit("/", 1)[-1],
            "assets": int(row["assets"].value),
            "mw": float(row["exportKW"].value) / 1000 if row["exportKW"] else 0.0,
        }
        for row in select(ASSETS_BY_TECHNOLOGY)
    ]
    areas = [
        {"gsp": row["gsp"].value, "assets": int(row["assets"].value)}
        for row in select(ASSETS_BY_GSP_GROUP)
    ]
    samples = [
        row["s"].value
        for rtype in RECORD_TYPES
        for row in select(SAMPLE_OF_TYPE, type=rtype)
    ]
    return Summary(counts, technologies, areas, samples)
