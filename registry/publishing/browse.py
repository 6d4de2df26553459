"""An asset or an organisation as a person reads it on its page: names rather than IRIs,
quantities with their units, the current right to operate, what the organisation operates.
(Search is ``registry.publishing.search``; filtered lists of assets
``registry.publishing.asset_lists``.)

Everything is read over the dataset the requester may see (``Registry.dataset_for``), so a
page shows no more than the record documents and ``/sparql`` would. No web framework here:
``api/pages.py`` renders these views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from registry.base import clock, rdf
from registry.base.identity import Principal
from registry.base.labels import PREFIXES, number_text, value, values_of, words
from registry.base.rdf import Term
from registry.base.vocab import FDI, FOAF, QUDT, RDFS, ROV, SAREF, UNIT
from registry.kernel.core import Registry
from registry.messaging.inbox import inbox_iri
from registry.publishing.asset_lists import asset_count
from registry.publishing.statistics import licence_areas
from registry.trust.membership_view import memberships_of

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
    one = values_of(triples, node)
    gsp = one.get(FDI.gspGroup.value)
    areas = licence_areas()
    rights = rights_of(registry, iri, principal)
    today = clock.today().isoformat()
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
        words(one.get(FDI.technology.value)),
        (one.get(FDI.technology.value) or "").rsplit("/", 1)[-1] or None,
        words(one.get(FDI.lifecycleStatus.value)),
        (gsp, areas.get(gsp, "independent networks")) if gsp else None,
        current,
        rights,
    )


def capacities(triples: list[ox.Triple], node: ox.NamedNode) -> list[tuple[str, str]]:
    """Each quantity of the record with its unit, as a person writes it ("5 kW").

    >>> value = ox.NamedNode("http://e/a#importCapacity")
    >>> triples = [ox.Triple(ox.NamedNode("http://e/a"), FDI.importCapacity, value),
    ...            ox.Triple(value, QUDT.numericValue, ox.Literal("5.0")),
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


def quantity(triples: list[ox.Triple], value: Term) -> str:
    number = next(
        (
            rdf.value(t.object)
            for t in triples
            if t.subject == value and t.predicate == QUDT.numericValue
        ),
        None,
    )
    unit = next(
        (rdf.value(t.object) for t in triples if t.subject == value and t.predicate == QUDT.unit),
        None,
    )
    if number is None:
        return ""
    return f"{number_text(number)} {UNITS.get(unit or '', (unit or '').rsplit('/', 1)[-1])}".strip()


def rights_of(
    registry: Registry, asset_iri: str, principal: Principal | None
) -> list[dict[str, Any]]:
    """The rights to operate ``asset_iri`` the requester may see, newest first."""
    rows = rdf.solutions(
        registry.index.query(
            RIGHTS_OF_ASSET,
            registry.dataset_for(principal),
            substitutions={ox.Variable("asset"): ox.NamedNode(asset_iri)},
        )
    )
    return [
        {
            "iri": row["right"].value,
            "operator": row["operator"].value,
            "operatorName": value(row["operatorName"]) or row["operator"].value,
            "from": row["from"].value,
            "to": value(row["to"]),
        }
        for row in rows
    ]


def organisation(
    registry: Registry, iri: str, triples: list[ox.Triple], principal: Principal | None
) -> dict[str, Any]:
    """An organisation as its page shows it: names and keys, roles, schemes, catalogues, the
    assets it currently operates, its inbox."""
    node = ox.NamedNode(iri)
    one = values_of(triples, node)
    info = registry.info(iri)
    graphs = registry.dataset_for(principal)
    catalogues = [
        {"iri": r["catalogue"].value, "title": value(r["title"]) or r["catalogue"].value}
        for r in rdf.solutions(
            registry.index.query(CATALOGUES_OF, graphs, substitutions={ox.Variable("org"): node})
        )
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
        "homepage": one.get(FOAF.homepage.value),
        "status": info.status if info else None,
        "roles": sorted(
            words(rdf.value(t.object)) or ""
            for t in triples
            if t.subject == node and t.predicate == FDI.marketRole
        ),
        "memberships": [m for m in memberships_of(registry, iri)],
        "catalogues": catalogues,
        "operated": operated,
        "inbox": inbox_iri(iri),
    }
