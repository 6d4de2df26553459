"""Who may see what: the audience graphs records live in, and the dataset of a requester.

Access is granted by choosing among a *few* graphs per requester (docs/facts.md, fact 5: a dataset
listed as one graph per record is orders of magnitude slower):

| graph | holds | who sees it |
|---|---|---|
| ``{base}graph/public`` | the directory: organisations, licences, catalogues | everyone |
| ``{base}graph/members`` | what every verified scheme member may see | authenticated members |
| ``{base}graph/org/{id}`` | one organisation's own records (assets, rights, agreements) | it |
| ``{base}graph/shared/{id}`` | copies of what others share with it, assets it operates | it |

The shared graph is kept in step by the write path: when a record changes, or an agreement
that covers it does, the copies change in the same journal entry.
"""

from __future__ import annotations

import pyoxigraph as ox

from registry.base import iris
from registry.base.identity import Principal
from registry.base.vocab import FDI

PUBLIC_TYPES = frozenset({FDI.Organisation.value, FDI.SchemeLicence.value, FDI.Scheme.value})


def public_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(base + "graph/public")


def members_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(base + "graph/members")


def org_graph(base: str, organisation: str) -> ox.NamedNode:
    """The private graph of an organisation (named after the last segment of its IRI)."""
    return ox.NamedNode(f"{base}graph/org/{_slug(organisation)}")


def shared_graph(base: str, organisation: str) -> ox.NamedNode:
    """The graph of copies other organisations share with ``organisation``."""
    return ox.NamedNode(f"{base}graph/shared/{_slug(organisation)}")


def _slug(organisation: str) -> str:
    return organisation.rstrip("/").rsplit("/", 1)[-1]


def graph_for(base: str, record_type: str, owner: str | None) -> ox.NamedNode:
    """Where a record of this type, owned by ``owner``, is stored."""
    if record_type in PUBLIC_TYPES or not owner or not owner.startswith(iris.under(base, "org")):
        return public_graph(base)
    return org_graph(base, owner)


def dataset_for(base: str, principal: Principal) -> list[ox.NamedNode]:
    """The graphs a requester may query: public, plus members, own and shared when authenticated."""
    graphs = [public_graph(base)]
    if principal.organisation:
        graphs += [
            members_graph(base),
            org_graph(base, principal.organisation),
            shared_graph(base, principal.organisation),
        ]
    return graphs
