"""The registry: changes gathered in transactions, journaled, applied to the index.

Write path: parse → normalise → validate (the shapes, with the registry records the rules need)
→ mint IRIs → one fsync'd journal entry → apply it to the index atomically. Every write goes
through :meth:`Registry.transaction`, which holds the one write lock: cross-record rules
(uniqueness, one operator at a time) are checked against a registry that cannot change
underneath them, and a transaction's records, notifications and events land together or not at
all. What features keep in step with each write plugs in through ``features``
(:mod:`registry.kernel.features`); the kernel knows none of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.base.clock import utcnow
from registry.base.errors import DerivedStateTampered
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.kernel import audit as audit_trail
from registry.kernel import idempotency, register
from registry.kernel.changes import changes_of, derive_register, payload_changes
from registry.kernel.features import Features, Known
from registry.kernel.idempotency import remember as remember_response
from registry.kernel.register import mentions_trust, trust_differences
from registry.kernel.transaction import (
    RecordInfo,
    Refusal,
    Registration,
    Staged,
    Transaction,
    now,
    ntriples,
)
from registry.kernel.writes import Writes, etag_matches
from registry.proof import checkpoints, receipts
from registry.proof.keys import KeyRing
from registry.query.sparql_endpoint import SparqlEndpoint
from registry.shacl.validation import Shapes, load_shapes
from registry.store import personal
from registry.store.index_protocol import RecordChange
from registry.store.indexes import open_index
from registry.store.journal import Entry
from registry.store.journals import open_journal

# The kernel's tables in the journal's database: the register and versions, the audit trail,
# idempotent answers, receipts and checkpoints.
KERNEL_SCHEMA = (
    register.SCHEMA + audit_trail.SCHEMA + idempotency.SCHEMA + receipts.SCHEMA + checkpoints.SCHEMA
)

# Names features and interfaces import from here (the kernel's vocabulary of writes).
__all__ = [
    "Registry",
    "RecordInfo",
    "Refusal",
    "Registration",
    "Staged",
    "Transaction",
    "changes_of",
    "etag_matches",
    "now",
    "ntriples",
]


class Registry(Writes):
    """One registry: a journal and the index derived from it, knowing no feature.

    ``features`` (:class:`registry.kernel.features.Features`) plug in what the registry's
    features keep in step with every write; :mod:`registry.assembly` gives the FDI registry's.
    """

    # The SPARQL endpoint for requesters' queries (registry.query.sparql_endpoint), set by the
    # assembly that builds the registry.
    sparql: SparqlEndpoint

    def __init__(
        self, settings: Settings, shapes: Shapes | None = None, features: Features | None = None
    ) -> None:
        self.settings = settings
        self.features = features or Features()
        self._closers: list[Callable[[], None]] = []
        # Shapes given here are the rules for good; otherwise the rules version in force at the
        # time of each submission checks it (registry.rules; ``clock`` is injectable for tests).
        self._fixed_shapes = shapes is not None
        self.packaged_shapes = shapes or load_shapes()
        if self.packaged_shapes.engine != settings.validator:
            self.packaged_shapes = replace(
                self.packaged_shapes, engine=settings.validator, _compiled={}
            )
        self.clock: Callable[[], dt.datetime] = utcnow
        data_dir = settings.data_dir
        if data_dir:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.journal = open_journal(
            Path(data_dir) / "journal.sqlite" if data_dir else None, settings.journal_url
        )
        self.journal.keep_text = mentions_trust  # read as text when it opens, below
        with self.journal.exclusive():  # replicas sharing a journal start one at a time
            # The kernel's tables and each feature's, beside the log.
            self.journal.ensure_tables(KERNEL_SCHEMA + self.features.schema)
            # Personal values enter the hashed journal text sealed with their subject's key.
            self.sealer = personal.Sealer(self.journal)
            # Features' tables, brought up to the journal's head (the capacity aggregates, ...).
            self.features.start(self)
            # Authentication reads the register: refuse to serve from one the journal disowns.
            tampered = trust_differences(self.journal.database)
        if tampered:
            self.journal.close()
            raise DerivedStateTampered(
                f"{len(tampered)} register row(s) that authentication relies on differ from the "
                f"journal (run `fdi journal verify`): {tampered[0]}",
                differences=tampered,
            )
        self.index = open_index(settings)  # embedded Oxigraph or an external SPARQL store
        self.keys = KeyRing(Path(data_dir) / "keys" if data_dir else None)
        self.public_graph = ox.NamedNode(settings.base_iri + "graph/public")
        self._write_lock = threading.RLock()
        self._applied: int = self.index.applied_seq()
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
        if self._fixed_shapes or self.features.rules_in_force is None:
            return None, self.packaged_shapes
        return self.features.rules_in_force(self)

    def on_close(self, close: Callable[[], None]) -> None:
        """Call ``close`` when the registry closes, before its index and journal."""
        self._closers.append(close)

    def close(self) -> None:
        self._closing.set()
        if self._follower is not None:
            self._follower.join(5)
        for close in self._closers:
            close()
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
            self.features.before_commit(tx)
            if not tx.empty:
                tx.entry = self._commit(tx)

    def _commit(self, tx: Transaction) -> Entry:
        # Every write path ends here, so every accepted write gets a signed receipt, stored in
        # the entry's own SQLite transaction (with the idempotent response, if any).
        lines = receipts.record_hashes(tx.records, tx._triples)
        payload = tx.payload()
        sealed, keys = self.sealer.seal_payload(payload, tx._triples, tx.minted)

        def derive(db: sqlite3.Connection, entry: Entry) -> None:
            self.sealer.keep(db, entry, keys)
            self.derive(db, entry, tx._triples)
            tx.receipt = receipts.issue(db, entry, lines, self.keys, self.settings.base_iri)
            if tx.idempotency is not None and tx.response is not None:
                tx.entry = entry
                remember_response(db, tx.idempotency, entry.seq, tx.response())

        entry = self.journal.append(now(), tx.actor, tx.kind, sealed, derive=derive)
        self.sealer.committed(keys, payload, entry.seq)
        self._apply(entry.seq, payload_changes(payload, tx._triples))
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
            self.derive(db, entry)
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

    def derive(self, db: sqlite3.Connection, entry: Entry, known: Known = None) -> None:
        """Every derived row of one journal entry (in the entry's own database transaction)."""
        derive_tables(db, entry, self.features, known)


def derive_tables(
    db: sqlite3.Connection, entry: Entry, features: Features, known: Known = None
) -> None:
    """Every derived row of one journal entry: the register and versions, the audit trail, the
    erasure register, then each feature's."""
    derive_register(db, entry)
    audit_trail.derive(db, entry)
    personal.derive(db, entry)
    features.derive(db, entry, known)
