"""DCAT: the registry's catalogue of itself and of its members' catalogues.

The registry publishes one DCAT 3 catalogue (``{base}catalogue``): its own data services (the
SPARQL endpoint and the HTTP API, each with ``dcat:endpointURL``, ``dcat:endpointDescription``
and ``dct:conformsTo``), its own datasets (the public directory, the asset register, the ontology
and the shapes, with distributions and licences), and the catalogues its members submit
(``fdi:MemberCatalogue`` records), one page of them at a time (Hydra ``PartialCollectionView``,
``?page=N``). What a requester sees of the members' catalogues comes from the requester's own
dataset (:meth:`Registry.dataset_for`): a catalogue published to scheme members only is listed
to members only.

Members submit catalogues with :func:`submit_catalogue`: checked against ``shapes/catalogue.ttl``
and with the publisher (``dct:publisher``) checked against the member's own record.

The output meets the DCAT-AP 3.0.1 Base and Range shapes (``tests/test_catalogue.py``): the
objects of properties whose range DCAT-AP checks (licences, media types, standards, publishers)
are typed with that range, and publishers carry their ``foaf:name``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from registry.base.errors import (
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.base.vocab import DCAT, DCT, FDI, FOAF, HYDRA, ODRL, RDF, RDFS, ROV, VCARD, XSD
from registry.kernel import access
from registry.kernel.core import Registration, Registry, Staged, Transaction, etag_matches
from registry.shacl.validation import check
from registry.submissions.formats import Parsed
from registry.submissions.records import assign_iris, rename
from registry.trust.schemes import operator_iri

PAGE_SIZE = 50
AUDIENCES = ("public", "members")

MEMBER_CATALOGUES = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
SELECT DISTINCT ?catalogue WHERE { ?catalogue a fdi:MemberCatalogue } ORDER BY ?catalogue
"""

APACHE_2 = ox.NamedNode("https://www.apache.org/licenses/LICENSE-2.0")
SPARQL_PROTOCOL = ox.NamedNode("https://www.w3.org/TR/sparql11-protocol/")
SPARQL_QUERY = ox.NamedNode("https://www.w3.org/TR/sparql11-query/")
OPENAPI = ox.NamedNode("https://spec.openapis.org/oas/v3.1.0")
OWL_2 = ox.NamedNode("https://www.w3.org/TR/owl2-overview/")
SHACL = ox.NamedNode("https://www.w3.org/TR/shacl/")
TURTLE = ox.NamedNode("https://www.iana.org/assignments/media-types/text/turtle")
JSON_LD = ox.NamedNode("https://www.iana.org/assignments/media-types/application/ld+json")
SPARQL_RESULTS = ox.NamedNode(
    "https://www.iana.org/assignments/media-types/application/sparql-results+json"
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


def catalogue_iri(base: str) -> str:
    return base + "catalogue"


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
        for row in registry.index.query(MEMBER_CATALOGUES, registry.dataset_for(principal))  # type: ignore[union-attr]
    ]
    pages = max(1, math.ceil(len(members) / page_size))
    if page < 1 or page > pages:
        raise NotFound(f"the catalogue has {pages} page(s); there is no page {page}")
    shown = members[(page - 1) * page_size : page * page_size]
    triples = _own_part(registry) + _shared_part(registry, principal)
    for iri in shown:
        triples += _member_part(registry, iri, principal)
    result = CataloguePage(catalogue_iri(base), page, pages, len(members), [])
    triples += _paging(result, shown)
    return CataloguePage(result.iri, page, pages, len(members), _with_ranges(registry, triples))


