"""What people read in the registry's pages: search by name or natural key, an asset or an
organisation as a person reads it, filtered lists of assets, capacity for charts.

Everything is read over the dataset the requester may see (``Registry.dataset_for``), so a
page shows no more than the record documents and ``/sparql`` would. No web framework here:
``api/pages.py`` renders these views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyoxigraph as ox

from registry.core import Registry
from registry.errors import UnusableInput
from registry.identity import Principal
from registry.statistics import licence_areas
from registry.vocab import FDI, LIFECYCLE, QUDT, RDFS, ROV, SAREF, TECH, TECHNOLOGIES, UNIT

PREFIXES = """PREFIX fdi: <https://w3id.org/fdi/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rov: <http://www.w3.org/ns/regorg#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX dct: <http://purl.org/dc/terms/>
"""
# ?key is bound through substitutions; ?record is what was found.
BY_KEY = {
    "MPAN": "{ ?record fdi:mpanCore ?key } UNION { ?record fdi:exportMpanCore ?key }",
    "company number": "?record fdi:companyNumber ?key",
    "LEI": "?record fdi:lei ?key",
    "postcode": "?record fdi:postcode ?code "
    'FILTER(STRSTARTS(UCASE(REPLACE(?code, " ", "")), ?key))',
    "name": "?record rdfs:label|rov:legalName ?name FILTER(CONTAINS(LCASE(?name), ?key))",
}
FOUND = (
    PREFIXES
    + """SELECT DISTINCT ?record ?type ?label ?key WHERE {{
  {pattern} .
  ?record a ?type .
  FILTER(?type IN (fdi:FlexibleAsset, fdi:Organisation))
  OPTIONAL {{ ?record rdfs:label|rov:legalName ?label }}
}} ORDER BY ?label LIMIT 50"""
)
RIGHTS_OF_ASSET = (
    PREFIXES
    + """SELECT ?right ?operator ?operatorName ?from ?to ?asset WHERE {
  ?right a fdi:RightToOperate ; fdi:asset ?asset ; fdi:operator ?operator ; fdi:validFrom ?from .
  OPTIONAL { ?right fdi:validTo ?to }
  OPTIONAL { ?operator rov:legalName ?operatorName }
} ORDER BY DESC(?from)"""
)
CATALOGUES_OF = (
    PREFIXES
    + """SELECT ?catalogue ?title ?org WHERE {
  ?catalogue a fdi:MemberCatalogue ; dct:publisher ?org .
  OPTIONAL { ?catalogue dct:title ?title }
} ORDER BY ?title"""
)
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

UNITS = {
    UNIT.KiloW.value: "kW",
    UNIT.MegaW.value: "MW",
    UNIT.W.value: "W",
    UNIT["KiloW-HR"].value: "kWh",
    UNIT["MegaW-HR"].value: "MWh",
    UNIT.KiloV.value: "kV",
    UNIT.V.value: "V",
    UNIT.SEC.value: "s",
}
CAPACITIES = [
    (FDI.importCapacity, "Import capacity"),
    (FDI.exportCapacity, "Export capacity"),
    (FDI.energyCapacity, "Energy capacity"),
    (FDI.flexibleCapacity, "Flexible capacity"),
    (FDI.connectionVoltage, "Connection voltage"),
    (FDI.responseTime, "Response time"),
]
PAGE_SIZE = 50
_MPAN = re.compile(r"^\d{13}$")
_LEI = re.compile(r"^[A-Z0-9]{18}\d{2}$")
_COMPANY = re.compile(r"^([A-Z]{2}\d{6}|\d{8})$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?(\d[A-Z]{2})?$")


def kind_of_search(text: str) -> str:
    """Which key a search text is: MPAN, LEI, company number, postcode (whole or its outward
    code), else a name.

    >>> [kind_of_search(t) for t in ("2143967712809", "SC492543", "cf10 1ep", "Octopus")]
    ['MPAN', 'company number', 'postcode', 'name']
    """
    squeezed = text.replace(" ", "").upper()
    if _MPAN.match(squeezed):
        return "MPAN"
    if _LEI.match(squeezed):
        return "LEI"
    if _COMPANY.match(squeezed):
        return "company number"
    if _POSTCODE.match(squeezed):
        return "postcode"
    return "name"


def search(registry: Registry, principal: Principal | None, text: str) -> dict[str, Any]:
    """Records whose natural key or name matches ``text`` (up to 50): each with its IRI, kind
    (asset or organisation) and label; what the text was read as."""
    text = text.strip()
    kind = kind_of_search(text)
    squeezed = text.replace(" ", "").upper()
    key = {"name": text.lower(), "postcode": squeezed}.get(kind, squeezed)
    found = _found(registry, principal, kind, key)
    if not found and kind != "name":  # "EV1" or "12345678" may also be part of a name
        found = _found(registry, principal, "name", text.lower())
    return {"text": text, "as": kind, "results": found}


def _found(
    registry: Registry, principal: Principal | None, kind: str, key: str
) -> list[dict[str, Any]]:
    rows = registry.index.query(
        FOUND.format(pattern=BY_KEY[kind]),
        registry.dataset_for(principal),
        substitutions={ox.Variable("key"): ox.Literal(key)},
    )
    return [
        {
            "iri": row["record"].value,  # type: ignore[index]
            "kind": "asset" if row["type"] == FDI.FlexibleAsset else "organisation",  # type: ignore[index]
            "label": _value(row["label"]) or row["record"].value,  # type: ignore[index]
        }
        for row in rows  # type: ignore[union-attr]
    ]


@dataclass
class AssetView:
    """An asset as its page shows it."""

    iri: str
    label: str
    facts: list[tuple[str, str]]
    capacities: list[tuple[str, str]]
    technology: str | None
    technology_key: str | None  # its local name, as the asset list filters by it
    status: str | None
    area: tuple[str, str] | None  # GSP group, licence area name
    current: dict[str, Any] | None  # the current right to operate
    rights: list[dict[str, Any]] = field(default_factory=list)


def asset(
    registry: Registry, iri: str, triples: list[ox.Triple], principal: Principal | None
) -> AssetView:
    """The asset ``iri`` from its record's ``triples``, with its rights to operate."""
    node = ox.NamedNode(iri)
    one = _values(triples, node)
    gsp = one.get(FDI.gspGroup.value)
    areas = licence_areas()
    rights = rights_of(registry, iri, principal)
    today = date.today().isoformat()
    current = next(
        (r for r in rights if r["from"] <= today and (not r["to"] or r["to"] >= today)), None
    )
    facts = [
        (label, one[p.value])
        for p, label in (
            (FDI.mpanCore, "MPAN (import)"),
            (FDI.exportMpanCore, "MPAN (export)"),
            (FDI.postcode, "Postcode"),
            (FDI.commissioningDate, "Commissioned"),
            (FDI.plannedCommissioningDate, "Planned commissioning"),
            (FDI.decommissioningDate, "Decommissioned"),
            (SAREF.hasManufacturer, "Manufacturer"),
            (SAREF.hasModel, "Model"),
            (FDI.serialNumber, "Serial number"),
        )
        if p.value in one
    ]
    return AssetView(
        iri,
        one.get(RDFS.label.value) or iri.rsplit("/", 1)[-1],
        facts,
        capacities(triples, node),
        _words(one.get(FDI.technology.value)),
        (one.get(FDI.technology.value) or "").rsplit("/", 1)[-1] or None,
        _words(one.get(FDI.lifecycleStatus.value)),
        (gsp, areas.get(gsp, "independent networks")) if gsp else None,
        current,
        rights,
    )


