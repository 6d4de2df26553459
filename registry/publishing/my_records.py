"""What a member's own pages list: the records its organisation registered (assets and rights
to operate), newest change first, with their labels. Reads only the organisation's own records."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.vocab import FDI, RDFS
from registry.kernel.core import Registry

OWNED = (
    "SELECT iri, type, status, version, modified FROM record "
    "WHERE owner = ? AND type IN (?, ?) ORDER BY modified DESC, iri LIMIT ?"
)


def owned_assets_and_rights(
    registry: Registry, organisation: str, limit: int = 500
) -> list[dict[str, Any]]:
    """The assets and rights to operate ``organisation`` registered (up to ``limit``)."""
    rows = registry.journal.read(
        OWNED, (organisation, FDI.FlexibleAsset.value, FDI.RightToOperate.value, limit)
    )
    out = []
    for iri, rtype, status, version, modified in rows:
        labels = registry.index.quads(ox.NamedNode(iri), RDFS.label, None)
        out.append(
            {
                "iri": iri,
                "kind": "asset" if rtype == FDI.FlexibleAsset.value else "right to operate",
                "label": rdf.value(labels[0].object) if labels else iri.rsplit("/", 1)[-1],
                "status": status,
                "version": version,
                "modified": modified,
            }
        )
    return out
