"""The registry: changes gathered in transactions, journaled, applied to the index.

Write path: parse → normalise → validate (the shapes, with the registry records the rules need)
→ mint IRIs → one fsync'd journal entry → apply it to the index atomically. Every write goes
through :meth:`Registry.transaction`, which holds the one write lock: cross-record rules
(uniqueness, one operator at a time) are checked against a registry that cannot change
underneath them, and a transaction's records, notifications and events land together or not at
all.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.assets import capacity
from registry.base.errors import (
    Conflict,
    DerivedStateTampered,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    RegistryError,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.base.vocab import FDI, KEPT_BY_REGISTRY, RECORD_TYPES
from registry.kernel import access
from registry.kernel import audit as audit_trail
from registry.kernel.authorisation import authorise, keep_verified_facts
from registry.kernel.idempotency import IdempotencyKey
from registry.kernel.idempotency import lookup as idempotent_response
from registry.kernel.idempotency import remember as remember_response
from registry.kernel.related import related_records
from registry.markets import directory, sharing
from registry.operations import derived_state
from registry.proof import checkpoints, receipts
from registry.proof.keys import KeyRing
from registry.publishing import disclosure
from registry.publishing.statistics import Summary, summary_of
from registry.query.query import QueryResult, run_query
from registry.query.sparql_endpoint import SparqlEndpoint
from registry.rules import rules
from registry.shacl.validation import Finding, Report, Shapes, check, load_shapes
from registry.store import personal
from registry.store.index_protocol import RecordChange
from registry.store.indexes import open_index
from registry.store.journal import Entry
from registry.store.journals import open_journal
from registry.submissions.formats import Parsed
from registry.submissions.limits import check_blank_nodes
from registry.submissions.normalise import normalise
from registry.submissions.records import Record, Split, assign_iris, local_id, rename, split_records
from registry.trust.control import relations


@dataclass(frozen=True)
class RecordInfo:
    """A record's entry in the register: what it is, where it lives, its version and status."""

    iri: str
    type: str
    graph: str
    version: int
    status: str | None
    owner: str | None
    created: str
    modified: str
    seq: int

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@dataclass
class Registration:
    """What an accepted transaction produced."""

    seq: int
    hash: str
    time: str
    ids: dict[str, str]
    report: Report | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    receipt: dict[str, Any] | None = None  # the registry's signed receipt (registry.proof.receipts)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # True when an Idempotency-Key retry got the first answer again

    def as_dict(self) -> dict[str, Any]:
        """The answer to the submitter (also what an idempotent retry gets again)."""
        warnings = [f.as_dict() for f in self.report.warnings] if self.report else self.warnings
        return {
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "ids": self.ids,
            "records": self.records,
            "refused": self.refused,
            "warnings": warnings,
            "receipt": self.receipt,
        }

    @classmethod
    def replay(cls, stored: dict[str, Any]) -> Registration:
        return cls(
            stored["seq"],
            stored["hash"],
            stored["time"],
            stored["ids"],
            records=stored["records"],
            refused=stored["refused"],
            receipt=stored["receipt"],
            warnings=stored["warnings"],
            replayed=True,
        )


Refusal = Callable[["Transaction", Report, list[Record]], RegistryError | None]


@dataclass
class Staged:
    """What :meth:`Registry.stage` put into a transaction, or why it refused."""

    report: Report
    accepted: list[Record]
    renaming: dict[Any, ox.NamedNode]
    refused: list[Record]
    refusal: RegistryError | None

    def registration(self, tx: Transaction) -> Registration:
        entry = tx.entry
        ids = {local_id(r.subject): self.renaming[r.subject].value for r in self.accepted}
        summary = [{"id": r["iri"], "type": r["type"], "version": r["version"]} for r in tx.records]
        return Registration(
            entry.seq if entry else 0,
            entry.hash if entry else "",
            entry.time if entry else now(),
            ids,
            self.report,
            summary,
            refused=[r.origin for r in self.refused],
            receipt=tx.receipt,
        )