def _own_part(registry: Registry) -> list[ox.Triple]:
    """The registry itself: its data services and its own datasets."""
    settings = registry.settings
    base = settings.base_iri
    cat = ox.NamedNode(catalogue_iri(base))
    data_licence = ox.NamedNode(settings.data_licence)
    operator = ox.NamedNode(operator_iri(base))
    sparql, api = ox.NamedNode(cat.value + "#sparql"), ox.NamedNode(cat.value + "#api")
    out = _describe(
        cat,
        DCAT.Catalog,
        "Flexibility registry catalogue",
        "The datasets and data services of the flexibility digital infrastructure "
        "registry, and the data and service catalogues its members publish.",
    )
    changed = last_change(registry)
    out += [
        ox.Triple(cat, DCT.publisher, operator),
        ox.Triple(cat, DCT.modified, changed),
        ox.Triple(cat, DCT.license, data_licence),
        ox.Triple(cat, FOAF.homepage, ox.NamedNode(base)),
        ox.Triple(cat, DCAT.service, sparql),
        ox.Triple(cat, DCAT.service, api),
    ]
    out += _service(
        sparql,
        "SPARQL 1.1 endpoint",
        "Read-only SPARQL 1.1 queries over the records the requester may see.",
        base + "sparql",
        base + "sparql",
        [SPARQL_PROTOCOL, SPARQL_QUERY],
        data_licence,
    )
    out += _service(
        api,
        "Registry HTTP API",
        "Registration, updates, validation, linked-data records and this catalogue "
        "(OpenAPI description).",
        base,
        base + "openapi.json",
        [OPENAPI],
        data_licence,
    )
    datasets = [
        (
            "directory",
            "Public directory",
            "Organisations, scheme licences and member catalogues: what anyone may read.",
            data_licence,
            [(base + "sparql", SPARQL_RESULTS, sparql, None)],
        ),
        (
            "assets",
            "Asset register",
            "Flexible assets and rights to operate. Each provider's "
            "records are visible to the provider and to the market operators it shares them with "
            "under a data-sharing agreement.",
            data_licence,
            [(base + "sparql", SPARQL_RESULTS, sparql, None)],
        ),
        (
            "ontology",
            "FDI ontology",
            "The registry's vocabulary (OWL).",
            APACHE_2,
            [
                (base + "ns", TURTLE, None, base + "ns"),
                (base + "ns/context.jsonld", JSON_LD, None, base + "ns/context.jsonld"),
            ],
        ),
        (
            "shapes",
            "FDI shapes",
            "The SHACL rules every submission is checked against.",
            APACHE_2,
            [(base + "shapes", TURTLE, None, base + "shapes")],
        ),
    ]
    contact = ox.NamedNode(cat.value + "#contact")
    out += [
        ox.Triple(contact, RDF.type, VCARD.Kind),
        ox.Triple(contact, RDF.type, VCARD.Organization),
        ox.Triple(contact, VCARD.fn, ox.Literal(settings.operator_name)),
        ox.Triple(contact, VCARD.hasEmail, ox.NamedNode("mailto:" + settings.operator_email)),
    ]
    published = {"ontology": ontology_dir(), "shapes": shapes_dir()}
    for name, title, description, licence, distributions in datasets:
        out += _dataset(cat, name, title, description, licence, distributions, operator)
        node = ox.NamedNode(f"{cat.value}#{name}")
        modified = files_modified(published[name]) if name in published else changed
        out += [ox.Triple(node, DCAT.contactPoint, contact)]
        out += [ox.Triple(node, DCT.modified, modified)] if modified is not None else []
    out += [
        ox.Triple(sparql, DCAT.servesDataset, ox.NamedNode(f"{cat.value}#{n}"))
        for n in ("directory", "assets")
    ]
    out += [
        ox.Triple(api, DCAT.servesDataset, ox.NamedNode(f"{cat.value}#{n}"))
        for n in ("directory", "assets")
    ]
    out += [
        ox.Triple(ox.NamedNode(cat.value + "#ontology"), DCT.conformsTo, OWL_2),
        ox.Triple(ox.NamedNode(cat.value + "#shapes"), DCT.conformsTo, SHACL),
    ]
    restricted = ox.NamedNode(cat.value + "#asset-access")
    out += [
        ox.Triple(ox.NamedNode(cat.value + "#assets"), DCT.accessRights, restricted),
        ox.Triple(
            restricted,
            RDFS.label,
            ox.Literal("Shared with market operators under data-sharing agreements", language="en"),
        ),
    ]
    return out


def last_change(registry: Registry) -> ox.Literal:
    """When the registry's records last changed: its journal's last entry (its start when
    empty), as ``xsd:dateTime``."""
    rows = registry.journal.read("SELECT MAX(time) FROM entry", ())
    time = rows[0][0] if rows and rows[0][0] else "1970-01-01T00:00:00Z"
    return ox.Literal(time, datatype=XSD.dateTime)


def files_modified(directory: Path) -> ox.Literal | None:
    """The latest ``dct:modified`` the Turtle files of ``directory`` state for themselves."""
    dates = [
        q.object
        for path in ttl_files(directory)
        for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE)
        if q.predicate == DCT.modified and isinstance(q.object, ox.Literal)
    ]
    return max(dates, key=lambda d: d.value, default=None)


