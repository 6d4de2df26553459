"""The registry: submissions in, journal entries written, the index kept in step.

Write path: parse → normalise → validate (the shapes, with the registry records the rules need)
→ mint IRIs → one fsync'd journal entry → apply it to the index atomically. Writes are
serialised by one lock, so cross-record rules (uniqueness, one operator at a time) are checked
against a registry that cannot change underneath them.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from registry.errors import NotFound, ValidationFailed
from registry.formats import Parsed
from registry.index import OxigraphIndex, RecordChange
from registry.journal import Entry, Journal
from registry.query import QueryResult, run_query
from registry.records import assign_iris, local_id, rename
from registry.related import related_records
from registry.settings import Settings
from registry.statistics import Summary, summarise
from registry.validation import Report, Shapes, check, load_shapes


@dataclass
class Registration:
    """What an accepted submission produced."""

    seq: int
    hash: str
    time: str
    ids: dict[str, str]
    report: Report
    records: list[dict[str, str]] = field(default_factory=list)


class Registry:
    """One registry: a journal and the index derived from it."""

    def __init__(self, settings: Settings, shapes: Shapes | None = None) -> None:
        self.settings = settings
        self.shapes = shapes or load_shapes()
        data_dir = settings.data_dir
        if data_dir:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.journal = Journal(Path(data_dir) / "journal.sqlite" if data_dir else None)
        self.index = OxigraphIndex(Path(data_dir) / "index" if data_dir else None)
        self.public_graph = ox.NamedNode(settings.base_iri + "graph/public")
        self._write_lock = threading.Lock()
        self.replayed = self.catch_up()

    def close(self) -> None:
        self.index.close()
        self.journal.close()

    # --- journal → index -------------------------------------------------------------------

    def catch_up(self) -> int:
        """Apply the journal entries the index has not seen; returns how many."""
        count = 0
        for entry in self.journal.entries(after=self.index.applied_seq()):
            self.index.apply(entry.seq, changes_of(entry))
            count += 1
        return count

    # --- writes ----------------------------------------------------------------------------

    def register(self, parsed: Parsed, actor: str) -> Registration:
        """Validate and register the records of one submission.

        Raises ValidationFailed (with the report) if any rule is broken; nothing is stored then.
        """
        with self._write_lock:
            report, _, split = check(parsed, self.shapes, related=self._related)
            if not report.conforms:
                raise ValidationFailed(
                    f"{len(report.violations)} rule(s) broken in {parsed.source}; nothing was stored",
                    report,
                )
            renaming = assign_iris(split.records, self.settings.base_iri)
            records = []
            for record in split.records:
                iri = renaming[record.subject]
                content = rename(record.triples, renaming)
                records.append(
                    {
                        "iri": iri.value,
                        "type": record.type.value,
                        "graph": self.graph_for(record.type).value,
                        "new": True,
                        "nt": _ntriples(content),
                    }
                )
            time = now()
            entry = self.journal.append(time, actor, "register", {"records": records})
            self.index.apply(entry.seq, changes_of(entry))
        ids = {local_id(r.subject): renaming[r.subject].value for r in split.records}
        summary = [{"id": r["iri"], "type": r["type"]} for r in records]
        return Registration(entry.seq, entry.hash, time, ids, report, summary)

    def _related(self, triples: list[ox.Triple]) -> list[ox.Triple]:
        return related_records(self.index, triples, self.settings.base_iri)

    def graph_for(self, record_type: ox.NamedNode) -> ox.NamedNode:
        """The graph (audience partition) a record of this type is stored in."""
        return self.public_graph

    # --- reads -----------------------------------------------------------------------------

    def record(self, iri: str) -> list[ox.Triple]:
        """The triples of one record. Raises NotFound."""
        subject = ox.NamedNode(iri)
        for graph in self.index.graphs():
            quads = self.index.record_quads(graph, subject)
            if quads:
                return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        raise NotFound(f"no record {iri}")

    def query(self, text: str) -> QueryResult:
        """Run a read-only SPARQL query over the public dataset. Raises QueryRefused."""
        return run_query(self.index.store, text, [self.public_graph])

    def counts(self) -> dict[str, int]:
        """How many records of each type the registry holds."""
        return self.summary().counts

    def summary(self) -> Summary:
        """Counts and breakdowns of what the registry holds."""
        return summarise(self.index.store, [self.public_graph])


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _ntriples(triples: list[ox.Triple]) -> str:
    return "".join(f"{t.subject} {t.predicate} {t.object} .\n" for t in triples)


def changes_of(entry: Entry) -> list[RecordChange]:
    """The index changes a journal entry stands for."""
    changes = []
    for r in entry.payload.get("records", []):
        triples = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(r["nt"].encode(), format=ox.RdfFormat.N_TRIPLES)
        ]
        changes.append(
            RecordChange(ox.NamedNode(r["graph"]), ox.NamedNode(r["iri"]), triples, r.get("new", False))
        )
    return changes
