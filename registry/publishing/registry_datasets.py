"""The registry's own part of its DCAT catalogue: its data services (the SPARQL endpoint, the
HTTP API) and its own datasets (the directory, the asset register, the ontology, the shapes),
with distributions, licences and the standards they conform to (registry.publishing.catalogue).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.base.vocab import DCAT, DCT, FOAF, RDF, RDFS, VCARD, XSD
from registry.kernel.core import Registry
from registry.trust.schemes import operator_iri

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

Distribution = tuple[str, ox.NamedNode, ox.NamedNode | None, str | None]
"""A dataset's distribution: its access URL, media type, the service serving it, its download."""


def catalogue_iri(base: str) -> str:
    return base + "catalogue"


def own_part(registry: Registry) -> list[ox.Triple]:
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
    datasets: list[tuple[str, str, str, ox.NamedNode, list[Distribution]]] = [
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
        out += dataset_triples(cat, name, title, description, licence, distributions, operator)
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


def dataset_triples(
    cat: ox.NamedNode,
    name: str,
    title: str,
    description: str,
    licence: ox.NamedNode,
    distributions: list[Distribution],
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
