"""Writes: a submission validated and staged into a transaction, registered, or made the new
version of a record (If-Match, the owner or current operator only, verified facts kept).

:class:`Writes` is part of :class:`registry.kernel.core.Registry`; every write holds the
registry's one write lock through :meth:`Registry.transaction`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.errors import (
    Conflict,
    Forbidden,
    NotFound,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.rdf import Term
from registry.base.vocab import KEPT_BY_REGISTRY
from registry.kernel.authorisation import authorise, keep_verified_facts
from registry.kernel.idempotency import IdempotencyKey
from registry.kernel.idempotency import lookup as idempotent_response
from registry.kernel.preconditions import check_version, require_if_match
from registry.kernel.preconditions import (
    etag_matches as etag_matches,  # registry.kernel.core names it
)
from registry.kernel.reads import UPDATE_RULES, Reads
from registry.kernel.transaction import (
    RecordInfo,
    Refusal,
    Registration,
    Staged,
    Transaction,
    now,
)
from registry.shacl.findings import Finding
from registry.shacl.validation import Report, check
from registry.submissions.formats import Parsed
from registry.submissions.limits import check_blank_nodes
from registry.submissions.normalise import normalise
from registry.submissions.records import Record, Split, assign_iris, local_id, rename, split_records

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from registry.shacl.validation import Shapes


class Writes(Reads):
    """Registering, staging and updating records (methods of the registry)."""

    # What the writes use of the registry besides its reads (set by registry.kernel.core).
    transaction: Callable[[str, str], AbstractContextManager[Transaction]]
    rules_now: Callable[[], tuple[str | None, Shapes]]
    today: Callable[[], dt.date]

    def register(
        self,
        parsed: Parsed,
        actor: str,
        owner: str | None = None,
        *,
        partial: bool = False,
        on_refusal: Refusal | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> Registration:
        """Validate and register the records of one submission, owned by ``owner`` (an
        organisation IRI; None for records without one, which go to the public graph).

        With ``idempotency``, a request seen before gets its first answer again, and nothing is
        written (IdempotencyKeyReused if the key came with another request). TooManyBlankNodes
        if the submission has more than ``settings.max_blank_nodes``.

        By default a submission is accepted or refused whole: ValidationFailed (with the report)
        if any rule is broken, and nothing is stored. With ``partial`` the conforming records
        are registered and the others (and those that refer to them) are reported as refused.
        ``on_refusal(tx, report, refused)`` may queue notifications in the same transaction and
        return a more specific error to raise.
        """
        check_blank_nodes(parsed, self.settings.max_blank_nodes)
        with self.transaction(actor, "register") as tx:
            if idempotency is not None:
                prior = idempotent_response(self.journal, idempotency)
                if prior is not None:
                    return Registration.replay(prior)
            staged = self.stage(tx, parsed, owner, partial=partial, on_refusal=on_refusal)
            if idempotency is not None and staged.refusal is None:
                tx.idempotency = idempotency
                tx.response = lambda: staged.registration(tx).as_dict()
        if staged.refusal is not None:
            raise staged.refusal
        return staged.registration(tx)

    def stage(
        self,
        tx: Transaction,
        parsed: Parsed,
        owner: str | None,
        *,
        partial: bool = False,
        on_refusal: Refusal | None = None,
        replacing: dict[str, list[ox.Triple]] | None = None,
        status: str = "registered",
        graph: ox.NamedNode | None = None,
        updating: str | None = None,
    ) -> Staged:
        """Validate a submission and put its accepted records into ``tx``.

        ``replacing`` gives new content for stored records that ``tx`` changes too, so that the
        cross-record rules see the registry as it will be after the transaction. ``status``
        and ``graph`` (default: the record type's graph for ``owner``) are the records'.
        ``updating`` is the one stored record the submission may name (an update); any other
        is refused (Conflict), so that a submission never takes over an existing record.
        """

        version, shapes = self.rules_now()

        def related(triples: list[ox.Triple]) -> list[ox.Triple]:
            found = self._related(triples, shapes.related_predicates())
            if not replacing:
                return found
            stale = {ox.NamedNode(iri) for iri in replacing}
            kept = [t for t in found if _record_subject(t.subject) not in stale]
            return kept + [t for content in replacing.values() for t in content]

        report, _, split = check(parsed, shapes, related=related, on=self.today())
        refused = _refused_records(report, split) if partial or not report.conforms else []
        refusal = on_refusal(tx, report, refused) if refused and on_refusal else None
        if not report.conforms and not partial:
            refusal = refusal or ValidationFailed(
                f"{len(report.violations)} rule(s) broken in {parsed.source}; nothing was stored",
                report,
            )
            return Staged(report, [], {}, refused, refusal)
        accepted = [r for r in split.records if r not in refused]
        renaming = assign_iris(accepted, self.settings.base_iri)
        self.refuse_existing(accepted, renaming, updating)
        for record in accepted:
            content = rename(record.triples, renaming)
            iri = renaming[record.subject]
            tx.put(
                iri,
                record.type,
                content,
                graph=graph,
                status=status,
                owner=owner,
                minted=iri != record.subject,
                rules=version,
            )
        return Staged(report, accepted, renaming, refused, None)

    def refuse_existing(
        self,
        records: list[Record],
        renaming: dict[Any, ox.NamedNode],
        updating: str | None,
    ) -> None:
        """Raise Conflict if a submission names a stored record other than ``updating``: the
        record as served, sent to a registration route, would otherwise become a new version
        owned by the sender."""
        for record in records:
            if renaming[record.subject] != record.subject:
                continue  # an IRI minted just now (a random UUID) names nothing stored
            iri = renaming[record.subject].value
            if iri != updating and self.info(iri) is not None:
                raise Conflict(
                    f"{iri} is registered already: a submission makes new records; to change "
                    "that one, PUT it to its IRI with If-Match (its owner only)",
                    existing=iri,
                )

    def import_records(self, parsed: Parsed, actor: str, owner: str | None = None) -> Registration:
        """Register records the registry generated itself (the demo data) without running the
        shapes; the generator's output is checked against them by the test suite instead.

        Never use this for anything submitted from outside: that goes through :meth:`register`.
        """
        with self.transaction(actor, "import") as tx:
            triples, _ = normalise(parsed.triples)
            split = split_records(triples, parsed.origins)
            renaming = assign_iris(split.records, self.settings.base_iri)
            for record in split.records:
                iri = renaming[record.subject]
                tx.put(
                    iri,
                    record.type,
                    rename(record.triples, renaming),
                    status="registered",
                    owner=owner,
                    minted=iri != record.subject,
                )
        return Staged(
            Report(records=len(split.records)), split.records, renaming, [], None
        ).registration(tx)

    def update(
        self,
        iri: str,
        parsed: Parsed,
        principal: Principal,
        if_match: str | None,
        served: list[ox.Triple] | None = None,
    ) -> Registration:
        """Replace a record with a new version, if ``if_match`` names the current one.

        The submission holds exactly one record of the same type, named by its IRI or by a
        local ID; the record as served (its own fragment IRIs included) is such a submission.
        ``served`` are triples the registry adds when it serves the record, not part of it
        (an organisation's ``ldp:inbox``): they are dropped. The record keeps its status and
        audience graph. A submission equal to the stored record makes no new version (the
        answer names the current one). Raises PreconditionRequired (no If-Match),
        PreconditionFailed (stale), NotFound, Forbidden (not the owner, or a change to what
        only the registry sets: ``KEPT_BY_REGISTRY``), ValidationFailed.
        """
        require_if_match(if_match)
        with self.transaction(principal.actor, "update") as tx:
            info = self.info(iri)
            if info is None:
                raise NotFound(f"no record {iri}")
            try:
                authorise(
                    principal,
                    UPDATE_RULES.get(info.type, "record.update"),
                    self.relations(principal, iri),
                )
            except Forbidden as refused:
                raise Forbidden(f"{iri}: {refused.detail}") from None
            check_version(info, if_match)
            if served:
                drop = set(served)
                parsed = replace(parsed, triples=[t for t in parsed.triples if t not in drop])
            parsed = _as_record(parsed, iri, info.type)
            # Verified facts are the scheme operator's: a submission may repeat or omit them,
            # never change them (registry.kernel.authorisation).
            current = self._stored(info)
            parsed = replace(
                parsed,
                triples=keep_verified_facts(info.type, ox.NamedNode(iri), parsed.triples, current),
            )
            # The record keeps its lifecycle status and audience graph: an edit never resets
            # them (an organisation that edited its record once stopped authenticating).
            graph = ox.NamedNode(info.graph)
            staged = self.stage(
                tx,
                parsed,
                info.owner,
                replacing={iri: []},
                status=info.status or "registered",
                graph=graph,
                updating=iri,
            )
            if staged.refusal is not None:
                raise staged.refusal
            stored = _as_stored(current)
            new = _as_stored(tx.staged(iri))
            _check_kept(iri, stored, new)
            if new == stored:
                tx.discard(iri)
                return self._unchanged(info, staged)
        return staged.registration(tx)

    def _unchanged(self, info: RecordInfo, staged: Staged) -> Registration:
        """The answer to an update that changed nothing: the current version, as it was made."""
        entry = self.journal.entry(info.seq)
        return Registration(
            entry.seq if entry else 0,
            entry.hash if entry else "",
            entry.time if entry else now(),
            {info.iri: info.iri},
            staged.report,
            [{"id": info.iri, "type": info.type, "version": info.version}],
        )


def _as_record(parsed: Parsed, iri: str, rtype: str) -> Parsed:
    """The submission with its one record of type ``rtype`` renamed to ``iri``."""
    split = split_records(parsed.triples, parsed.origins)
    records = [r for r in split.records if r.type.value == rtype]
    if len(split.records) != 1 or not records:
        raise UnusableInput(f"an update holds exactly one record of type {rtype}")
    old = records[0].subject
    new = ox.NamedNode(iri)
    renamed = rename(parsed.triples, {old: new})
    origins: dict[ox.NamedNode | ox.BlankNode, str] = {new: parsed.origins.get(old, iri)}
    return Parsed(parsed.source, parsed.format, renamed, origins)


def _as_stored(triples: Iterable[ox.Triple]) -> set[ox.Triple]:
    """The triples as the index keeps them: Oxigraph writes literals in canonical form
    (``"…+00:00"^^xsd:dateTime`` as ``"…Z"``, ``"5.0"^^xsd:decimal`` as ``"5"``), so a record
    sent back through another parser compares equal to what is stored (docs/facts.md, fact 18)."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return {ox.Triple(q.subject, q.predicate, q.object) for q in store}


def _check_kept(iri: str, stored: set[ox.Triple], new: set[ox.Triple]) -> None:
    """Raise Forbidden if ``new`` changes a statement only the registry makes
    (docs/facts.md, fact 13)."""
    for predicate in KEPT_BY_REGISTRY:
        before = {t for t in stored if t.predicate == predicate}
        after = {t for t in new if t.predicate == predicate}
        if before != after:
            name = predicate.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            raise Forbidden(
                f"{name} of {iri} is set by the registry, not by an update: send it back as served",
                field=predicate.value,
            )


def _record_subject(node: Term) -> ox.NamedNode | None:
    if isinstance(node, ox.NamedNode):
        return ox.NamedNode(node.value.split("#", 1)[0])
    return None


def _refused_records(report: Report, split: Split) -> list[Record]:
    """Records with a violation, and (transitively) those that refer to a refused record."""
    bad_origins = {f.record for f in report.violations}
    refused = {r.subject for r in split.records if r.origin in bad_origins}
    changed = True
    while changed:
        changed = False
        for r in split.records:
            if r.subject not in refused and any(t.object in refused for t in r.triples):
                refused.add(r.subject)
                report.findings.append(_refers_to_refused(r))
                changed = True
    return [r for r in split.records if r.subject in refused]


def _refers_to_refused(record: Record) -> Finding:
    return Finding(
        record=record.origin,
        field=None,
        value=None,
        message="This record refers to another record of the same submission that was refused; "
        "fix that record and submit both again",
        rule="References resolve",
        description="A record may only refer to records that exist.",
        severity="Violation",
        focus=local_id(record.subject),
        path=None,
        constraint="ReferenceConstraint",
        shape=None,
    )
