"""The public directory: members, their listings, the licence registry and a bulk export.

Everything here is read from the public graph only (``graph/public``: organisations, schemes,
licences, standard agreements and directory listings), so the directory can show nobody's
private data by construction.

A *directory listing* (``{organisation IRI}#listing``, an ``fdi:DirectoryListing``) is the public
part of an organisation's commercial information: services, markets, technologies and licence
areas, never capacity or contacts. :func:`keep_listings` derives it in the same transaction as
the commercial information it comes from, as a copy in the public graph.

>>> matches("area-london", {"https://w3id.org/fdi/ns#area-london"})
True
>>> matches("London", {"https://w3id.org/fdi/ns#area-london"})
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI, LDP, ORG, RDF, ROV, sparql_prefixes
from registry.kernel import access
from registry.kernel.features import Feature
from registry.kernel.lifecycle import content, objects, text
from registry.markets.agreement_terms import terms_of
from registry.messaging.inbox import inbox_iri
from registry.submissions.formats import Parsed
from registry.submissions.records import split_records
from registry.trust.membership_view import memberships_of
from registry.trust.schemes import SCHEMES, name_of, operator_iri, require_operator

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry, Transaction

COMMERCIAL = FDI.CommercialInformation.value
LISTED = (FDI.offersService, FDI.market, FDI.portfolioTechnology, FDI.operatesIn)
# The record types the public directory is made of (the public graph may hold other public records).
DIRECTORY_TYPES = (FDI.Organisation, FDI.Scheme, FDI.SchemeLicence, FDI.StandardAgreement)
LISTINGS = (
    sparql_prefixes("fdi")
    + """
SELECT ?org ?property ?value WHERE {
  ?listing a fdi:DirectoryListing ; fdi:listingOf ?org ; ?property ?value .
}
"""
)


def listing_iri(organisation: str) -> str:
    return organisation + "#listing"


def keep_listings(tx: Transaction) -> None:
    """Add to ``tx`` the directory listing of each organisation whose commercial information it
    changes (removed when the commercial information is no longer registered)."""
    public = access.public_graph(tx.registry.settings.base_iri)
    for r in tx.records:
        if r["type"] != COMMERCIAL or not r.get("owner"):
            continue
        owner = r["owner"]
        node = ox.NamedNode(r["iri"])
        triples = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(r["nt"].encode(), format=ox.RdfFormat.N_TRIPLES)
        ]
        # Only an organisation's own commercial information (in its own graph) is listed.
        own = r["graph"] == access.org_graph(tx.registry.settings.base_iri, owner).value
        listed: list[ox.Triple] = []
        if own and r.get("status") == "registered":
            listing = ox.NamedNode(listing_iri(owner))
            listed = [
                ox.Triple(listing, RDF.type, FDI.DirectoryListing),
                ox.Triple(listing, FDI.listingOf, ox.NamedNode(owner)),
                ox.Triple(listing, DCT.source, node),
                *(ox.Triple(listing, p, v) for p in LISTED for v in objects(triples, node, p)),
            ]
        tx.copy(public, listing_iri(owner), listed)


# --- search ------------------------------------------------------------------------------------


def members(registry: Registry, **filters: str | None) -> list[dict[str, Any]]:
    """Directory entries matching every filter given: ``name`` (part of the legal name, any
    case), ``role``, ``scheme``, ``region``, ``technology``, ``service``, ``market``, ``status``
    (short names such as ``MarketOperator``, ``fdi``, ``area-london`` or ``London``,
    ``BatteryStorage``, ``verified``, or full IRIs)."""
    entries = [
        entry(registry, iri, status, listings) for iri, status, listings in _organisations(registry)
    ]
    return [e for e in entries if _selected(e, filters)]


def entry(
    registry: Registry, iri: str, status: str | None, listing: dict[str, set[str]]
) -> dict[str, Any]:
    """One organisation's directory entry."""

    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    schemes = sorted(
        {m["scheme"] for m in memberships_of(registry, iri) if m["status"] == "active"}
    )
    level = text(triples, node, FDI.assuranceLevel)
    return {
        "id": iri,
        "name": text(triples, node, ROV.legalName),
        "status": status,
        "assuranceLevel": _local(level) if level else None,
        "roles": sorted(name_of(rdf.value(t)) for t in objects(triples, node, FDI.marketRole)),
        "schemes": schemes,
        "services": _locals(listing.get(FDI.offersService.value)),
        "markets": _locals(listing.get(FDI.market.value)),
        "technologies": _locals(listing.get(FDI.portfolioTechnology.value)),
        "regions": _locals(listing.get(FDI.operatesIn.value)),
        "inbox": inbox_iri(iri),
    }


def matches(wanted: str, values: set[str]) -> bool:
    """Whether a filter value names one of ``values`` (IRIs), by IRI, local name or label-ish
    short form (``London`` for ``area-london``), ignoring case."""
    w = wanted.strip().lower()
    for value in values:
        local = _local(value).lower()
        if w in (
            value.lower(),
            local,
            local.removeprefix("area-"),
            local.removeprefix("scope-"),
            local.removeprefix("service-"),
            local.removeprefix("market-"),
        ):
            return True
        if w.replace(" ", "-") == local.removeprefix("area-"):
            return True
    return False


