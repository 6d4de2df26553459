"""From a journal entry to what it changes: the index's quads and the register's rows.

The same functions serve an entry being committed (its triples known) and one replayed from
the journal (its N-Triples parsed, personal values opened by the sealer).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pyoxigraph as ox

from registry.store import personal
from registry.store.index_protocol import RecordChange
from registry.store.journal import Entry


def changes_of(entry: Entry, sealer: personal.Sealer | None = None) -> list[RecordChange]:
    """The index changes a journal entry stands for (personal values opened by ``sealer``;
    without one they stay sealed)."""
    return payload_changes(entry.payload, {}, sealer, entry.seq)


def payload_changes(
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


def derive_register(db: sqlite3.Connection, entry: Entry) -> None:
    """Keep the register (each record's current version) and the version history in step
    with one journal entry, in the entry's own database transaction."""
    records = entry.payload.get("records", [])
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