class Transaction:
    """Changes gathered under the write lock, committed as one journal entry."""

    def __init__(self, registry: Registry, actor: str, kind: str) -> None:
        self.registry = registry
        self.actor = actor
        self.kind = kind
        self.records: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.copies: list[dict[str, Any]] = []
        self._copy_at: dict[tuple[str, str], int] = {}  # (graph, IRI) → position in ``copies``
        self._pending: dict[str, dict[str, Any]] = {}
        # The triples behind each record's and copy's N-Triples text, by (graph, IRI), so the
        # index is written without parsing back the text just written to the journal.
        self._triples: dict[tuple[str, str], list[ox.Triple]] = {}
        self.entry: Entry | None = None  # set once committed
        self.receipt: dict[str, Any] | None = None  # signed when committed
        # With a key, ``response()`` is stored with the entry for retries
        # (registry.kernel.idempotency).
        self.idempotency: IdempotencyKey | None = None
        self.response: Callable[[], dict[str, Any]] | None = None

    def info(self, iri: str) -> RecordInfo | None:
        """The record as it stands, counting changes already made in this transaction."""
        pending = self._pending.get(iri)
        stored = self.registry.info(iri)
        if pending is None:
            return stored
        return RecordInfo(
            iri,
            pending["type"],
            pending["graph"],
            pending["version"],
            pending.get("status"),
            pending.get("owner"),
            stored.created if stored else "",
            "",
            0,
        )

    def put(
        self,
        iri: ox.NamedNode,
        rtype: ox.NamedNode,
        triples: list[ox.Triple],
        *,
        graph: ox.NamedNode | None = None,
        status: str | None = None,
        owner: str | None = None,
        minted: bool = False,
        rules: str | None = None,
    ) -> int:
        """Store a new version of a record (the first, if it is new); returns the version.

        ``minted``: the IRI was minted in this transaction, so there is no stored record to
        look up.
        """
        current = None if minted and iri.value not in self._pending else self.info(iri.value)
        version = current.version + 1 if current else 1
        owner = owner if owner is not None else (current.owner if current else None)
        target = (graph or self.registry.graph_for(rtype, owner)).value
        record = {
            "iri": iri.value,
            "type": rtype.value,
            "graph": target,
            "version": version,
            "new": current is None,
            "status": status if status is not None else (current.status if current else None),
            "owner": owner,
            "nt": ntriples(triples),
        }
        if rules is not None:  # the rules version that validated it (registry.rules.rules)
            record["rules"] = rules
        if current is not None and current.graph != target:
            record["movedFrom"] = current.graph
        if iri.value in self._pending:
            self.records = [r for r in self.records if r["iri"] != iri.value]
            record["new"] = self._pending[iri.value]["new"]
        self._pending[iri.value] = record
        self.records.append(record)
        self._triples[(target, iri.value)] = triples
        return version

    def staged(self, iri: str) -> list[ox.Triple]:
        """The content this transaction gives the record ``iri`` (empty if none)."""
        pending = self._pending.get(iri)
        return self._triples.get((pending["graph"], iri), []) if pending else []

    def discard(self, iri: str) -> None:
        """Take back this transaction's new version of ``iri`` (a change that changed nothing)."""
        pending = self._pending.pop(iri, None)
        if pending is not None:
            self.records = [r for r in self.records if r["iri"] != iri]
            self._triples.pop((pending["graph"], iri), None)

    def copy(self, graph: ox.NamedNode, iri: str, triples: list[ox.Triple]) -> None:
        """Put (or, with no triples, remove) a copy of a record in another audience graph."""
        # A later copy of the same record to the same graph replaces the earlier one, found by
        # key: a scan of the list per copy made sharing 10,000 assets take quadratic time.
        key = (graph.value, iri)
        entry = {"graph": graph.value, "iri": iri, "nt": ntriples(triples)}
        if key in self._copy_at:
            self.copies[self._copy_at[key]] = entry
        else:
            self._copy_at[key] = len(self.copies)
            self.copies.append(entry)
        self._triples[(graph.value, iri)] = triples

    def notify(self, recipient: str, activity: dict[str, Any]) -> None:
        """Queue a notification (an ActivityStreams object) for an organisation's inbox."""
        self.notifications.append({"recipient": recipient, "activity": activity})

    def event(self, data: dict[str, Any]) -> None:
        """Record something that happened (an audit event) in this transaction's entry."""
        self.events.append(data)

    @property
    def empty(self) -> bool:
        return not (self.records or self.copies or self.notifications or self.events)

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"records": self.records}
        if self.copies:
            out["copies"] = self.copies
        if self.notifications:
            out["notifications"] = self.notifications
        if self.events:
            out["events"] = self.events
        return out


