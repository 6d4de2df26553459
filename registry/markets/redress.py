"""Customer services and redress: complaints and disputes between members, handled within the
scheme's time limits and escalated to the scheme operator when the parties cannot settle them.

A *case* (``fdi:RedressCase``, ``{base}id/case/{uuid}``) is raised by a member (an asset owner
among them) against another member, or about a record (then against the record's holder):
a ``complaint``, or a ``dispute`` (over a right to operate, a duplicate asset, ...) which links
the record concerned. It then moves through these steps, each a new version of the case in the
journal, each one told to the other party (and the operator, once escalated) in their inbox:

====================  ===================================  ====================
step                  who                                  from
====================  ===================================  ====================
``acknowledge``       the respondent                       raised
``answer``            the respondent                       raised, acknowledged
``escalate``          the complainant                      answered, or any open state once
                                                           the answer is overdue
``resolve``           the operator (escalated), or the     any open state
                      complainant (accepts or withdraws)
====================  ===================================  ====================

The respondent must acknowledge within ``case_acknowledge_days`` and answer within
``case_answer_days`` of the case being raised; a late step is marked late.

Cases are kept in their own graph, which no requester's dataset includes: only the two parties
and the scheme operator see a case (anyone else gets 404, as for any record they may not see).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.activities import notification
from registry.base.clock import utcnow_seconds
from registry.base.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI, RDF, XSD
from registry.kernel.lifecycle import content, objects, text
from registry.messaging.inbox import was_told_of
from registry.trust.schemes import operator_iri

if TYPE_CHECKING:
    from registry.kernel.core import Registry

CASE = FDI.RedressCase
KINDS = ("complaint", "dispute")
OUTCOMES = ("upheld", "partly-upheld", "not-upheld", "settled", "withdrawn")
OPEN = ("raised", "acknowledged", "answered", "escalated")

# Who may take each step, and from which states (authorisation as data).
STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    # step: (parties who may, states it may follow, state it leads to)
    "acknowledge": (("respondent",), ("raised",), "acknowledged"),
    "answer": (("respondent",), ("raised", "acknowledged"), "answered"),
    "escalate": (("complainant",), ("answered",), "escalated"),
    "resolve": (("operator", "complainant"), OPEN, "resolved"),
}


def cases_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(base + "graph/redress")


def raise_case(
    registry: Registry,
    principal: Principal,
    kind: str,
    summary: str,
    against: str | None = None,
    about: str | None = None,
) -> dict[str, Any]:
    """A member raises a complaint or dispute against another member, or about a record.

    Raises Unauthenticated, UnusableInput (unknown kind, no respondent, against itself,
    no summary), NotFound (no such organisation or record)."""
    if not principal.authenticated or principal.organisation is None:
        raise Unauthenticated("raising a case needs a member's client certificate")
    if kind not in KINDS:
        raise UnusableInput(f"kind must be one of {', '.join(KINDS)}")
    if not summary or not summary.strip():
        raise UnusableInput("say what the case is about in summary")
    respondent = _respondent(registry, principal, against, about)
    if respondent == principal.organisation:
        raise UnusableInput("a case is raised against another member, not your own organisation")
    base = registry.settings.base_iri
    uid = uuid.uuid4()
    iri = ox.NamedNode(iris.case(base, str(uid)))
    raised = utcnow_seconds()
    limits = registry.settings
    triples = [
        ox.Triple(iri, RDF.type, CASE),
        ox.Triple(iri, FDI.caseKind, ox.Literal(kind)),
        ox.Triple(iri, FDI.complainant, ox.NamedNode(principal.organisation)),
        ox.Triple(iri, FDI.respondent, ox.NamedNode(respondent)),
        ox.Triple(iri, DCT.description, ox.Literal(summary.strip())),
        ox.Triple(iri, DCT.created, _time(raised)),
        ox.Triple(
            iri, FDI.acknowledgeBy, _time(raised + dt.timedelta(limits.case_acknowledge_days))
        ),
        ox.Triple(iri, FDI.answerBy, _time(raised + dt.timedelta(limits.case_answer_days))),
        *([ox.Triple(iri, FDI.concerns, ox.NamedNode(about))] if about else []),
    ]
    triples += _step(iri, 1, "raise", principal, summary.strip(), raised, late=False)
    with registry.transaction(principal.actor, "case-raise") as tx:
        tx.put(
            iri,
            CASE,
            triples,
            graph=cases_graph(base),
            status="raised",
            owner=principal.organisation,
        )
        tx.event({"case": iri.value, "step": "raise"})
        tx.notify(
            respondent, _news(iri.value, principal, f"Case {uid}: a {kind} was raised against you")
        )
    return view(registry, principal, iri.value)


def take_step(
    registry: Registry,
    principal: Principal,
    iri: str,
    step: str,
    note: str | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """A party (or the operator) takes a step on a case: ``acknowledge``, ``answer`` (note: the
    answer), ``escalate`` (note: why), ``resolve`` (outcome, note: the remedy).

    Raises Unauthenticated, NotFound (no such case, or not a party), Forbidden (a party who may
    not take this step), InvalidTransition (not from this state), UnusableInput."""
    if step not in STEPS:
        raise UnusableInput(f"step must be one of {', '.join(STEPS)}")
    who, after, leads_to = STEPS[step]
    with registry.transaction(principal.actor, f"case-{step}") as tx:
        info = tx.info(iri)
        parties = _parties_of(registry, principal, iri)
        role = parties["role"]
        if role not in who:
            raise Forbidden(f"only the {' or the '.join(who)} may {step} this case")
        status = info.status if info else None
        overdue = _overdue(registry, iri, "answerBy")
        if status not in after and not (step == "escalate" and status in OPEN[:2] and overdue):
            raise InvalidTransition(
                f"this case is {status}; it cannot be {step}d now", status=status
            )
        if step == "answer" and not (note and note.strip()):
            raise UnusableInput("an answer needs its text in note")
        if step == "resolve" and outcome not in OUTCOMES:
            raise UnusableInput(f"outcome must be one of {', '.join(OUTCOMES)}")
        node = ox.NamedNode(iri)
        triples = content(registry, iri)
        number = len(objects(triples, node, FDI.caseStep)) + 1
        at = utcnow_seconds()
        deadline = {"acknowledge": "acknowledgeBy", "answer": "answerBy"}.get(step)
        late = bool(deadline and _overdue(registry, iri, deadline, at))
        triples += _step(node, number, step, principal, note, at, late=late)
        if outcome:
            triples.append(ox.Triple(node, FDI.caseOutcome, ox.Literal(outcome)))
        tx.put(node, CASE, triples, graph=cases_graph(registry.settings.base_iri), status=leads_to)
        tx.event({"case": iri, "step": step, "late": late})
        summary = f"Case {iri.rsplit('/', 1)[-1]}: {step}" + (f" ({outcome})" if outcome else "")
        told = {parties["complainant"], parties["respondent"]}
        if leads_to == "escalated" or status == "escalated":
            told.add(operator_iri(registry.settings.base_iri))
        for party in sorted(told - {principal.organisation}):
            tx.notify(party, _news(iri, principal, summary))
    return view(registry, principal, iri)


def view(registry: Registry, principal: Principal, iri: str) -> dict[str, Any]:
    """A case as its parties and the operator see it. Raises Unauthenticated, NotFound."""
    _parties_of(registry, principal, iri)
    info = registry.info(iri)
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    steps = []
    for s in sorted(
        objects(triples, node, FDI.caseStep), key=lambda t: int(rdf.value(t).rsplit("-", 1)[-1])
    ):
        steps.append(
            {
                "step": text(triples, s, FDI.stepAction),
                "by": text(triples, s, FDI.stepBy),
                "at": text(triples, s, DCT.created),
                "note": text(triples, s, DCT.description),
                "late": text(triples, s, FDI.stepLate) == "true",
            }
        )
    return {
        "id": iri,
        "kind": text(triples, node, FDI.caseKind),
        "status": info.status if info else None,
        "complainant": text(triples, node, FDI.complainant),
        "respondent": text(triples, node, FDI.respondent),
        "concerns": text(triples, node, FDI.concerns),
        "summary": text(triples, node, DCT.description),
        "acknowledgeBy": text(triples, node, FDI.acknowledgeBy),
        "answerBy": text(triples, node, FDI.answerBy),
        "overdue": bool(info and info.status in OPEN[:2] and _overdue(registry, iri, "answerBy")),
        "outcome": text(triples, node, FDI.caseOutcome),
        "steps": steps,
        "version": info.version if info else 0,
    }


def cases_of(registry: Registry, principal: Principal) -> list[dict[str, Any]]:
    """The cases ``principal`` is a party to (every case, for the operator). Raises
    Unauthenticated."""
    if not principal.authenticated:
        raise Unauthenticated("cases are shown to their parties: present a member's certificate")
    out = []
    for case in registry.records(CASE):
        try:
            out.append(view(registry, principal, case.iri))
        except NotFound:
            continue
    return out


def _parties_of(registry: Registry, principal: Principal, iri: str) -> dict[str, str]:
    """The case's parties and the requester's part in it. Raises Unauthenticated, NotFound."""
    if not principal.authenticated:
        raise Unauthenticated("cases are shown to their parties: present a member's certificate")
    info = registry.info(iri)
    if info is None or info.type != CASE.value:
        raise NotFound(f"no case {iri}")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    complainant = text(triples, node, FDI.complainant) or ""
    respondent = text(triples, node, FDI.respondent) or ""
    if principal.organisation == complainant:
        role = "complainant"
    elif principal.organisation == respondent:
        role = "respondent"
    elif principal.is_scheme_operator:
        role = "operator"
    else:
        raise NotFound(f"no case {iri}")  # no more than for any record one may not see
    return {"role": role, "complainant": complainant, "respondent": respondent}


def _respondent(
    registry: Registry, principal: Principal, against: str | None, about: str | None
) -> str:
    if about:
        info = registry.info(about)
        if info is None or not _may_concern(registry, principal, about):
            # No more than for any record one may not see: who holds it stays unsaid.
            raise NotFound(f"no record {about}")
        holder = info.owner or (about if info.type == FDI.Organisation.value else None)
        if against and holder and against != holder:
            raise UnusableInput(f"{about} is held by {holder}, not {against}")
        against = against or holder
    if not against:
        raise UnusableInput("name the member the case is against, or the record it is about")
    org = registry.info(against)
    if org is None or org.type != FDI.Organisation.value:
        raise NotFound(f"no organisation {against}")
    return against


def _may_concern(registry: Registry, principal: Principal, iri: str) -> bool:
    """A case may be about a record its complainant can read, or one a notification told it
    of (the asset its duplicate was refused against)."""
    assert principal.organisation is not None
    try:
        registry.record(iri, principal)
    except (NotFound, Forbidden):
        return was_told_of(registry, principal.organisation, iri)
    return True


def _step(
    case: ox.NamedNode,
    number: int,
    action: str,
    principal: Principal,
    note: str | None,
    at: dt.datetime,
    *,
    late: bool,
) -> list[ox.Triple]:
    node = ox.NamedNode(f"{case.value}#step-{number}")
    out = [
        ox.Triple(case, FDI.caseStep, node),
        ox.Triple(node, FDI.stepAction, ox.Literal(action)),
        ox.Triple(node, FDI.stepBy, ox.NamedNode(principal.organisation or "")),
        ox.Triple(node, DCT.created, _time(at)),
        ox.Triple(
            node, FDI.stepLate, ox.Literal("true" if late else "false", datatype=XSD.boolean)
        ),
    ]
    if note:
        out.append(ox.Triple(node, DCT.description, ox.Literal(note)))
    return out


def _overdue(registry: Registry, iri: str, deadline: str, at: dt.datetime | None = None) -> bool:
    by = text(content(registry, iri), ox.NamedNode(iri), FDI[deadline])
    return bool(by and (at or utcnow_seconds()) > dt.datetime.fromisoformat(by))


def _news(iri: str, principal: Principal, summary: str) -> dict[str, Any]:
    return notification("Update", principal.organisation, iri, summary, name="case")


def _time(at: dt.datetime) -> ox.Literal:
    return ox.Literal(at.isoformat(), datatype=XSD.dateTime)