def _describe(
    node: ox.NamedNode, cls: ox.NamedNode, title: str, description: str
) -> list[ox.Triple]:
    return [
        ox.Triple(node, RDF.type, cls),
        ox.Triple(node, DCT.title, ox.Literal(title, language="en")),
        ox.Triple(node, DCT.description, ox.Literal(description, language="en")),
    ]


def _service(
    node: ox.NamedNode,
    title: str,
    description: str,
    endpoint: str,
    described: str,
    standards: list[ox.NamedNode],
    licence: ox.NamedNode,
) -> list[ox.Triple]:
    out = _describe(node, DCAT.DataService, title, description)
    out += [
        ox.Triple(node, DCAT.endpointURL, ox.NamedNode(endpoint)),
        ox.Triple(node, DCAT.endpointDescription, ox.NamedNode(described)),
        ox.Triple(node, DCT.license, licence),
    ]
    return out + [ox.Triple(node, DCT.conformsTo, s) for s in standards]


def _dataset(
    cat: ox.NamedNode,
    name: str,
    title: str,
    description: str,
    licence: ox.NamedNode,
    distributions: list[tuple[str, ox.NamedNode, ox.NamedNode | None, str | None]],
    publisher: ox.NamedNode,
) -> list[ox.Triple]:
    node = ox.NamedNode(f"{cat.value}#{name}")
    out = [ox.Triple(cat, DCAT.dataset, node), ox.Triple(node, DCT.publisher, publisher)]
    out += _describe(node, DCAT.Dataset, title, description)
    for n, (url, media, service, download) in enumerate(distributions, 1):
        dist = ox.NamedNode(f"{cat.value}#{name}-distribution-{n}")
        out += [
            ox.Triple(node, DCAT.distribution, dist),
            ox.Triple(dist, RDF.type, DCAT.Distribution),
            ox.Triple(dist, DCAT.accessURL, ox.NamedNode(url)),
            ox.Triple(dist, DCAT.mediaType, media),
            ox.Triple(dist, DCT.license, licence),
        ]
        if service is not None:
            out.append(ox.Triple(dist, DCAT.accessService, service))
        if download is not None:
            out.append(ox.Triple(dist, DCAT.downloadURL, ox.NamedNode(download)))
    return out