def capacities(triples: list[ox.Triple], node: ox.NamedNode) -> list[tuple[str, str]]:
    """Each quantity of the record with its unit, as a person writes it ("5 kW").

    >>> value = ox.NamedNode("http://e/a#importCapacity")
    >>> triples = [ox.Triple(ox.NamedNode("http://e/a"), FDI.importCapacity, value),
    ...            ox.Triple(value, QUDT.numericValue, ox.Literal("5.0", datatype=XSD_DECIMAL)),
    ...            ox.Triple(value, QUDT.unit, UNIT.KiloW)]
    >>> capacities(triples, ox.NamedNode("http://e/a"))
    [('Import capacity', '5 kW')]
    """
    out = []
    for predicate, label in CAPACITIES:
        for t in triples:
            if t.subject == node and t.predicate == predicate:
                out.append((label, quantity(triples, t.object)))
    return out


def quantity(triples: list[ox.Triple], value: ox.Term) -> str:
    number = next(
        (
            t.object.value
            for t in triples
            if t.subject == value and t.predicate == QUDT.numericValue
        ),
        None,
    )
    unit = next(
        (t.object.value for t in triples if t.subject == value and t.predicate == QUDT.unit), None
    )
    if number is None:
        return ""
    return f"{number_text(number)} {UNITS.get(unit or '', (unit or '').rsplit('/', 1)[-1])}".strip()