class Registry:
    """One registry: a journal and the index derived from it."""

    def __init__(self, settings: Settings, shapes: Shapes | None = None) -> None:
        self.settings = settings
        # Shapes given here are the rules for good; otherwise the rules version in force at the
        # time of each submission checks it (registry.rules; ``clock`` is injectable for tests).
        self._fixed_shapes = shapes is not None
        self.packaged_shapes = shapes or load_shapes()
        if self.packaged_shapes.engine != settings.validator:
            self.packaged_shapes = replace(
                self.packaged_shapes, engine=settings.validator, _compiled={}
            )
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        data_dir = settings.data_dir
        if data_dir:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.journal = open_journal(
            Path(data_dir) / "journal.sqlite" if data_dir else None, settings.journal_url
        )
        with self.journal.exclusive():  # replicas sharing a journal start one at a time
            # Personal values enter the hashed journal text sealed with their subject's key.
            self.sealer = personal.Sealer(self.journal)
            # The capacity aggregates live in the journal's database, derived like the register.
            capacity.ensure(self.journal._db, self.journal.entries())
            # Authentication reads the register: refuse to serve from one the journal disowns.
            tampered = derived_state.trust_differences(self.journal._db)
        if tampered:
            self.journal.close()
            raise DerivedStateTampered(
                f"{len(tampered)} register row(s) that authentication relies on differ from the "
                f"journal (run `fdi journal verify`): {tampered[0]}",
                differences=tampered,
            )
        self.index = open_index(settings)  # embedded Oxigraph or an external SPARQL store
        # Requesters' SPARQL: checked, time-limited, in worker processes (sparql_endpoint.py)
        self.sparql = SparqlEndpoint(settings, self.index)
        self.keys = KeyRing(Path(data_dir) / "keys" if data_dir else None)
        self.public_graph = ox.NamedNode(settings.base_iri + "graph/public")
        self._write_lock = threading.RLock()
        self._applied = self.index.applied_seq()
        self.replayed = self.catch_up()
        # A journal other processes append to too is followed: their entries reach this
        # registry's index within moments of being committed (registry.store.journal_pg).
        self._closing = threading.Event()
        self._follower: threading.Thread | None = None
        if self.journal.shared:
            self._follower = threading.Thread(target=self._follow, name="journal", daemon=True)
            self._follower.start()

    def today(self) -> dt.date:
        """The day deprecated terms and rules are judged on (their sunset dates): ``clock``'s."""
        return self.clock().date()

    @property
    def shapes(self) -> Shapes:
        """The shapes that check a submission now: the rules version in force."""
        return self.rules_now()[1]

    @shapes.setter
    def shapes(self, shapes: Shapes) -> None:
        """Check every submission with ``shapes`` from now on, whatever the rules versions."""
        self._fixed_shapes, self.packaged_shapes = True, shapes

    def rules_now(self) -> tuple[str | None, Shapes]:
        """The rules version in force now and its shapes (None: shapes given at start)."""
        if self._fixed_shapes:
            return None, self.packaged_shapes
        return rules.shapes_in_force(self)

    def close(self) -> None:
        self._closing.set()
        if self._follower is not None:
            self._follower.join(5)
        self.sparql.close()
        self.index.close()
        self.journal.close()

    # --- journal → index -------------------------------------------------------------------

    def catch_up(self) -> int:
        """Apply the journal entries the index has not seen; returns how many."""
        count = 0
        start = self.index.applied_seq()
        self._applied = start
        for entry in self.journal.entries(after=start):
            if personal.ERASURE_MARK in entry.body:  # another replica's erasure: forget its keys
                self.sealer.committed([], entry.payload, entry.seq)
            self._apply(entry.seq, changes_of(entry, self.sealer))
            count += 1
        return count

    def applied(self) -> int:
        """The last journal sequence number this registry's index reflects (kept in memory:
        an external store's would be a query)."""
        return self._applied

    def _apply(self, seq: int, changes: list[RecordChange]) -> None:
        self.index.apply(seq, changes)
        self._applied = seq

    def reach(self, seq: int, timeout: float) -> bool:
        """Catch up until the index reflects journal entry ``seq`` or ``timeout`` seconds pass;
        whether it does (read-your-writes across replicas)."""
        deadline = time.monotonic() + timeout
        while self.applied() < seq:
            with self._write_lock:
                self.catch_up()
            if self.applied() >= seq or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        return self.applied() >= seq

    def _follow(self) -> None:
        while not self._closing.is_set():
            others = self.journal.wait(1.0)  # False: only this registry's own commits
            if self._closing.is_set():
                return
            if not others:
                continue
            try:
                with self._write_lock:
                    self.catch_up()
            except Exception:  # the database away for a moment: the next round retries
                logging.getLogger(__name__).exception("following the journal")
                self._closing.wait(1.0)

    # --- writes ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self, actor: str, kind: str) -> Iterator[Transaction]:
        """Gather changes under the write lock; on a clean exit, journal and apply them."""
        with self._write_lock, self.journal.exclusive():
            if self.journal.shared:  # checks see every entry committed by any replica
                self.catch_up()
            tx = Transaction(self, actor, kind)
            yield tx
            # Copies in other audience graphs (the public directory listing, data shared with
            # an organisation) change in the same entry as the records they copy.
            directory.keep_listings(tx)
            sharing.keep_shared_copies(tx)
            if not tx.empty:
                tx.entry = self._commit(tx)

    def _commit(self, tx: Transaction) -> Entry:
        # Every write path ends here, so every accepted write gets a signed receipt, stored in
        # the entry's own SQLite transaction (with the idempotent response, if any).
        lines = receipts.record_hashes(tx.records, tx._triples)
        payload = tx.payload()
        sealed, keys = self.sealer.seal_payload(payload, tx._triples)

        def derive(db: sqlite3.Connection, entry: Entry) -> None:
            self.sealer.keep(db, entry, keys)
            _derive(db, entry)
            audit_trail.derive(db, entry)
            capacity.derive(db, payload, entry.seq, tx._triples)
            personal.derive(db, entry)
            tx.receipt = receipts.issue(db, entry, lines, self.keys, self.settings.base_iri)
            if tx.idempotency is not None and tx.response is not None:
                tx.entry = entry
                remember_response(db, tx.idempotency, entry.seq, tx.response())

        entry = self.journal.append(now(), tx.actor, tx.kind, sealed, derive=derive)
        self.sealer.committed(keys, payload, entry.seq)
        self._apply(entry.seq, _changes(payload, tx._triples))
        every = self.settings.checkpoint_every
        if every and entry.seq % every == 0:
            self.checkpoint()
        return entry

    def checkpoint(self) -> dict[str, Any]:
        """Sign a checkpoint of the journal's head and publish it (registry.proof.checkpoints)."""
        return checkpoints.make(self.journal, self.keys, self.settings.base_iri)

    def audit(
        self,
        principal: Principal,
        action: str,
        target: str | None = None,
        request_id: str | None = None,
    ) -> Entry | None:
        """Journal an audit event: ``principal`` did ``action`` (``read``, ``refused``, ...) to
        ``target`` (a record IRI, or what was asked for) in request ``request_id``."""
        info = self.info(target) if target else None
        with self.transaction(principal.actor, "audit") as tx:
            tx.event(
                audit_trail.event(
                    principal, action, target, info.owner if info else None, request_id
                )
            )
        return tx.entry

    def adopt(
        self,
        entries: Iterator[Entry],
        also: Callable[[sqlite3.Connection, Entry], None] | None = None,
    ) -> int:
        """Append entries copied from another copy of this journal (replay after a restore),
        checking that each continues the chain, and apply them. Returns how many.

        Raises JournalCorrupt at the first entry that does not continue the chain.
        """

        def derive(db: sqlite3.Connection, entry: Entry) -> None:
            derive_tables(db, entry)
            if also is not None:
                also(db, entry)

        count = 0
        with self._write_lock:
            for entry in entries:
                self.journal.copy_in(entry, derive=derive)
                self.sealer.committed([], entry.payload, entry.seq)
                self._apply(entry.seq, changes_of(entry, self.sealer))
                count += 1
        return count

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

        def related(triples: list[ox.Triple]) -> list[ox.Triple]:
            found = self._related(triples)
            if not replacing:
                return found
            stale = {ox.NamedNode(iri) for iri in replacing}
            kept = [t for t in found if _record_subject(t.subject) not in stale]
            return kept + [t for content in replacing.values() for t in content]

        version, shapes = self.rules_now()
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
        self, records: list[Record], renaming: dict[Any, ox.NamedNode], updating: str | None
    ) -> None:
        """Raise Conflict if a submission names a stored record other than ``updating``: the
        record as served, sent to a registration route, would otherwise become a new version
        owned by the sender."""
        for record in records:
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
        if not if_match:
            raise PreconditionRequired(
                "updates need If-Match with the record's current ETag (GET the record first)"
            )
        with self.transaction(principal.actor, "update") as tx:
            info = self.info(iri)
            if info is None:
                raise NotFound(f"no record {iri}")
            try:
                authorise(
                    principal,
                    _UPDATE.get(info.type, "record.update"),
                    relations(self, principal, iri),
                )
            except Forbidden as refused:
                raise Forbidden(f"{iri}: {refused.detail}") from None
            if not etag_matches(if_match, info.version):
                raise PreconditionFailed(
                    f"{iri} has changed: its current ETag is {info.etag}; GET it, merge, retry",
                    current=info.etag,
                )
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

    def history(self, iri: str, principal: Principal | None = None) -> list[dict[str, Any]]:
        """Every version of a record: number, time, who. Raises NotFound."""
        self.record(iri, principal)  # the same visibility as the record itself
        rows = self.journal.read(
            "SELECT version, seq, time, actor FROM version WHERE iri = ? ORDER BY version", (iri,)
        )
        return [{"version": v, "seq": seq, "time": t, "actor": a} for v, seq, t, a in rows]

    def version(
        self,
        iri: str,
        number: int | None = None,
        *,
        as_of: str | None = None,
        principal: Principal | None = None,
    ) -> tuple[int, list[ox.Triple]]:
        """A record as it was: a given version, or the one current at time ``as_of``.

        Raises NotFound (also when the record did not exist yet at ``as_of``)."""
        self.record(iri, principal)
        if number is not None:
            rows = self.journal.read(
                "SELECT version, seq FROM version WHERE iri = ? AND version = ?", (iri, number)
            )
        else:
            rows = self.journal.read(
                "SELECT version, seq FROM version WHERE iri = ? AND time <= ? "
                "ORDER BY version DESC LIMIT 1",
                (iri, as_of or now()),
            )
        if not rows:
            raise NotFound(f"{iri} has no such version")
        version, seq = rows[0]
        entry = self.journal.entry(seq)
        assert entry is not None
        nt = next(r["nt"] for r in entry.payload["records"] if r["iri"] == iri)
        return version, self.sealer.triples(nt, entry.seq)

    def _stored(self, info: RecordInfo) -> list[ox.Triple]:
        quads = self.index.record_quads(ox.NamedNode(info.graph), ox.NamedNode(info.iri))
        return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]

    def _related(self, triples: list[ox.Triple]) -> list[ox.Triple]:
        return related_records(self.index, triples, self.settings.base_iri)

    def related(self, triples: list[ox.Triple]) -> list[ox.Triple]:
        """The stored records the cross-record rules need to check ``triples``."""
        return self._related(triples)

    def graph_for(self, record_type: ox.NamedNode, owner: str | None = None) -> ox.NamedNode:
        """The graph (audience partition) a record of this type and owner is stored in."""
        return access.graph_for(self.settings.base_iri, record_type.value, owner)

    def dataset_for(self, principal: Principal | None) -> list[ox.NamedNode]:
        """The graphs ``principal`` may read."""
        return access.dataset_for(self.settings.base_iri, principal or Principal.anonymous())

    # --- reads -----------------------------------------------------------------------------

    def info(self, iri: str) -> RecordInfo | None:
        """The register's entry for a record, or None."""
        rows = self.journal.read(
            "SELECT iri, type, graph, version, status, owner, created, modified, seq "
            "FROM record WHERE iri = ?",
            (iri,),
        )
        return RecordInfo(*rows[0]) if rows else None

    def record(self, iri: str, principal: Principal | None = None) -> list[ox.Triple]:
        """The triples of one record as ``principal`` may see it (its own graph, or a copy
        shared with it). Raises NotFound, also for records the principal may not see."""
        info = self.info(iri)
        if info is None:
            raise NotFound(f"no record {iri}")
        if info.seq > self.applied():  # the shared register is ahead of this replica's index
            self.reach(info.seq, self.settings.catch_up_wait)
        subject = ox.NamedNode(iri)
        principal = principal or Principal.anonymous()
        public = self.graph_for(FDI.Organisation)
        for graph in self.dataset_for(principal):
            quads = self.index.record_quads(graph, subject)
            if quads:
                if graph != public and info.type in _UPDATE:
                    own = access.org_graph(self.settings.base_iri, principal.organisation or "")
                    authorise(
                        principal, "asset.read-private", {"owner" if graph == own else "shared"}
                    )
                return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        # Control follows the operator: after a switch the asset stays in its registrant's
        # graph, and its current operator reads it there.
        if info.type in _UPDATE and principal.authenticated:
            found = relations(self, principal, iri) & {"operator"}
            if found:
                authorise(principal, "asset.read-private", found)
                return self._stored(info)
        raise NotFound(f"no record {iri}")

    def query(self, text: str, principal: Principal | None = None) -> QueryResult:
        """Run a read-only SPARQL query over the dataset ``principal`` may see.

        Raises QueryRefused."""
        return run_query(self.index, text, self.dataset_for(principal))

    def counts(self) -> dict[str, int]:
        """How many records of each type the registry holds (kept by every write: no scan)."""
        found = dict(self.journal.read(capacity.RECORD_COUNTS))
        return {kind: found.get(rtype.value, 0) for rtype, kind in RECORD_TYPES.items()}

    def capacity_statistics(self) -> list[dict[str, Any]]:
        """Registered flexible capacity (assets, import and export kW, energy kWh) by
        technology, area (GSP group) and lifecycle status; kept current by every write in the
        journal database (registry.assets.capacity), so answering never reads the assets."""
        return capacity.statistics(self.journal.read(capacity.STATISTICS))

    def summary(self) -> Summary:
        """Counts and breakdowns of what the registry holds, from the aggregates every write
        keeps (registry.assets.capacity): the home page never scans the index."""
        samples = [
            row[0]
            for rtype in RECORD_TYPES
            for row in self.journal.read(
                "SELECT iri FROM record WHERE type = ? AND graph = ? LIMIT 1",
                (rtype.value, self.public_graph.value),
            )
        ]
        cells = disclosure.protect(self.capacity_statistics(), self.settings.disclosure_threshold)
        return summary_of(disclosure.published_counts(self.counts(), cells), cells, samples)


