"""Claims to operate an asset, with consent: a right to operate names an operator only with
the asset owner's consent or the current operator's release.

An FSP that files a right (or a switch, ``fdi:takesOver``) for an asset it does not operate
today does not get the right at once: the registry keeps a *claim* (``fdi:OperatorClaim``,
status ``pending``) and asks the asset's current operator and its owner (``registry.trust.control``)
to decide. Either of them may

* **confirm** it: the right is registered as the claimant's, as if the claimant had filed it
  itself (a switch ends the previous right the day the new one starts), the claim becomes
  ``confirmed``; or
* **contest** it, with a reason: the claim becomes a **dispute** (``disputed``), which the
  claimant, the current operator, the asset owner and the scheme operator see
  (:func:`disputes`) and are notified of.

Nothing about the asset changes while a claim is pending or disputed; a self-asserted consent
reference (``fdi:consentEvidence <urn:...>``) is kept with the claim but grants nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.assets.assets import (
    precheck,
    register_assets,
    require_control,
    rights_in,
    switch_operator,
)
from registry.base import rdf
from registry.base.activities import notification
from registry.base.errors import Forbidden, InvalidTransition, NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI, RDF
from registry.kernel.authorisation import authorise
from registry.kernel.core import ntriples
from registry.kernel.lifecycle import (
    content,
    first,
    record_of,
    require_status,
    restatus,
    text,
    timestamp,
    uid,
    with_status,
)
from registry.submissions.formats import Parsed
from registry.submissions.records import mint
from registry.trust import schemes
from registry.trust.authentication import held_now
from registry.trust.control import OPERATOR, asset_owners, operator_of, relations

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry

CLAIM = FDI.OperatorClaim


def claim_right(
    registry: Registry, parsed: Parsed, principal: Principal
) -> Registration | dict[str, Any]:
    """File a right to operate (a switch with ``fdi:takesOver``): registered at once when the
    filer operates the asset today, else kept as a pending claim (returned as a dict) for the
    current operator or the asset owner to decide.

    Raises Unauthenticated, Forbidden (not an FSP with assets-write, or a right naming another
    operator), NotFound (no such asset), UnusableInput, and what registering raises."""
    authorise(principal, "right.claim")
    rights = rights_in(parsed)
    if len(rights) != 1:
        raise UnusableInput("file one right to operate at a time")
    right, asset, operator = rights[0]
    require_control(registry, principal, right, asset, operator, claim=True)
    if not isinstance(asset, ox.NamedNode) or registry.info(asset.value) is None:
        raise NotFound(f"no asset {rdf.value(asset) if asset else '(fdi:asset missing)'}")
    is_switch = any(t.predicate == FDI.takesOver for t in parsed.triples)
    if OPERATOR in relations(registry, principal, asset.value):
        return (switch_operator if is_switch else register_assets)(registry, parsed, principal)
    if not is_switch:
        precheck(registry, parsed)  # a right overlapping another is refused now, not later
    return _file(registry, parsed, principal, asset.value, is_switch)


def _file(
    registry: Registry, parsed: Parsed, principal: Principal, asset: str, is_switch: bool
) -> dict[str, Any]:

    assert principal.organisation is not None
    iri = mint(registry.settings.base_iri, "claim")
    taken = next((t.object for t in parsed.triples if t.predicate == FDI.takesOver), None)
    triples = [
        ox.Triple(iri, RDF.type, CLAIM),
        ox.Triple(iri, FDI.asset, ox.NamedNode(asset)),
        ox.Triple(iri, FDI.operator, ox.NamedNode(principal.organisation)),
        ox.Triple(iri, FDI.claimStatus, FDI.Pending),
        ox.Triple(iri, FDI.proposedRight, ox.Literal(ntriples(parsed.triples))),
        ox.Triple(iri, DCT.created, timestamp()),
    ]
    if taken is not None:
        triples.append(ox.Triple(iri, FDI.takesOver, taken))
    deciders = _deciders(registry, asset)
    with registry.transaction(principal.actor, "operator-claim") as tx:
        tx.put(iri, CLAIM, triples, status="pending", owner=principal.organisation, minted=True)
        for party in sorted(deciders - {principal.organisation}):
            tx.notify(
                party,
                notification(
                    "Offer",
                    principal.organisation,
                    iri.value,
                    f"{principal.organisation} claims the right to operate {asset}"
                    + (" (a switch)" if is_switch else "")
                    + ": confirm or contest it",
                    target=asset,
                ),
            )
    return claim(registry, principal, iri.value)


def decide(
    registry: Registry,
    principal: Principal,
    iri: str,
    *,
    confirm: bool,
    reason: str | None = None,
) -> dict[str, Any]:
    """The asset's current operator or owner confirms a pending claim (the right is
    registered) or contests it (it becomes a dispute). Raises Unauthenticated, Forbidden,
    NotFound, InvalidTransition (not pending), UnusableInput (contest without a reason), and
    what registering the right raises (e.g. ConflictingRight)."""
    info = record_of(registry, iri, CLAIM, "claim")
    authorise(principal, "claim.decide", relations(registry, principal, iri))
    require_status(info, ("pending",), "confirm" if confirm else "contest", "claim")
    if not confirm and not (reason and reason.strip()):
        raise UnusableInput("say why the claim is contested (reason)")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    claimant = text(triples, node, FDI.operator) or ""
    asset = text(triples, node, FDI.asset) or ""
    deciders = _deciders(registry, asset)
    if confirm:
        proposal = list(ox.parse(_proposal(triples, node), format=ox.RdfFormat.N_TRIPLES))
        parsed = Parsed(
            "claim " + uid(iri),
            "ntriples",
            [ox.Triple(q.subject, q.predicate, q.object) for q in proposal],
        )
        as_claimant = _claimant_now(registry, claimant)
        action = switch_operator if first(triples, node, FDI.takesOver) else register_assets
        action(registry, parsed, as_claimant, confirmed=True)
    status = "confirmed" if confirm else "disputed"
    parties = {claimant} | deciders
    if not confirm:
        parties.add(schemes.operator_iri(registry.settings.base_iri))
    with registry.transaction(principal.actor, f"claim-{status}") as tx:
        current = tx.info(iri)
        assert current is not None
        restatus(tx, current, triples, FDI.claimStatus, status, reason)
        for party in sorted(parties - {principal.organisation}):
            tx.notify(
                party,
                notification(
                    "Accept" if confirm else "Reject",
                    principal.organisation,
                    iri,
                    f"The claim of {claimant} to operate {asset} is {status}"
                    + (f": {reason}" if reason else ""),
                    target=asset,
                ),
            )
    return _view(registry, iri)  # the decider may no longer operate the asset now


def claim(registry: Registry, principal: Principal, iri: str) -> dict[str, Any]:
    """A claim as its parties and the scheme operator see it. Raises Unauthenticated,
    Forbidden, NotFound."""
    record_of(registry, iri, CLAIM, "claim")
    authorise(principal, "claim.read", relations(registry, principal, iri))
    return _view(registry, iri)


def _view(registry: Registry, iri: str) -> dict[str, Any]:
    info = record_of(registry, iri, CLAIM, "claim")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    asset = text(triples, node, FDI.asset)
    return {
        "id": iri,
        "href": f"{registry.settings.base_iri}claims/{uid(iri)}",
        "status": info.status,
        "claimant": text(triples, node, FDI.operator),
        "asset": asset,
        "takesOver": text(triples, node, FDI.takesOver),
        "decidedBy": sorted(_deciders(registry, asset or "")),
        "reason": text(triples, node, FDI.statusReason),
        "created": text(triples, node, DCT.created),
        "version": info.version,
    }


def disputes(registry: Registry, principal: Principal) -> list[dict[str, Any]]:
    """The disputed claims ``principal`` is a party to (every one, for the scheme operator)."""
    authorise(principal, "reads.list")
    out = []
    for info in with_status(registry, CLAIM, "disputed"):
        try:
            out.append(claim(registry, principal, info.iri))
        except Forbidden:  # not a party to it: not listed
            continue
    return out


def _claimant_now(registry: Registry, claimant: str) -> Principal:
    """The claimant as it stands today: still verified, with the roles and scopes it holds now
    (a claim does not outlive the claimant's suspension). Raises InvalidTransition."""
    info = registry.info(claimant)
    if info is None or info.status != "verified":
        raise InvalidTransition(
            f"the claimant {claimant} is {info.status if info else 'unknown'} now; "
            "contest the claim instead",
            status=info.status if info else None,
        )
    roles, scopes = held_now(registry, claimant)
    return Principal(claimant, frozenset(roles), frozenset(scopes))


def _deciders(registry: Registry, asset: str) -> set[str]:
    current = operator_of(registry, asset)
    return ({current} if current else set()) | asset_owners(registry, asset)


def _proposal(triples: list[ox.Triple], node: ox.NamedNode) -> bytes:
    return (text(triples, node, FDI.proposedRight) or "").encode()