def number_text(value: str) -> str:
    """A decimal as people write it: ``5.0`` → ``5``, ``2.40`` → ``2.4``, ``1250`` → ``1,250``."""
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.3f}".rstrip("0").rstrip(".")


def rights_of(
    registry: Registry, asset_iri: str, principal: Principal | None
) -> list[dict[str, Any]]:
    """The rights to operate ``asset_iri`` the requester may see, newest first."""
    rows = registry.index.query(
        RIGHTS_OF_ASSET,
        registry.dataset_for(principal),
        substitutions={ox.Variable("asset"): ox.NamedNode(asset_iri)},
    )
    return [
        {
            "iri": row["right"].value,  # type: ignore[index]
            "operator": row["operator"].value,  # type: ignore[index]
            "operatorName": _value(row["operatorName"]) or row["operator"].value,  # type: ignore[index]
            "from": row["from"].value,  # type: ignore[index]
            "to": _value(row["to"]),  # type: ignore[index]
        }
        for row in rows  # type: ignore[union-attr]
    ]


def organisation(
    registry: Registry, iri: str, triples: list[ox.Triple], principal: Principal | None
) -> dict[str, Any]:
    """An organisation as its page shows it: names and keys, roles, schemes, catalogues, the
    assets it currently operates, its inbox."""
    from registry.inbox import inbox_iri
    from registry.memberships import memberships_of

    node = ox.NamedNode(iri)
    one = _values(triples, node)
    info = registry.info(iri)
    graphs = registry.dataset_for(principal)
    catalogues = [
        {"iri": r["catalogue"].value, "title": _value(r["title"]) or r["catalogue"].value}  # type: ignore[index]
        for r in registry.index.query(
            CATALOGUES_OF, graphs, substitutions={ox.Variable("org"): node}
        )  # type: ignore[union-attr]
    ]
    operated = asset_count(registry, principal, {"operator": iri})
    return {
        "iri": iri,
        "name": one.get(ROV.legalName.value) or one.get(RDFS.label.value) or iri,
        "facts": [
            (label, one[p.value])
            for p, label in (
                (FDI.companyNumber, "Company number"),
                (FDI.lei, "LEI"),
                (FDI.registeredAddress, "Registered address"),
            )
            if p.value in one
        ],
        "homepage": one.get("http://xmlns.com/foaf/0.1/homepage"),
        "status": info.status if info else None,
        "roles": sorted(
            _words(t.object.value) or ""
            for t in triples
            if t.subject == node and t.predicate == FDI.marketRole
        ),
        "memberships": [m for m in memberships_of(registry, iri)],
        "catalogues": catalogues,
        "operated": operated,
        "inbox": inbox_iri(iri),
    }


def asset_filters(registry: Registry, **given: str | None) -> dict[str, ox.Term]:
    """The list filters given, as the terms they bind: a technology (``BatteryStorage``), a
    GSP group (``_K``), a status (``Commissioned``), an operator (its IRI). Raises
    UnusableInput for a technology or status the ontology does not name, or an operator that
    is not an IRI."""
    out: dict[str, ox.Term] = {}
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


