"""Common asset registration (BUC.2): one ID per asset, one operator at a time.

An FSP registers assets (one, or many from a file) and the rights to operate them. Two things
the published rules catch get special handling here, because other parties must hear of them:

* an asset registered again (same MPAN core and serial number) is refused with a pointer to the
  existing record, and both the FSP that tried and the asset's current operator are notified;
* a right to operate that overlaps another is refused, naming the conflicting record and the
  data needed to resolve it; a *switch* (a new right that says which right it takes over, with
  the owner's consent) ends the previous right the day the new one starts and notifies both.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from registry.base import iris, rdf
from registry.base.activities import activity as as_activity
from registry.base.errors import (
    ConflictingRight,
    DuplicateAsset,
    Forbidden,
    NotFound,
    RegistryError,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.rdf import Term
from registry.base.vocab import FDI, FDISH, RDF, RECORD_TYPES, XSD
from registry.kernel.authorisation import authorise, refuse_verified_facts
from registry.kernel.core import Registration, Registry, Staged, Transaction
from registry.kernel.idempotency import IdempotencyKey
from registry.kernel.lifecycle import content
from registry.shacl.validation import Report, check
from registry.submissions.formats import Parsed
from registry.submissions.records import Record
from registry.trust.control import asset_of, parties, relations

ASSET_TYPES = (FDI.FlexibleAsset, FDI.RightToOperate)

DUPLICATE_RULE = FDISH["Asset-noDuplicate"].value
OVERLAP_RULE = FDISH["RightToOperate-noOverlap"].value


def register_assets(
    registry: Registry,
    parsed: Parsed,
    principal: Principal,
    *,
    partial: bool = False,
    idempotency: IdempotencyKey | None = None,
    confirmed: bool = False,
) -> Registration:
    """Register the assets and rights to operate of one submission for an FSP (``confirmed``:
    a claim to operate another's asset that its current operator or owner confirmed).

    Raises Forbidden if the principal is not an FSP or the submission holds other kinds of
    record, DuplicateAsset if an asset is registered already, ConflictingRight if a right
    overlaps another, ValidationFailed for other rules. With ``partial``, conforming records
    are registered and the rest reported; with ``idempotency``, a retry gets the first answer.
    """
    parsed = check_submission(registry, parsed, principal, confirmed=confirmed)

    def on_refusal(tx: Transaction, report: Report, refused: list[Record]) -> RegistryError | None:
        return _refusal(registry, tx, report, refused, principal)

    return registry.register(
        parsed,
        principal.actor,
        owner=principal.organisation,
        partial=partial,
        on_refusal=on_refusal,
        idempotency=idempotency,
    )


def check_submission(
    registry: Registry, parsed: Parsed, principal: Principal, *, confirmed: bool = False
) -> Parsed:
    """An FSP's submission of assets and rights, as it may be registered: only those two kinds
    of record, no verified facts (``fdi:registeredIn`` comes from a market's attestation), and
    every right naming its filer as operator of an asset the filer controls (a new asset of
    the same submission, or one it operates today). Raises Unauthenticated, Forbidden."""
    authorise(principal, "asset.register")
    others = sorted(
        {
            rdf.value(t.object).rsplit("#", 1)[-1]
            for t in parsed.triples
            if t.predicate == RDF.type and t.object in RECORD_TYPES and t.object not in ASSET_TYPES
        }
    )
    if others:
        raise Forbidden(
            f"this route registers assets and rights to operate, not {', '.join(others)}: "
            "organisations apply at POST /organisations, agreements go to POST /agreements, "
            "commercial information to POST /commercial-information, catalogues to POST /catalogues"
        )
    refuse_verified_facts(parsed.triples)
    for right, asset, operator in rights_in(parsed):
        require_control(registry, principal, right, asset, operator, claim=confirmed)
    return parsed


def rights_in(parsed: Parsed) -> list[tuple[Term, Term | None, Term | None]]:
    """(right, asset, operator) for every right to operate of a submission."""
    values = {(t.subject, t.predicate): t.object for t in parsed.triples}
    return [
        (t.subject, values.get((t.subject, FDI.asset)), values.get((t.subject, FDI.operator)))
        for t in parsed.triples
        if t.predicate == RDF.type and t.object == FDI.RightToOperate
    ]


def require_control(
    registry: Registry,
    principal: Principal,
    right: Term,
    asset: Term | None,
    operator: Term | None,
    *,
    claim: bool = False,
) -> None:
    """A right names its filer as operator, and (unless ``claim``) an asset the filer operates
    now or registers in the same submission. Raises Forbidden."""
    if operator is not None and rdf.value(operator) != principal.organisation:
        raise Forbidden(
            f"{_local(right)}: a right to operate names the FSP that files it as operator; "
            f"{rdf.value(operator)} files its own rights (or releases the asset to you by "
            "confirming your claim)"
        )
    if claim or not isinstance(asset, ox.NamedNode) or registry.info(asset.value) is None:
        return  # a new asset of this submission, or no asset: the shapes say what is missing
    try:
        authorise(principal, "right.register", relations(registry, principal, asset.value))
    except Forbidden:
        raise Forbidden(
            f"{_local(right)}: {asset.value} is operated by another organisation; claim it at "
            "POST /rights-to-operate, where the claim waits for the current operator's or the "
            "asset owner's confirmation"
        ) from None


def precheck(registry: Registry, parsed: Parsed) -> None:
    """Check a right against the rules and the stored records without storing anything, so
    that a claim bound to fail (overlapping a right it does not take over, or breaking a rule)
    is refused when filed rather than when confirmed. Raises ConflictingRight, ValidationFailed.
    """
    report, _, _ = check(
        _without(parsed, FDI.takesOver),
        registry.shapes,
        related=registry.related,
        on=registry.today(),
    )
    for finding in report.violations:
        if finding.shape and _shape_iri(finding.shape) == OVERLAP_RULE:
            raise ConflictingRight(
                f"{finding.record}: {finding.message}",
                resolve="claim a switch (fdi:takesOver the current right) instead",
                report=report.as_dict(),
            )
    if not report.conforms:
        raise ValidationFailed(
            f"{len(report.violations)} rule(s) broken in {parsed.source}; nothing was stored",
            report,
        )


def _local(node: Term) -> str:
    return node.value.rsplit("#", 1)[-1] if isinstance(node, ox.NamedNode) else str(node)


def register_public(
    registry: Registry,
    parsed: Parsed,
    principal: Principal,
    *,
    idempotency: IdempotencyKey | None = None,
) -> Registration:
    """The scheme operator registers public records (no owner: the public graph), e.g. reference
    assets or licences. Organisations still apply through their own route, which keeps one ID
    per legal identifier. Raises Forbidden, DuplicateAsset, ConflictingRight, ValidationFailed.
    """
    if not principal.is_scheme_operator:
        raise Forbidden("only the scheme operator registers public records")
    if any(t.predicate == RDF.type and t.object == FDI.Organisation for t in parsed.triples):
        raise Forbidden("organisations apply at POST /organisations (one ID per legal identifier)")

    def on_refusal(tx: Transaction, report: Report, refused: list[Record]) -> RegistryError | None:
        return _refusal(registry, tx, report, refused, principal)

    return registry.register(
        parsed, principal.actor, owner=None, on_refusal=on_refusal, idempotency=idempotency
    )


def _refusal(
    registry: Registry,
    tx: Transaction,
    report: Report,
    refused: list[Record],
    principal: Principal,
) -> RegistryError | None:
    error: RegistryError | None = None
    by_origin = {r.origin: r for r in refused}
    for finding in report.violations:
        if finding.shape and _shape_iri(finding.shape) == DUPLICATE_RULE:
            record = by_origin.get(finding.record)
            existing = _existing_asset(registry, record) if record else None
            if existing:
                _notify_duplicate(registry, tx, existing, principal, finding.record)
                error = error or DuplicateAsset(
                    f"{finding.record}: this asset is registered already as {existing}; "
                    "update that record instead of registering it again",
                    existing=existing,
                    report=report.as_dict(),
                )
        elif finding.shape and _shape_iri(finding.shape) == OVERLAP_RULE:
            error = error or ConflictingRight(
                f"{finding.record}: {finding.message}",
                resolve="end the other right (its validTo) on or before this one's validFrom, "
                "or submit this right as a switch (fdi:takesOver the other right) with the "
                "asset owner's consent evidence",
                report=report.as_dict(),
            )
    return error


def _shape_iri(shape: str) -> str:
    return shape if shape.startswith("http") else FDISH.iri + shape.split(":")[-1]


def _existing_asset(registry: Registry, record: Record) -> str | None:
    """The stored asset with the natural key of ``record`` (MPAN core and serial number), if
    any; None when the duplicate is another record of the same submission."""
    values = {t.predicate: t.object for t in record.triples if t.subject == record.subject}
    mpan, serial = values.get(FDI.mpanCore), values.get(FDI.serialNumber)
    if mpan is None or serial is None:
        return None
    stored = iris.under(registry.settings.base_iri, "asset")
    for q in registry.index.quads(None, FDI.mpanCore, mpan):
        if rdf.value(q.subject).startswith(stored) and registry.index.quads(
            rdf.node(q.subject), FDI.serialNumber, serial
        ):
            return rdf.value(q.subject)
    return None


def _notify_duplicate(
    registry: Registry, tx: Transaction, existing: str, principal: Principal, origin: str
) -> None:
    activity = as_activity(
        "Flag",
        summary=f"Attempt to register an asset that is already registered ({existing})",
        object=existing,
        actor=principal.organisation,
        content=f"{origin} was refused as a duplicate of {existing}",
    )
    assert principal.organisation is not None
    tx.notify(principal.organisation, activity)
    for party in sorted(parties(registry, existing) - {principal.organisation}):
        tx.notify(party, activity)  # the asset's current operator and its registrant


# --- switching operator ------------------------------------------------------------------


def switch_operator(
    registry: Registry, parsed: Parsed, principal: Principal, *, confirmed: bool = False
) -> Registration:
    """Register a right to operate that takes over another (``fdi:takesOver``) of the same
    asset, filed by the asset's current operator or (``confirmed``) as a claim the current
    operator or the asset owner confirmed (``registry.assets.claims``).

    The previous right is ended the day the new one starts, in the same transaction, and both
    operators are notified. Raises NotFound, Forbidden, ConflictingRight, ValidationFailed,
    UnusableInput.
    """
    authorise(principal, "asset.register")
    takes_over = [t for t in parsed.triples if t.predicate == FDI.takesOver]
    if len(takes_over) != 1:
        raise ConflictingRight("a switch names exactly one right it takes over (fdi:takesOver)")
    previous = rdf.value(takes_over[0].object)
    new_from = next(
        (rdf.value(t.object) for t in parsed.triples if t.predicate == FDI.validFrom), None
    )
    if new_from is None:
        raise ConflictingRight("the new right needs a validFrom: the day the switch happens")
    rights = rights_in(parsed)
    if len(rights) != 1:
        raise UnusableInput("a switch holds exactly one right to operate")
    right, asset, operator = rights[0]
    require_control(registry, principal, right, asset, operator, claim=confirmed)
    taken = registry.info(previous)
    if taken is None or taken.type != FDI.RightToOperate.value:
        raise NotFound(f"no right to operate {previous}")
    if asset is None or asset_of(registry, previous) != rdf.value(asset):
        raise ConflictingRight(
            f"{previous} is a right to operate another asset; a switch takes over a right to "
            "operate the same asset"
        )
    with registry.transaction(principal.actor, "switch-operator") as tx:
        info = registry.info(previous)
        if info is None or info.type != FDI.RightToOperate.value:
            raise NotFound(f"no right to operate {previous}")
        old = content(registry, previous)
        ended = _with_end(old, ox.NamedNode(previous), new_from)
        staged = registry.stage(
            tx,
            _without(parsed, FDI.takesOver),
            principal.organisation,
            on_refusal=lambda tx, report, refused: _refusal(
                registry, tx, report, refused, principal
            ),
            replacing={previous: ended},
        )
        if staged.refusal is None:
            tx.put(ox.NamedNode(previous), FDI.RightToOperate, ended, status="ended")
            told = {info.owner, principal.organisation} | parties(registry, rdf.value(asset))
            for party in sorted(p for p in told if p is not None):
                tx.notify(party, _switch_activity(previous, staged, new_from))
    if staged.refusal is not None:
        raise staged.refusal
    return staged.registration(tx)


def _with_end(triples: list[ox.Triple], right: ox.NamedNode, end: str) -> list[ox.Triple]:
    kept = [t for t in triples if not (t.subject == right and t.predicate == FDI.validTo)]
    return [*kept, ox.Triple(right, FDI.validTo, ox.Literal(end, datatype=XSD.date))]


def _without(parsed: Parsed, predicate: ox.NamedNode) -> Parsed:
    return Parsed(
        parsed.source,
        parsed.format,
        [t for t in parsed.triples if t.predicate != predicate],
        parsed.origins,
    )


def _switch_activity(previous: str, staged: Staged, day: str) -> dict[str, Any]:
    new = next((staged.renaming[r.subject].value for r in staged.accepted), None)
    return as_activity(
        "Update",
        summary=f"Operator switch: {previous} ends on {day}; {new} starts",
        object=previous,
        result=new,
    )


def is_right(triples: list[ox.Triple]) -> bool:
    return any(t.predicate == RDF.type and t.object == FDI.RightToOperate for t in triples)
