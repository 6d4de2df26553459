"""What a member's own pages list: the records its organisation registered (assets and rights
to operate), newest change first, with their labels. Reads only the organisation's own records."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.vocab import FDI, RDFS
from registry.kernel.core import Registry


def owned_assets_and_rights(
    registry: Registry, organisation: str, limit: int = 500
) -> list[dict[str, Any]]:
    """The assets and rights to operate ``organisation`` registered (up to ``limit``)."""
    rows = registry.records(
        FDI.FlexibleAsset, FDI.RightToOperate, owner=organisation, order="newest", limit=limit
    )
    out = []
    for r in rows:
        labels = registry.index.quads(ox.NamedNode(r.iri), RDFS.label, None)
        out.append(
            {
                "iri": r.iri,
                "kind": "asset" if r.type == FDI.FlexibleAsset.value else "right to operate",
                "label": rdf.value(labels[0].object) if labels else r.iri.rsplit("/", 1)[-1],
                "status": r.status,
                "version": r.version,
                "modified": r.modified,
            }
        )
    return out