_UPDATE = {
    FDI.FlexibleAsset.value: "asset.update",
    FDI.RightToOperate.value: "right.update",
}


def etag_matches(if_match: str, version: int) -> bool:
    """Whether an If-Match header names this version (``*`` matches any).

    ETags are ``"<version>"``, optionally with a representation suffix (``"3.ttl"``).
    """
    for tag in if_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*" or tag.split(".", 1)[0] == str(version):
            return True
    return False


def _as_record(parsed: Parsed, iri: str, rtype: str) -> Parsed:
    """The submission with its one record of type ``rtype`` renamed to ``iri``."""
    from registry.submissions.records import split_records

    split = split_records(parsed.triples, parsed.origins)
    records = [r for r in split.records if r.type.value == rtype]
    if len(split.records) != 1 or not records:
        raise UnusableInput(f"an update holds exactly one record of type {rtype}")
    old = records[0].subject
    new = ox.NamedNode(iri)
    renamed = rename(parsed.triples, {old: new})
    origins = {new: parsed.origins.get(old, iri)}
    return Parsed(parsed.source, parsed.format, renamed, origins)


def _as_stored(triples: Iterable[ox.Triple]) -> set[ox.Triple]:
    """The triples as the index keeps them: Oxigraph writes literals in canonical form
    (``"…+00:00"^^xsd:dateTime`` as ``"…Z"``, ``"5.0"^^xsd:decimal`` as ``"5"``), so a record
    sent back through another parser compares equal to what is stored (DESIGN fact 18)."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return {ox.Triple(q.subject, q.predicate, q.object) for q in store}


def _check_kept(iri: str, stored: set[ox.Triple], new: set[ox.Triple]) -> None:
    """Raise Forbidden if ``new`` changes a statement only the registry makes (DESIGN fact 13)."""
    for predicate in KEPT_BY_REGISTRY:
        before = {t for t in stored if t.predicate == predicate}
        after = {t for t in new if t.predicate == predicate}
        if before != after:
            name = predicate.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            raise Forbidden(
                f"{name} of {iri} is set by the registry, not by an update: send it back as served",
                field=predicate.value,
            )


def _record_subject(node: ox.Term) -> ox.NamedNode | None:
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


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def ntriples(triples: list[ox.Triple]) -> str:
    # Oxigraph's serializer writes the same lines as "{s} {p} {o} .\n", about 3x faster.
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()


def changes_of(entry: Entry, sealer: personal.Sealer | None = None) -> list[RecordChange]:
    """The index changes a journal entry stands for (personal values opened by ``sealer``;
    without one they stay sealed)."""
    return _changes(entry.payload, {}, sealer, entry.seq)


def _changes(
    payload: dict[str, Any],
    known: dict[tuple[str, str], list[ox.Triple]],
    sealer: personal.Sealer | None = None,
    seq: int = 0,
) -> list[RecordChange]:
    """The index changes of an entry's payload; ``known`` holds the triples behind its
    N-Triples texts when the entry is being committed (what parsing the text would give)."""

    def triples(r: dict[str, Any]) -> list[ox.Triple]:
        found = known.get((r["graph"], r["iri"]))
        if found is not None:
            return found
        return sealer.triples(r["nt"], seq) if sealer else _triples(r["nt"])

    changes = []
    for r in payload.get("records", []):
        if "movedFrom" in r:
            changes.append(RecordChange(ox.NamedNode(r["movedFrom"]), ox.NamedNode(r["iri"]), []))
        changes.append(
            RecordChange(
                ox.NamedNode(r["graph"]), ox.NamedNode(r["iri"]), triples(r), r.get("new", False)
            )
        )
    for c in payload.get("copies", []):
        changes.append(RecordChange(ox.NamedNode(c["graph"]), ox.NamedNode(c["iri"]), triples(c)))
    return changes


def _triples(nt: str) -> list[ox.Triple]:
    return [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)
    ]


def derive_tables(db: sqlite3.Connection, entry: Entry) -> None:
    """Every derived table's rows for one journal entry, as a replay writes them."""
    _derive(db, entry)
    audit_trail.derive(db, entry)
    capacity.derive(db, entry.payload, entry.seq)
    personal.derive(db, entry)


