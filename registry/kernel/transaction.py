"""A write transaction and what it produces: the register entry of a record, the changes
gathered under the write lock, and the answer an accepted transaction gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.clock import now as now  # the journal's time; kernel modules import it from here
from registry.base.errors import RegistryError
from registry.kernel.idempotency import IdempotencyKey
from registry.shacl.validation import Report
from registry.store.journal import Entry
from registry.submissions.records import Record, local_id

if TYPE_CHECKING:
    from registry.kernel.core import Registry


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
        # IRIs minted in this transaction (random UUIDs): nothing is stored under them, so
        # neither the register nor the key store is asked about them.
        self.minted: set[str] = set()
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
        stored = None if iri in self.minted else self.registry.info(iri)
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
        if minted:
            self.minted.add(iri.value)
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


def ntriples(triples: list[ox.Triple]) -> str:
    # Oxigraph's serializer writes the same lines as "{s} {p} {o} .\n", about 3x faster.
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # no output file given: the bytes are returned
    return data.decode()