def _shared_part(registry: Registry, principal: Principal | None) -> list[ox.Triple]:
    """For an authenticated requester, one dataset per agreement sharing data with it: its
    publisher, its policy (the ODRL agreement) and the records it covers, queryable at /sparql.
    Nobody else's catalogue lists them (they come from the requester's shared graph)."""
    if principal is None or not principal.organisation:
        return []
    from registry.markets.sharing import shared_with

    base = registry.settings.base_iri
    cat = ox.NamedNode(catalogue_iri(base))
    out: list[ox.Triple] = []
    for shared in shared_with(registry, principal):
        agreement = ox.NamedNode(shared["agreement"])
        name = "shared-" + agreement.value.rstrip("/").rsplit("/", 1)[-1]
        publisher = ox.NamedNode(shared.get("assigner") or registry.info(agreement.value).owner)  # type: ignore[union-attr]
        out += _dataset(
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


_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


# --- members' catalogues ----------------------------------------------------------------------


def submit_catalogue(
    registry: Registry, parsed: Parsed, principal: Principal, audience: str = "public"
) -> Registration:
    """Register the member catalogues (``fdi:MemberCatalogue``) of one submission, published by
    ``principal``'s organisation to ``audience`` (``public``, or ``members`` of the scheme).

    A catalogue without ``dct:publisher`` gets the principal's organisation. Raises
    Unauthenticated (anonymous), Forbidden (another publisher, or an organisation the registry
    does not hold), UnusableInput (other records, or an unknown audience), ValidationFailed.
    """
    org = _member(registry, principal)
    graph = _audience_graph(registry, audience)
    parsed = _with_publisher(parsed, org)
    with registry.transaction(principal.actor, "register") as tx:
        staged = _stage(registry, tx, parsed, org, graph)
    return staged.registration(tx)


def update_catalogue(
    registry: Registry, iri: str, parsed: Parsed, principal: Principal, if_match: str | None
) -> Registration:
    """Replace a member catalogue with a new version (the submission holds that one catalogue,
    under any local ID), keeping its audience.

    Raises PreconditionRequired, PreconditionFailed, NotFound, Forbidden (not the publisher),
    UnusableInput, ValidationFailed.
    """
    org = _member(registry, principal)
    if not if_match:
        raise PreconditionRequired("updates need If-Match with the catalogue's current ETag")
    with registry.transaction(principal.actor, "update") as tx:
        info = registry.info(iri)
        if info is None or info.type != FDI.MemberCatalogue.value:
            raise NotFound(f"no member catalogue {iri}")
        if info.owner != org:
            raise Forbidden(f"only the catalogue's publisher may update {iri}")
        if not etag_matches(if_match, info.version):
            raise PreconditionFailed(
                f"{iri} has changed: its current ETag is {info.etag}", current=info.etag
            )
        renamed = _renamed(parsed, ox.NamedNode(iri))
        with_publisher = _with_publisher(renamed, org)
        staged = _stage(registry, tx, with_publisher, org, ox.NamedNode(info.graph), updating=iri)
    return staged.registration(tx)


def _member(registry: Registry, principal: Principal) -> str:
    if principal.organisation is None:
        raise Unauthenticated("catalogues are submitted by members: present a client certificate")
    if registry.info(principal.organisation) is None:
        raise Forbidden(f"{principal.organisation} has no record in this registry")
    return principal.organisation


def _audience_graph(registry: Registry, audience: str) -> ox.NamedNode:
    base = registry.settings.base_iri
    if audience == "public":
        return access.public_graph(base)
    if audience == "members":
        return access.members_graph(base)
    raise UnusableInput(f"unknown audience {audience!r}: use one of {', '.join(AUDIENCES)}")


def _catalogues(triples: list[ox.Triple]) -> list[ox.NamedNode | ox.BlankNode]:
    return [
        t.subject for t in triples if t.predicate == RDF.type and t.object == FDI.MemberCatalogue
    ]


def _with_publisher(parsed: Parsed, org: str) -> Parsed:
    """The submission with each catalogue's publisher set to ``org`` where it is missing.

    Raises Forbidden if a catalogue names another publisher."""
    me = ox.NamedNode(org)
    added = []
    for subject in _catalogues(parsed.triples):
        publishers = [
            t.object
            for t in parsed.triples
            if t.subject == subject and t.predicate == DCT.publisher
        ]
        others = [p for p in publishers if p != me]
        if others:
            raise Forbidden(
                f"a catalogue's publisher must be your own organisation <{org}>; this one names "
                + ", ".join(str(p) for p in others)
            )
        if not publishers:
            added.append(ox.Triple(subject, DCT.publisher, me))
    return Parsed(parsed.source, parsed.format, parsed.triples + added, parsed.origins)


def _renamed(parsed: Parsed, iri: ox.NamedNode) -> Parsed:
    found = _catalogues(parsed.triples)
    if len(found) != 1:
        raise UnusableInput("an update holds exactly one fdi:MemberCatalogue")
    triples = rename(parsed.triples, {found[0]: iri})
    return Parsed(
        parsed.source, parsed.format, triples, {iri: parsed.origins.get(found[0], iri.value)}
    )


def _stage(
    registry: Registry,
    tx: Transaction,
    parsed: Parsed,
    org: str,
    graph: ox.NamedNode,
    updating: str | None = None,
) -> Staged:
    # Every target is checked (not only the records, as in Registry.stage): the datasets,
    # distributions and services of a catalogue have rules of their own, and none of the
    # catalogue rules needs other registry records.
    report, _, split = check(parsed, registry.shapes, on=registry.today())
    if not report.conforms:
        raise ValidationFailed(
            f"{len(report.violations)} rule(s) broken in {parsed.source}; nothing was stored",
            report,
        )
    if not split.records or any(r.type != FDI.MemberCatalogue for r in split.records):
        raise UnusableInput("a catalogue submission holds fdi:MemberCatalogue records only")
    renaming = assign_iris(split.records, registry.settings.base_iri)
    registry.refuse_existing(split.records, renaming, updating)
    for record in split.records:
        tx.put(
            renaming[record.subject],
            record.type,
            rename(record.triples, renaming),
            graph=graph,
            status="registered",
            owner=org,
        )
    return Staged(report, split.records, renaming, [], None)