def _derive(db: sqlite3.Connection, entry: Entry) -> None:
    """Keep the register, the version history and the notification queue in step with the log."""
    payload = entry.payload
    records = payload.get("records", [])
    db.executemany(
        "INSERT INTO record (iri, type, graph, version, status, owner, created, modified, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO UPDATE SET "
        "type = excluded.type, graph = excluded.graph, version = excluded.version, "
        "status = excluded.status, owner = excluded.owner, modified = excluded.modified, "
        "seq = excluded.seq",
        [
            (
                r["iri"],
                r["type"],
                r["graph"],
                r["version"],
                r.get("status"),
                r.get("owner"),
                entry.time,
                entry.time,
                entry.seq,
            )
            for r in records
        ],
    )
    db.executemany(
        "INSERT INTO version (iri, version, seq, time, actor) VALUES (?, ?, ?, ?, ?)",
        [(r["iri"], r["version"], entry.seq, entry.time, entry.actor) for r in records],
    )
    for event in payload.get("events", []):
        if "job" in event:
            db.execute(
                "INSERT INTO job_event (job, seq, time, actor, body) VALUES (?, ?, ?, ?, ?)",
                (event["job"]["id"], entry.seq, entry.time, entry.actor, json.dumps(event["job"])),
            )
    for n in payload.get("notifications", []):
        db.execute(
            "INSERT INTO notification (seq, recipient, time, body) VALUES (?, ?, ?, ?)",
            (entry.seq, n["recipient"], entry.time, json.dumps(n["activity"])),
        )
    for event in payload.get("events", []):
        if (
            "acknowledged" in event
        ):  # the recipient marks a notification as seen (registry.messaging.inbox)
            db.execute(
                "UPDATE notification SET acknowledged = ? WHERE id = ? AND recipient = ? "
                "AND acknowledged IS NULL",
                (entry.time, event["acknowledged"], event["recipient"]),
            )
