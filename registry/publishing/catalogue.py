"""DCAT: the registry's catalogue of itself and of its members' catalogues.

The registry publishes one DCAT 3 catalogue (``{base}catalogue``): its own data services (the
SPARQL endpoint and the HTTP API, each with ``dcat:endpointURL``, ``dcat:endpointDescription``
and ``dct:conformsTo``), its own datasets (the public directory, the asset register, the ontology
and the shapes, with distributions and licences), and the catalogues its members submit
(``fdi:MemberCatalogue`` records), one page of them at a time (Hydra ``PartialCollectionView``,
``?page=N``). What a requester sees of the members' catalogues comes from the requester's own
dataset (:meth:`Registry.dataset_for`): a catalogue published to scheme members only is listed
to members only.

Members submit catalogues with :func:`registry.publishing.member_catalogues.submit_catalogue`:
checked against ``shapes/catalogue.ttl`` and with the publisher (``dct:publisher``) checked
against the member's own record. The registry's own services and datasets are described in
:mod:`registry.publishing.registry_datasets`.

The output meets the DCAT-AP 3.0.1 Base and Range shapes (``tests/test_catalogue.py``): the
objects of properties whose range DCAT-AP checks (licences, media types, standards, publishers)
are typed with that range, and publishers carry their ``foaf:name``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import (
    NotFound,
)
from registry.base.identity import Principal
from registry.base.vocab import DCAT, DCT, FOAF, HYDRA, ODRL, RDF, ROV, XSD, sparql_prefixes
from registry.kernel import access
from registry.kernel.core import Registry
from registry.markets.sharing import shared_with
from registry.publishing.registry_datasets import (
    SPARQL_RESULTS,
    catalogue_iri,
    dataset_triples,
    own_part,
)

PAGE_SIZE = 50

MEMBER_CATALOGUES = (
    sparql_prefixes("fdi")
    + """SELECT DISTINCT ?catalogue WHERE { ?catalogue a fdi:MemberCatalogue } ORDER BY ?catalogue
