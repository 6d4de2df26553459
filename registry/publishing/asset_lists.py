"""Lists of assets a person filters (technology, licence area, status, operator) and pages
through, over the dataset the requester may see. No web framework here."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from registry.base import clock, rdf
from registry.base.errors import UnusableInput
from registry.base.identity import Principal
from registry.base.labels import PREFIXES, XSD_DATE, local_name, number_text, value, words
from registry.base.rdf import Term
from registry.base.vocab import FDI, LIFECYCLE, TECH, TECHNOLOGIES
from registry.kernel.core import Registry
from registry.publishing.statistics import licence_areas

PAGE_SIZE = 50
# The asset list: the fragments a filter adds, each binding its value through ?wanted...
ASSET_FILTERS = {
    "technology": "?asset fdi:technology ?wantedTechnology .",
    "area": "?asset fdi:gspGroup ?wantedArea .",
    "status": "?asset fdi:lifecycleStatus ?wantedStatus .",
    "operator": "?right fdi:asset ?asset ; fdi:operator ?wantedOperator ; fdi:validFrom ?from . "
    "FILTER(?from <= ?today) FILTER NOT EXISTS { ?right fdi:validTo ?to FILTER(?to < ?today) }",
}
ASSET_ROWS = (
    PREFIXES
    + """SELECT ?asset ?label ?technology ?status ?gsp ?importKW ?exportKW {bound} WHERE {{
  ?asset a fdi:FlexibleAsset .
  {filters}
  OPTIONAL {{ ?asset rdfs:label ?label }}
  OPTIONAL {{ ?asset fdi:technology ?technology }}
  OPTIONAL {{ ?asset fdi:lifecycleStatus ?status }}
  OPTIONAL {{ ?asset fdi:gspGroup ?gsp }}
  OPTIONAL {{ ?asset fdi:importCapacity/qudt:numericValue ?importKW }}
  OPTIONAL {{ ?asset fdi:exportCapacity/qudt:numericValue ?exportKW }}
}} ORDER BY ?label ?asset LIMIT {limit} OFFSET {offset}"""
)
ASSET_COUNT = (
    PREFIXES
    + """SELECT {bound} (COUNT(DISTINCT ?asset) AS ?n) WHERE {{
  ?asset a fdi:FlexibleAsset .
  {filters}
}} {group}"""
)
ORGANISATIONS = (
    PREFIXES
    + """SELECT ?org ?name WHERE {
  ?org a fdi:Organisation .
  OPTIONAL { ?org rov:legalName ?name }
} ORDER BY ?name"""
)


def asset_filters(registry: Registry, **given: str | None) -> dict[str, Term]:
    """The list filters given, as the terms they bind: a technology (``BatteryStorage``), a
    GSP group (``_K``), a status (``Commissioned``), an operator (its IRI). Raises
    UnusableInput for a technology or status the ontology does not name, or an operator that
    is not an IRI."""
    out: dict[str, Term] = {}
    technology, status, operator = (
        given.get("technology"),
        given.get("status"),
        given.get("operator"),
    )
    if technology:
        if technology not in TECHNOLOGIES:
            raise UnusableInput(f"no technology {technology!r}; one of {', '.join(TECHNOLOGIES)}")
        out["technology"] = TECH[technology]
    if given.get("area"):
        out["area"] = ox.Literal(given["area"] or "")
    if status:
        names = [name for name, _ in statuses()]
        if status not in names:
            raise UnusableInput(f"no status {status!r}; one of {', '.join(names)}")
        out["status"] = FDI[status]
    if operator:
        if not operator.startswith(("http://", "https://")):
            raise UnusableInput("operator must be an organisation's IRI")
        try:
            out["operator"] = ox.NamedNode(operator)
        except ValueError as e:
            raise UnusableInput(f"operator is not an IRI: {e}") from e
    return out


def _filter_text(filters: dict[str, Term]) -> tuple[str, dict[ox.Variable, Term]]:
    text = "\n  ".join(ASSET_FILTERS[name] for name in filters)
    names = {
        "technology": "wantedTechnology",
        "area": "wantedArea",
        "status": "wantedStatus",
        "operator": "wantedOperator",
    }
    values: dict[ox.Variable, Term] = {ox.Variable(names[n]): v for n, v in filters.items()}
    if "operator" in filters:
        values[ox.Variable("today")] = ox.Literal(clock.today().isoformat(), datatype=XSD_DATE)
    return text, values


def asset_count(registry: Registry, principal: Principal | None, filters: dict[str, Any]) -> int:
    terms = {k: (ox.NamedNode(v) if isinstance(v, str) else v) for k, v in filters.items()}
    text, values = _filter_text(terms)
    bound = " ".join(str(v) for v in values)  # substituted variables must be projected
    query = ASSET_COUNT.format(
        filters=text, bound=bound, group=f"GROUP BY {bound}" if bound else ""
    )
    rows = list(
        rdf.solutions(
            registry.index.query(query, registry.dataset_for(principal), substitutions=values)
        )
    )
    return int(rows[0]["n"].value) if rows else 0


def assets(
    registry: Registry, principal: Principal | None, filters: dict[str, Term], page: int = 1
) -> dict[str, Any]:
    """Page ``page`` of the assets matching ``filters`` (from :func:`asset_filters`), by label."""
    text, values = _filter_text(filters)
    graphs = registry.dataset_for(principal)
    total = asset_count(registry, principal, filters)
    pages = max(1, -(-total // PAGE_SIZE))
    page = max(1, min(page, pages))
    bound = " ".join(str(v) for v in values)
    query = ASSET_ROWS.format(
        filters=text, bound=bound, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    areas = licence_areas()
    rows = []
    for row in rdf.solutions(registry.index.query(query, graphs, substitutions=values)):
        gsp = value(row["gsp"])
        rows.append(
            {
                "iri": row["asset"].value,
                "label": value(row["label"]) or row["asset"].value,
                "technology": local_name(row["technology"]),
                "technologyName": words(value(row["technology"])),
                "status": words(value(row["status"])),
                "gsp": gsp,
                "area": areas.get(gsp or "", gsp),
                "importKW": number_text(row["importKW"].value) if row["importKW"] else "",
                "exportKW": number_text(row["exportKW"].value) if row["exportKW"] else "",
            }
        )
    return {"rows": rows, "total": total, "page": page, "pages": pages}


def organisations(registry: Registry, principal: Principal | None) -> list[tuple[str, str]]:
    """Every organisation the requester may see: IRI and name, by name."""
    rows = rdf.solutions(registry.index.query(ORGANISATIONS, registry.dataset_for(principal)))
    return [(r["org"].value, value(r["name"]) or r["org"].value) for r in rows]


def technologies() -> list[tuple[str, str]]:
    """Every technology: local name and words."""
    return [(name, words(name) or name) for name in TECHNOLOGIES]


def technologies_by_name() -> dict[str, str]:
    return dict(technologies())


def statuses() -> list[tuple[str, str]]:
    """Every lifecycle status: local name and words."""
    return [(local_name(s) or "", words(s.value) or "") for s in LIFECYCLE]
