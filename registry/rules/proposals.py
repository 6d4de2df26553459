"""Proposals: standards bodies and market operators change the rules, in the open.

A proposal (``fdi:RulesProposal``, ``{base}id/proposal/{uuid}``) carries Turtle documents that
replace or add to documents of the latest rules version (``registry.rules.rules``): ``ontology/...``
and ``shapes/...`` from a member with the StandardsBody role, ``shapes/market/{slug}`` from the
organisation that operates that market (``fdi:operatedBy`` in the ontology). On submission it
is checked (:func:`registry.rules.proposal_checks.check`): each document is Turtle; the shapes
are well-formed SHACL (SHACL for SHACL, as pySHACL ships it); every new term and shape has a
label and a definition; every new term is in the proposer's namespace; no statement is added
about a term the proposer does not own. A refusal (ProposalRefused, 422) names each term and
what is wrong with it.

Then: its impact on the registered records is computed in the background
(``registry.rules.impact``), the organisations whose records would fail are told their counts in
their inboxes, members comment through the proposal's own inbox
(:func:`registry.rules.consultation.comment`), and the scheme operator adopts it with an
effective date (:func:`adopt`). From that date submissions are checked against the new version.

Steps, each a new version of the proposal record (graph ``{base}graph/rules``, which no SPARQL
dataset includes; proposals are read through ``/proposals``):

=================  ==========================  =============================================
status             reached by                  who
=================  ==========================  =============================================
``proposed``       :func:`propose`             a standards body, or a market's operator
``consultation``   the impact report's notices  the registry, when the report is ready
``adopted``        :func:`adopt`               the scheme operator
=================  ==========================  =============================================
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import iris
from registry.base.activities import notification as activity
from registry.base.errors import (
    Conflict,
    Forbidden,
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI
from registry.base.vocab import RDF as ORDF
from registry.kernel.lifecycle import content, require_status
from registry.kernel.lifecycle import timestamp as _timestamp
from registry.rules import rules
from registry.rules.impact import affected
from registry.rules.proposal_checks import MARKET_ROLES, STANDARDS_BODY, check
from registry.rules.proposal_records import PROPOSAL, Proposal, by_uid, read, rules_graph
from registry.trust.schemes import operator_iri

if TYPE_CHECKING:
    from registry.kernel.core import Registry

MAX_DOCUMENTS = 20


def propose(registry: Registry, principal: Principal, body: dict[str, Any]) -> Proposal:
    """Check and store a proposal: ``{"title", "description", "version", "documents": {name:
    turtle}}``. Raises Unauthenticated, Forbidden (neither a standards body nor a market
    operator), UnusableInput (missing fields, a bad version or document name), Conflict (the
    version is not above the latest), ProposalRefused (the checks of :func:`check`)."""
    if not principal.authenticated or principal.organisation is None:
        raise Unauthenticated("proposing needs a member's client certificate")
    if not (principal.roles & ({STANDARDS_BODY} | MARKET_ROLES)):
        raise Forbidden("proposals come from standards bodies and market operators")
    title = str(body.get("title") or "").strip()
    if not title:
        raise UnusableInput("give the proposal a title")
    documents = body.get("documents")
    if not isinstance(documents, dict) or not documents:
        raise UnusableInput("documents must map document names to Turtle text")
    if len(documents) > MAX_DOCUMENTS:
        raise UnusableInput(f"at most {MAX_DOCUMENTS} documents in one proposal")
    version = str(body.get("version") or "")
    base = rules.latest(registry)
    if rules.semver(version) <= rules.semver(base.version):
        raise Conflict(
            f"version {version} must be above the latest rules version, {base.version}",
            latest=base.version,
        )
    docs = {str(k): v for k, v in documents.items()}
    check(registry, principal, base, docs)
    iri = ox.NamedNode(iris.new(registry.settings.base_iri, "proposal"))
    triples = [
        ox.Triple(iri, ORDF.type, PROPOSAL),
        ox.Triple(iri, DCT.title, ox.Literal(title)),
        ox.Triple(iri, DCT.description, ox.Literal(str(body.get("description") or ""))),
        ox.Triple(iri, DCT.creator, ox.NamedNode(principal.organisation)),
        ox.Triple(iri, DCT.created, _timestamp(registry.clock())),
        ox.Triple(iri, FDI.proposedVersion, ox.Literal(version)),
        ox.Triple(iri, FDI.baseVersion, ox.Literal(base.version)),
    ]
    for n, (name, turtle) in enumerate(sorted(docs.items())):
        node = ox.NamedNode(f"{iri.value}#document-{n}")
        triples += [
            ox.Triple(iri, FDI.proposalDocument, node),
            ox.Triple(node, FDI.documentName, ox.Literal(name)),
            ox.Triple(node, FDI.documentText, ox.Literal(turtle)),
        ]
    with registry.transaction(principal.actor, "proposal") as tx:
        tx.put(
            iri,
            PROPOSAL,
            triples,
            graph=rules_graph(registry.settings.base_iri),
            status="proposed",
            owner=principal.organisation,
        )
        tx.event({"proposal": iri.value, "step": "propose"})
        tx.notify(
            operator_iri(registry.settings.base_iri),
            activity(
                "Offer", principal.organisation, iri.value, f"Rules {version} proposed: {title}"
            ),
        )
    return read(registry, iri.value)


def adopt(registry: Registry, principal: Principal, uid: str, effective: str) -> rules.RulesVersion:
    """The scheme operator adopts a proposal: from ``effective`` (ISO 8601 date-time with a
    time zone, now or later) submissions are checked against it. Raises Forbidden (not the
    scheme operator), NotFound, UnusableInput (bad date, in the past), Conflict (another
    version was adopted since: the proposal's base is no longer the latest, or its version no
    longer above it), InvalidTransition (adopted already)."""
    if not principal.is_scheme_operator:
        raise Forbidden("only the scheme operator adopts proposals")
    try:
        when = dt.datetime.fromisoformat(str(effective).replace("Z", "+00:00"))
    except ValueError:
        raise UnusableInput(f"effective must be an ISO 8601 date-time, not {effective!r}") from None
    if when.tzinfo is None:
        raise UnusableInput("effective needs a time zone (for example 2027-01-01T00:00:00Z)")
    when = when.astimezone(dt.UTC)
    now = registry.clock()
    if when < now.replace(microsecond=0):
        raise UnusableInput(f"effective must be now or later, not {effective}")
    proposal = by_uid(registry, uid)
    with registry.transaction(principal.actor, "proposal-adopt") as tx:
        info = registry.info(proposal.iri)
        assert info is not None
        require_status(info, ("proposed", "consultation"), "adopt", "proposal")
        latest = rules.latest(registry)
        if proposal.base != latest.version:
            raise Conflict(
                f"the proposal changes {proposal.base}, but {latest.version} was adopted since: "
                "the proposer submits it again on the latest version",
                latest=latest.version,
            )
        triples = content(registry, proposal.iri)
        s = ox.NamedNode(proposal.iri)
        triples.append(ox.Triple(s, FDI.effectiveFrom, _timestamp(when)))
        tx.put(s, PROPOSAL, triples, graph=ox.NamedNode(info.graph), status="adopted")
        tx.event({"proposal": proposal.iri, "step": "adopt", "effective": when.isoformat()})
        news = activity(
            "Accept",
            principal.organisation,
            proposal.iri,
            f"Rules {proposal.version} ({proposal.title}) adopted: in force from "
            f"{when.isoformat()}",
        )
        for recipient in _told(registry, proposal):
            tx.notify(recipient, news)
    rules.forget(registry)
    return rules.get(registry, proposal.version)


def _told(registry: Registry, proposal: Proposal) -> set[str]:
    """Who hears of an adoption: the proposer, the commenters and the affected organisations."""
    out = {proposal.proposer} | {c["author"] for c in proposal.comments}
    out |= set(affected(registry, proposal.iri))
    out.discard(operator_iri(registry.settings.base_iri))
    return {o for o in out if o}