def _selected(e: dict[str, Any], filters: dict[str, str | None]) -> bool:
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "name":
            if wanted.strip().lower() not in (e["name"] or "").lower():
                return False
        elif key == "status":
            if (e["status"] or "") != wanted.strip().lower():
                return False
        elif not matches(wanted, set(e[_FIELDS[key]])):
            return False
    return True


_FIELDS = {
    "role": "roles",
    "scheme": "schemes",
    "region": "regions",
    "technology": "technologies",
    "service": "services",
    "market": "markets",
}


def _organisations(registry: Registry) -> list[tuple[str, str | None, dict[str, set[str]]]]:
    public = access.public_graph(registry.settings.base_iri)
    listings: dict[str, dict[str, set[str]]] = {}
    for s in rdf.solutions(registry.index.query(LISTINGS, [public])):
        listings.setdefault(s["org"].value, {}).setdefault(s["property"].value, set()).add(
            s["value"].value
        )
    rows = registry.records(FDI.Organisation, graph=public)
    return [(r.iri, r.status, listings.get(r.iri, {})) for r in rows]


# --- RDF: entries, licences and the export -------------------------------------------------------


def entry_triples(registry: Registry, entries: list[dict[str, Any]]) -> list[ox.Triple]:
    """The public RDF of directory entries: organisation records, listings, inboxes, schemes."""

    public = access.public_graph(registry.settings.base_iri)
    out: list[ox.Triple] = []
    for e in entries:
        node = ox.NamedNode(e["id"])
        out += _quads_as_triples(registry.index.record_quads(public, node))
        out += _quads_as_triples(
            registry.index.record_quads(public, ox.NamedNode(listing_iri(e["id"])))
        )
        out.append(ox.Triple(node, LDP.inbox, ox.NamedNode(e["inbox"])))
        out += [
            ox.Triple(node, ORG.memberOf, ox.NamedNode(SCHEMES[s].iri))
            for s in e["schemes"]
            if s in SCHEMES
        ]
    return out


def licences(registry: Registry) -> list[dict[str, Any]]:
    """The public licence registry: every scheme licence, the scheme and scopes it covers and
    the actions it permits."""
    public = access.public_graph(registry.settings.base_iri)
    out = []
    for info in registry.records(FDI.SchemeLicence, graph=public):
        iri = info.iri
        triples = content(registry, iri)
        node = ox.NamedNode(iri)
        out.append(
            {
                "id": iri,
                "title": text(triples, node, DCT.title),
                "scheme": text(triples, node, FDI.scheme),
                "scopes": sorted(rdf.value(t) for t in objects(triples, node, FDI.coversScope)),
                "actions": list(terms_of(iri, triples, None, None).actions),
                "status": info.status if info else None,
            }
        )
    return out


def publish_licence(registry: Registry, parsed: Parsed, principal: Principal) -> Registration:
    """The scheme operator publishes a scheme licence (one or more ``fdi:SchemeLicence``
    records) in the public licence registry. Raises Unauthenticated, Forbidden (not the scheme
    operator), UnusableInput (other records in the submission), ValidationFailed."""

    require_operator(principal)
    split = split_records(parsed.triples, parsed.origins)
    if not split.records or any(r.type != FDI.SchemeLicence for r in split.records):
        raise UnusableInput("send SchemeLicence records only")
    with registry.transaction(principal.actor, "licence") as tx:
        staged = registry.stage(tx, parsed, operator_iri(registry.settings.base_iri))
        if staged.refusal is not None:
            raise staged.refusal
    return staged.registration(tx)


def licence_triples(registry: Registry) -> list[ox.Triple]:
    return _records_of(registry, (FDI.SchemeLicence,))


def export(registry: Registry) -> list[ox.Triple]:
    """The whole public directory as triples: organisations (with listings and inboxes),
    schemes, standard agreements and licences."""
    organisations = [
        entry(registry, iri, status, {}) for iri, status, _ in _organisations(registry)
    ]
    others = _records_of(registry, tuple(t for t in DIRECTORY_TYPES if t != FDI.Organisation))
    return entry_triples(registry, organisations) + others


def _records_of(registry: Registry, types: tuple[ox.NamedNode, ...]) -> list[ox.Triple]:
    public = access.public_graph(registry.settings.base_iri)
    out: list[ox.Triple] = []
    for rtype in types:
        for info in registry.records(rtype, graph=public):
            out += _quads_as_triples(registry.index.record_quads(public, ox.NamedNode(info.iri)))
    return out


def _quads_as_triples(quads: list[ox.Quad]) -> list[ox.Triple]:
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _locals(values: set[str] | None) -> list[str]:
    return sorted(_local(v) for v in values or ())


# The public listing changes in the same entry as the organisation records it copies.
FEATURE = Feature("directory", before_commit=keep_listings)