"""
)

# DCAT-AP's Range shapes check these objects' classes; the classes follow from the properties'
# declared ranges (DCMI terms, DCAT 3), so the registry states them.
RANGES = {
    DCT.license: DCT.LicenseDocument,
    DCT.conformsTo: DCT.Standard,
    DCT.format: DCT.MediaTypeOrExtent,
    DCAT.mediaType: DCT.MediaType,
    DCAT.dataset: DCAT.Dataset,
    DCAT.distribution: DCAT.Distribution,
    DCAT.service: DCAT.DataService,
    DCAT.accessService: DCAT.DataService,
    DCAT.servesDataset: DCAT.Dataset,
    DCAT.catalog: DCAT.Catalog,
    DCT.accessRights: DCT.RightsStatement,
    FOAF.homepage: FOAF.Document,
    DCT.publisher: FOAF.Agent,
    DCT.creator: FOAF.Agent,
}


@dataclass(frozen=True)
class CataloguePage:
    """One page of the registry's catalogue, as triples, with its paging links."""

    iri: str
    page: int
    pages: int
    total: int
    triples: list[ox.Triple]

    def link(self, page: int) -> str:
        return f"{self.iri}?page={page}"

    @property
    def next(self) -> str | None:
        return self.link(self.page + 1) if self.page < self.pages else None

    @property
    def previous(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None


def catalogue(
    registry: Registry,
    principal: Principal | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> CataloguePage:
    """Page ``page`` (from 1) of the registry's catalogue as ``principal`` may see it.

    Raises NotFound for a page beyond the last."""
    base = registry.settings.base_iri
    members = [
        row["catalogue"].value
        for row in rdf.solutions(
            registry.index.query(MEMBER_CATALOGUES, registry.dataset_for(principal))
        )
    ]
    pages = max(1, math.ceil(len(members) / page_size))
    if page < 1 or page > pages:
        raise NotFound(f"the catalogue has {pages} page(s); there is no page {page}")
    shown = members[(page - 1) * page_size : page * page_size]
    triples = own_part(registry) + _shared_part(registry, principal)
    for iri in shown:
        triples += _member_part(registry, iri, principal)
    result = CataloguePage(catalogue_iri(base), page, pages, len(members), [])
    triples += _paging(result, shown)
    return CataloguePage(result.iri, page, pages, len(members), _with_ranges(registry, triples))


def _shared_part(registry: Registry, principal: Principal | None) -> list[ox.Triple]:
    """For an authenticated requester, one dataset per agreement sharing data with it: its
    publisher, its policy (the ODRL agreement) and the records it covers, queryable at /sparql.
    Nobody else's catalogue lists them (they come from the requester's shared graph)."""
    if principal is None or not principal.organisation:
        return []
    base = registry.settings.base_iri
    cat = ox.NamedNode(catalogue_iri(base))
    out: list[ox.Triple] = []
    for shared in shared_with(registry, principal):
        agreement = ox.NamedNode(shared["agreement"])
        name = "shared-" + agreement.value.rstrip("/").rsplit("/", 1)[-1]
        publisher = ox.NamedNode(shared.get("assigner") or _assigner(registry, agreement.value))
        out += dataset_triples(
            cat,
            name,
            "Data shared with you",
            "Records another organisation shares with you under a data-sharing agreement; "
            "query them at the SPARQL endpoint.",
            agreement,
            [(base + "sparql", SPARQL_RESULTS, ox.NamedNode(cat.value + "#sparql"), None)],
            publisher,
        )
        node = ox.NamedNode(f"{cat.value}#{name}")
        out.append(ox.Triple(node, ODRL.hasPolicy, agreement))
        out += [ox.Triple(node, DCT.hasPart, ox.NamedNode(r["id"])) for r in shared["records"]]
    return out


def _member_part(registry: Registry, iri: str, principal: Principal | None) -> list[ox.Triple]:
    node = ox.NamedNode(iri)
    cat = ox.NamedNode(catalogue_iri(registry.settings.base_iri))
    return [
        ox.Triple(cat, DCAT.catalog, node),
        ox.Triple(node, RDF.type, DCAT.Catalog),
        *registry.record(iri, principal),
    ]


def _paging(page: CataloguePage, shown: list[str]) -> list[ox.Triple]:
    cat = ox.NamedNode(page.iri)
    view = ox.NamedNode(page.link(page.page))
    out = [
        ox.Triple(cat, RDF.type, HYDRA.Collection),
        ox.Triple(cat, HYDRA.totalItems, ox.Literal(str(page.total), datatype=_INTEGER)),
        ox.Triple(cat, HYDRA.view, view),
        ox.Triple(view, RDF.type, HYDRA.PartialCollectionView),
        ox.Triple(view, HYDRA.first, ox.NamedNode(page.link(1))),
        ox.Triple(view, HYDRA.last, ox.NamedNode(page.link(page.pages))),
    ]
    out += [ox.Triple(cat, HYDRA.member, ox.NamedNode(iri)) for iri in shown]
    if page.next:
        out.append(ox.Triple(view, HYDRA.next, ox.NamedNode(page.next)))
    if page.previous:
        out.append(ox.Triple(view, HYDRA.previous, ox.NamedNode(page.previous)))
    return out


def _with_ranges(registry: Registry, triples: list[ox.Triple]) -> list[ox.Triple]:
    """The triples, with the objects of range-checked properties typed, and each publisher
    named (its legal name in the registry, else its IRI)."""
    extra: list[ox.Triple] = []
    for t in triples:
        cls = RANGES.get(t.predicate)
        if cls is not None and not isinstance(t.object, ox.Literal):
            extra.append(ox.Triple(t.object, RDF.type, cls))
            if cls == FOAF.Agent and isinstance(t.object, ox.NamedNode):
                extra.append(ox.Triple(t.object, FOAF.name, _name_of(registry, t.object)))
    return list(dict.fromkeys(triples + extra))


def _name_of(registry: Registry, agent: ox.NamedNode) -> ox.Literal:
    for q in registry.index.quads(
        agent, ROV.legalName, None, access.public_graph(registry.settings.base_iri)
    ):
        if isinstance(q.object, ox.Literal):
            return ox.Literal(q.object.value)
    return ox.Literal(agent.value)


_INTEGER = XSD.integer


def _assigner(registry: Registry, agreement: str) -> str:
    """The organisation that made ``agreement``, a record the register holds."""
    info = registry.info(agreement)
    assert info is not None and info.owner is not None  # an agreement is its assigner's
    return info.owner
