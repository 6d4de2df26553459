"""Proposals as stored: the record of a rules proposal read back (see registry.rules.proposals)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.errors import NotFound
from registry.base.vocab import DCT, FDI
from registry.kernel.lifecycle import content, first, objects, parse_datetime, text

if TYPE_CHECKING:
    from registry.kernel.core import Registry

PROPOSAL = FDI.RulesProposal


def rules_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(base + "graph/rules")


@dataclass
class Proposal:
    """A proposal as stored."""

    iri: str
    status: str
    proposer: str
    version: str
    base: str
    title: str
    description: str
    documents: dict[str, str]
    created: str
    effective: dt.datetime | None = None
    comments: list[dict[str, str]] = field(default_factory=list)
    etag: str = ""

    def summary(self, base_url: str) -> dict[str, Any]:
        uid = self.iri.rsplit("/", 1)[-1]
        return {
            "id": self.iri,
            "url": f"{base_url}proposals/{uid}",
            "status": self.status,
            "proposer": self.proposer,
            "title": self.title,
            "version": self.version,
            "baseVersion": self.base,
            "effective": self.effective.isoformat() if self.effective else None,
            "created": self.created,
            "documents": sorted(self.documents),
            "impact": f"{base_url}proposals/{uid}/impact",
            "inbox": f"{base_url}proposals/{uid}/inbox",
        }

    def as_dict(self, base_url: str, *, documents: bool = True) -> dict[str, Any]:
        out = self.summary(base_url)
        out["description"] = self.description
        out["comments"] = self.comments
        if documents:
            out["documents"] = dict(sorted(self.documents.items()))
        return out


def read(registry: Registry, iri: str) -> Proposal:
    """A proposal from its record. Raises NotFound."""
    info = registry.info(iri)
    if info is None or info.type != PROPOSAL.value:
        raise NotFound(f"no proposal {iri}")
    triples = content(registry, iri)
    s = ox.NamedNode(iri)
    documents = {}
    for node in objects(triples, s, FDI.proposalDocument):
        documents[text(triples, node, FDI.documentName) or ""] = (
            text(triples, node, FDI.documentText) or ""
        )
    comments = []
    for node in objects(triples, s, FDI.proposalComment):
        comments.append(
            {
                "id": rdf.value(node),
                "author": text(triples, node, DCT.creator) or "",
                "published": text(triples, node, DCT.created) or "",
                "content": text(triples, node, DCT.description) or "",
            }
        )
    comments.sort(key=lambda c: (c["published"], c["id"]))
    return Proposal(
        iri,
        info.status or "proposed",
        text(triples, s, DCT.creator) or "",
        text(triples, s, FDI.proposedVersion) or "",
        text(triples, s, FDI.baseVersion) or "",
        text(triples, s, DCT.title) or "",
        text(triples, s, DCT.description) or "",
        documents,
        text(triples, s, DCT.created) or "",
        parse_datetime(first(triples, s, FDI.effectiveFrom)),
        comments,
        info.etag,
    )


def iri_of(registry: Registry, uid: str) -> str:
    return iris.proposal(registry.settings.base_iri, uid)


def by_uid(registry: Registry, uid: str) -> Proposal:
    return read(registry, iri_of(registry, uid))


def every(registry: Registry) -> list[Proposal]:
    return [read(registry, r.iri) for r in registry.records(PROPOSAL)]
