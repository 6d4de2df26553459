"""Who stands in which relation to a record: its owner, the asset's current operator, the
asset's owner, an organisation it is shared with.

Control follows the operator: an asset is read and updated by the organisation operating it
today (through a current right to operate), or, while no right is current, by the FSP that
registered it. The *asset owner* is the organisation the right in force names as
``fdi:assetOwner`` (by the IRI of its record) and that holds the ``AssetOwner`` role: it confirms
or contests claims to operate its asset. The relations are the vocabulary of the authorisation table
(``registry.kernel.authorisation``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import rdf
from registry.base.clock import today
from registry.base.identity import Principal
from registry.base.vocab import FDI, sparql_prefixes
from registry.trust import membership_view
from registry.trust.permissions import may_message, roles_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry

OWNER = "owner"  # the organisation that registered (and stores) the record
OPERATOR = "operator"  # the asset's current operator (its registrant while no right is current)
ASSET_OWNER = "asset-owner"  # the AssetOwner organisation the right in force names
SCHEME_OPERATOR = "scheme-operator"
MAY_MESSAGE = "may-message"  # the requester's roles may message the organisation's (fdi:mayMessage)
NONE = "none"

CURRENT_RIGHTS = (
    sparql_prefixes("fdi")
    + """
SELECT ?asset ?right ?operator ?from ?to WHERE {
  ?right a fdi:RightToOperate ; fdi:asset ?asset ; fdi:operator ?operator ; fdi:validFrom ?from .
  OPTIONAL { ?right fdi:validTo ?to }
} ORDER BY ?from
"""
)
OWNERS_NAMED = (
    sparql_prefixes("fdi")
    + """
SELECT ?right ?owner WHERE { ?right a fdi:RightToOperate ; fdi:assetOwner ?owner }
"""
)


def current_right(registry: Registry, asset: str, on: dt.date | None = None) -> str | None:
    """The right to operate ``asset`` in force on a day (today by default), if any."""
    found = _current(registry, asset, on)
    return found[0] if found else None


def operator_of(registry: Registry, asset: str, on: dt.date | None = None) -> str | None:
    """The organisation operating ``asset`` on a day (today by default): the operator of the
    right in force, or the asset's registrant while none is."""
    found = _current(registry, asset, on)
    if found:
        return found[1]
    info = registry.info(asset)
    return info.owner if info else None


def _current(registry: Registry, asset: str, on: dt.date | None) -> tuple[str, str] | None:
    on = on or today()
    for row in rdf.solutions(
        registry.index.query(
            CURRENT_RIGHTS, None, substitutions={ox.Variable("asset"): ox.NamedNode(asset)}
        )
    ):
        start = dt.date.fromisoformat(row["from"].value)
        end = dt.date.fromisoformat(row["to"].value) if row["to"] else None
        if start <= on and (end is None or on < end):
            return row["right"].value, row["operator"].value
    return None


def asset_owners(registry: Registry, asset: str) -> set[str]:
    """The organisations that own ``asset``: named (by IRI) as ``fdi:assetOwner`` of the right
    in force, and holding the AssetOwner role now. The operator names the owner when it files
    the right with the owner's consent; an attestation alone makes nobody the owner."""
    right = current_right(registry, asset)
    if right is None:
        return set()
    named = {
        row["owner"].value
        for row in rdf.solutions(
            registry.index.query(
                OWNERS_NAMED, None, substitutions={ox.Variable("right"): ox.NamedNode(right)}
            )
        )
        if isinstance(row["owner"], ox.NamedNode)
    }
    return {o for o in named if FDI.AssetOwner.value in membership_view.held(registry, o)[0]}


def asset_of(registry: Registry, iri: str) -> str | None:
    """The asset a record is about: itself for an asset, ``fdi:asset`` for a right to operate,
    ``fdi:about`` for an attestation."""
    info = registry.info(iri)
    if info is None:
        return None
    if info.type == FDI.FlexibleAsset.value:
        return iri
    link = {
        FDI.RightToOperate.value: FDI.asset,
        FDI.OperatorClaim.value: FDI.asset,
        FDI.Attestation.value: FDI.about,
    }.get(info.type)
    if link is None:
        return None
    for q in registry.index.quads(ox.NamedNode(iri), link, None):
        return rdf.value(q.object)
    return None


def relations(registry: Registry, principal: Principal, iri: str) -> set[str]:
    """How ``principal`` stands to the record ``iri``: a subset of owner, operator,
    asset-owner, scheme-operator, may-message (``none`` when it stands in none of them)."""
    found: set[str] = set()
    if principal.is_scheme_operator:
        found.add(SCHEME_OPERATOR)
    org = principal.organisation
    info = registry.info(iri)
    if org is None or info is None:
        return found or {NONE}
    if info.owner == org:
        found.add(OWNER)
    if info.type == FDI.Organisation.value and may_message(
        principal.roles, roles_of(registry, iri)
    ):
        found.add(MAY_MESSAGE)
    asset = asset_of(registry, iri)
    if asset is not None:
        if operator_of(registry, asset) == org:
            found.add(OPERATOR)
        if org in asset_owners(registry, asset):
            found.add(ASSET_OWNER)
    return found or {NONE}


def parties(registry: Registry, iri: str) -> set[str]:
    """The organisations told of what happens to a record: its owner and, for an asset's
    records, the asset's current operator."""
    info = registry.info(iri)
    found = {info.owner} if info and info.owner else set()
    asset = asset_of(registry, iri)
    if asset is not None:
        current = operator_of(registry, asset)
        if current:
            found.add(current)
    return found
