"""What a data-sharing agreement says (its ODRL terms) and whether it is in force; the names
its notices use (registry.markets.sharing)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import rdf
from registry.base.vocab import FDI, ODRL, ROV
from registry.kernel.lifecycle import (
    content,
    objects,
    text,
)
from registry.trust.schemes import MARKET_ROLES

if TYPE_CHECKING:
    from registry.kernel.core import Registry

AGREEMENT = FDI.DataSharingAgreement
COLLECTIONS = {
    FDI.ProviderAssets.value: FDI.FlexibleAsset.value,
    FDI.ProviderRightsToOperate.value: FDI.RightToOperate.value,
    FDI.ProviderCommercialInformation.value: FDI.CommercialInformation.value,
}
# The market roles an agreement may name as its assignee (every role but the scheme operator's).
ROLES = frozenset(r.value for n, r in MARKET_ROLES.items() if n != "SchemeOperator")
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Terms:
    """What an agreement says, and whether it is in force."""

    iri: str
    assigner: str | None
    assignees: frozenset[str]
    targets: frozenset[str]
    purposes: tuple[str, ...]
    actions: tuple[str, ...]
    in_force: bool

    def covers(self, iri: str, rtype: str, owner: str | None) -> bool:
        """Whether the agreement shares this record (the agreement itself included)."""
        if iri == self.iri:
            return True
        if owner is None or owner != self.assigner:
            return False
        return iri in self.targets or any(COLLECTIONS.get(t) == rtype for t in self.targets)


def terms_of(
    iri: str, triples: Iterable[ox.Triple], owner: str | None, status: str | None
) -> Terms:
    triples = list(triples)
    node = ox.NamedNode(iri)
    rules = objects(triples, node, ODRL.permission)
    constraints = [c for r in rules for c in objects(triples, r, ODRL.constraint)]
    assigner = text(triples, node, ODRL.assigner)
    return Terms(
        iri=iri,
        assigner=assigner,
        assignees=frozenset(rdf.value(t) for t in objects(triples, node, ODRL.assignee)),
        targets=frozenset(rdf.value(t) for t in objects(triples, node, ODRL.target)),
        purposes=tuple(
            sorted(
                rdf.value(o)
                for c in constraints
                if ODRL.purpose in objects(triples, c, ODRL.leftOperand)
                for o in objects(triples, c, ODRL.rightOperand)
            )
        ),
        actions=tuple(
            sorted({rdf.value(a) for r in rules for a in objects(triples, r, ODRL.action)})
        ),
        in_force=status != WITHDRAWN and assigner is not None and assigner == owner,
    )


def organisation_name(registry: Registry, org: str | None) -> str | None:
    """An organisation's legal name, or its IRI when the registry does not know it."""
    if org is None or registry.info(org) is None:
        return org
    return text(content(registry, org), ox.NamedNode(org), ROV.legalName) or org


def local_name(iri: str) -> str:
    """The local name of a vocabulary IRI (after its ``#``)."""
    return iri.rsplit("#", 1)[-1]
