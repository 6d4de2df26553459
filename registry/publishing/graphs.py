"""What the registry's graph IRIs (``{base}graph/...``) are, when someone dereferences one.

Each audience graph (registry.kernel.access) is described, not listed: its content is read through
the
SPARQL endpoint by those who may see it.
"""

from __future__ import annotations

import pyoxigraph as ox

from registry.base import iris
from registry.base.errors import NotFound
from registry.base.vocab import FDI, RDF, RDFS
from registry.kernel.core import Registry

_KINDS = {
    "public": (
        "Public directory graph",
        "Organisations, scheme licences, schemes and member catalogues published to everyone.",
    ),
    "members": ("Scheme members' graph", "What every verified member of the scheme may read."),
    "org": (
        "Organisation's own graph",
        "One organisation's own records: its assets, rights to "
        "operate, commercial information and agreements. Only that organisation reads it.",
    ),
    "shared": (
        "Graph shared with an organisation",
        "Copies of the records other organisations "
        "share with one organisation under data-sharing agreements. Only that "
        "organisation reads it.",
    ),
}


def describe_graph(registry: Registry, path: str) -> list[ox.Triple]:
    """Triples describing the graph ``{base}graph/{path}``. Raises NotFound for a graph the
    registry does not have."""
    base = registry.settings.base_iri
    kind, _, slug = path.partition("/")
    if kind not in _KINDS or bool(slug) != (kind in ("org", "shared")) or "/" in slug:
        raise NotFound(f"no graph {base}graph/{path}")
    node = ox.NamedNode(f"{base}graph/{path}")
    label, comment = _KINDS[kind]
    triples = [
        ox.Triple(node, RDF.type, FDI.AudienceGraph),
        ox.Triple(node, RDFS.label, ox.Literal(label, language="en")),
        ox.Triple(node, RDFS.comment, ox.Literal(comment, language="en")),
        ox.Triple(node, RDFS.seeAlso, ox.NamedNode(base + "sparql")),
    ]
    if slug:
        organisation = iris.organisation(base, slug)
        if registry.info(organisation) is None:
            raise NotFound(f"no graph {node.value}")
        triples.append(ox.Triple(node, RDFS.seeAlso, ox.NamedNode(organisation)))
    return triples
