"""A proposal in consultation: members' comments, and the notices when its impact is known."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.activities import notification as activity
from registry.base.errors import (
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI
from registry.kernel.lifecycle import content, require_status
from registry.kernel.lifecycle import timestamp as _timestamp
from registry.rules.proposal_records import PROPOSAL, by_uid, read
from registry.trust.schemes import operator_iri

if TYPE_CHECKING:
    from registry.kernel.core import Registry

MAX_COMMENT = 4000


def comment(registry: Registry, principal: Principal, uid: str, body: bytes) -> dict[str, Any]:
    """A member's comment on a proposal, posted to its inbox as an ActivityStreams object with
    ``content``. The proposer and the scheme operator are told. Raises Unauthenticated,
    NotFound, UnusableInput, InvalidTransition (adopted already)."""
    if not principal.authenticated or principal.organisation is None:
        raise Unauthenticated("commenting needs a member's client certificate")
    proposal = by_uid(registry, uid)
    try:
        note = json.loads(body)
    except ValueError:
        raise UnusableInput("post an ActivityStreams object (JSON) with content") from None
    words = note.get("content") if isinstance(note, dict) else None
    if not isinstance(words, str) or not words.strip():
        raise UnusableInput("say something in content")
    if len(words) > MAX_COMMENT:
        raise UnusableInput(f"a comment has at most {MAX_COMMENT} characters")
    with registry.transaction(principal.actor, "proposal-comment") as tx:
        info = registry.info(proposal.iri)
        assert info is not None
        require_status(info, ("proposed", "consultation"), "comment on", "proposal")
        triples = content(registry, proposal.iri)
        s = ox.NamedNode(proposal.iri)
        node = ox.NamedNode(f"{proposal.iri}#comment-{info.version}")
        triples += [
            ox.Triple(s, FDI.proposalComment, node),
            ox.Triple(node, DCT.creator, ox.NamedNode(principal.organisation)),
            ox.Triple(node, DCT.created, _timestamp(registry.clock())),
            ox.Triple(node, DCT.description, ox.Literal(words.strip())),
        ]
        tx.put(s, PROPOSAL, triples, graph=ox.NamedNode(info.graph), status=info.status)
        tx.event({"proposal": proposal.iri, "step": "comment"})
        news = activity(
            "Note",
            principal.organisation,
            proposal.iri,
            f"A comment on proposal {proposal.title} ({proposal.version})",
            content=words.strip(),
        )
        for recipient in {proposal.proposer, operator_iri(registry.settings.base_iri)}:
            if recipient != principal.organisation:
                tx.notify(recipient, news)
    return {"id": node.value, "proposal": proposal.iri}


def open_consultation(registry: Registry, iri: str, counts: dict[str, int]) -> bool:
    """Tell each organisation how many of its records the proposal would refuse, and put the
    proposal to consultation. Once only (False if it was done already, or adopted)."""
    proposal = read(registry, iri)
    with registry.transaction("registry", "proposal-consultation") as tx:
        info = registry.info(iri)
        if info is None or info.status != "proposed":
            return False
        triples = content(registry, iri)
        tx.put(
            ox.NamedNode(iri),
            PROPOSAL,
            triples,
            graph=ox.NamedNode(info.graph),
            status="consultation",
        )
        tx.event({"proposal": iri, "step": "consultation", "affected": len(counts)})
        for organisation, count in sorted(counts.items()):
            tx.notify(
                organisation,
                activity(
                    "Announce",
                    operator_iri(registry.settings.base_iri),
                    iri,
                    f"Proposed rules {proposal.version} ({proposal.title}) would refuse "
                    f"{count} of your registered records; see the impact report and comment "
                    "in the proposal's inbox",
                    records=count,
                ),
            )
    return True