def _filter_text(filters: dict[str, ox.Term]) -> tuple[str, dict[ox.Variable, ox.Term]]:
    text = "\n  ".join(ASSET_FILTERS[name] for name in filters)
    names = {
        "technology": "wantedTechnology",
        "area": "wantedArea",
        "status": "wantedStatus",
        "operator": "wantedOperator",
    }
    values: dict[ox.Variable, ox.Term] = {ox.Variable(names[n]): v for n, v in filters.items()}
    if "operator" in filters:
        values[ox.Variable("today")] = ox.Literal(date.today().isoformat(), datatype=XSD_DATE)
    return text, values


def asset_count(registry: Registry, principal: Principal | None, filters: dict[str, Any]) -> int:
    terms = {k: (ox.NamedNode(v) if isinstance(v, str) else v) for k, v in filters.items()}
    text, values = _filter_text(terms)
    bound = " ".join(str(v) for v in values)  # substituted variables must be projected
    query = ASSET_COUNT.format(
        filters=text, bound=bound, group=f"GROUP BY {bound}" if bound else ""
    )
    rows = list(registry.index.query(query, registry.dataset_for(principal), substitutions=values))  # type: ignore[call-overload]
    return int(rows[0]["n"].value) if rows else 0


def assets(
    registry: Registry, principal: Principal | None, filters: dict[str, ox.Term], page: int = 1
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
    for row in registry.index.query(query, graphs, substitutions=values):  # type: ignore[union-attr]
        gsp = _value(row["gsp"])  # type: ignore[index]
        rows.append(
            {
                "iri": row["asset"].value,  # type: ignore[index]
                "label": _value(row["label"]) or row["asset"].value,  # type: ignore[index]
                "technology": _local(row["technology"]),  # type: ignore[index]
                "technologyName": _words(_value(row["technology"])),  # type: ignore[index]
                "status": _words(_value(row["status"])),  # type: ignore[index]
                "gsp": gsp,
                "area": areas.get(gsp or "", gsp),
                "importKW": number_text(row["importKW"].value) if row["importKW"] else "",  # type: ignore[index]
                "exportKW": number_text(row["exportKW"].value) if row["exportKW"] else "",  # type: ignore[index]
            }
        )
    return {"rows": rows, "total": total, "page": page, "pages": pages}


def organisations(registry: Registry, principal: Principal | None) -> list[tuple[str, str]]:
    """Every organisation the requester may see: IRI and name, by name."""
    rows = registry.index.query(ORGANISATIONS, registry.dataset_for(principal))
    return [(r["org"].value, _value(r["name"]) or r["org"].value) for r in rows]  # type: ignore[index, union-attr]


def technologies() -> list[tuple[str, str]]:
    """Every technology: local name and words."""
    return [(name, _words(name) or name) for name in TECHNOLOGIES]


def technologies_by_name() -> dict[str, str]:
    return dict(technologies())


def statuses() -> list[tuple[str, str]]:
    """Every lifecycle status: local name and words."""
    return [(_local(s) or "", _words(s.value) or "") for s in LIFECYCLE]


def _values(triples: list[ox.Triple], node: ox.NamedNode) -> dict[str, str]:
    return {t.predicate.value: t.object.value for t in triples if t.subject == node}


def _value(term: ox.Term | None) -> str | None:
    return term.value if term is not None else None


def _local(term: ox.Term | None) -> str | None:
    if term is None:
        return None
    return re.split(r"[#/]", term.value)[-1]


def _words(iri: str | None) -> str | None:
    """The local name of an IRI in words: ``tech:BatteryStorage`` → ``Battery storage``.

    >>> _words("https://w3id.org/fdi/technology/EVCharger"), _words(None)
    ('EV charger', None)
    """
    if iri is None:
        return None
    local = re.split(r"[#/]", iri)[-1]
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|\d+", local) or [local]
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[0].upper() + text[1:]


XSD_DECIMAL = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
XSD_DATE = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
