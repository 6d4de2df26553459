"""Derived state checked against the journal: the register, versions and other tables that
are views of the log, recomputed from it and compared.

Every table but ``entry`` in the journal's database is derived from the entries (journal.py)
and written in the entry's own transaction. Someone who edits those tables directly (a copy of
the data, a restored file, a careless fix) leaves the hash chain intact, so checking the chain
alone says nothing about them. :func:`differences` replays every entry into a fresh database
with the registry's own derive function and names every row that differs;
``fdi journal verify`` reports them.

Authentication reads the register (a certificate's status and holder, its organisation's
status, memberships, people), so those rows are checked whenever a registry opens
(:func:`registry.kernel.register.trust_differences`, one SQL pass over the entries' JSON): a
register edited to reactivate a revoked certificate stops the registry from starting instead
of letting the certificate in. (A record whose latest journaled type is no longer a trust type
is left to :func:`differences`.)
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from registry import assembly
from registry.store import personal
from registry.store.journal import SCHEMA, Entry

# Derived tables and the columns that identify a row in reports.
TABLES = {
    "record": "iri",
    "version": "iri, version",
    "notification": "id",
    "job_event": "job, seq",
    "audit": "id",
    "capacity": "technology, area, status",
    "asset_capacity": "iri",
    "record_count": "type",
    "erasure": "subject, seq",
}
SHOWN = 20  # differences listed per table


def differences(
    journal_path: Path,
    entries: Iterable[Entry],
    derive: Callable[[sqlite3.Connection, Entry], None],
) -> list[str]:
    """Replay ``entries`` (the whole journal at ``journal_path``, in order) with ``derive``
    into a fresh database and compare every derived table with the journal's own. Returns one
    line per differing row (at most :data:`SHOWN` per table, then a count)."""
    with tempfile.TemporaryDirectory(prefix="fdi-verify-") as scratch:
        path = Path(scratch) / "replay.sqlite"
        replay = sqlite3.connect(f"file:{path}", uri=True, isolation_level=None)
        try:
            # A scratch copy: nothing to keep if the machine stops, so no syncing to disk.
            replay.execute("PRAGMA synchronous = OFF")
            replay.execute("PRAGMA journal_mode = OFF")
            replay.executescript(
                SCHEMA + assembly.SCHEMA + personal.SCHEMA + personal.ERASURE_SCHEMA
            )
            replay.execute("BEGIN")
            for entry in entries:
                derive(replay, entry)
            replay.execute("COMMIT")
            replay.execute("ATTACH ? AS live", (f"file:{journal_path}?mode=ro",))
            return [line for table in TABLES for line in _compare(replay, table)]
        finally:
            replay.close()


def copy_tables(journal: Any, path: Path) -> None:
    """Copy a journal's derived tables (of :data:`TABLES`) as they stand into a new SQLite
    file at ``path``, for :func:`differences` to compare (a journal in PostgreSQL)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executescript(SCHEMA + assembly.SCHEMA + personal.ERASURE_SCHEMA)
        db.execute("BEGIN")
        for table in TABLES:
            rows = journal.read(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
        db.execute("COMMIT")
    finally:
        db.close()


def _compare(db: sqlite3.Connection, table: str) -> list[str]:
    key = TABLES[table]
    keys = db.execute(
        f"SELECT DISTINCT {key} FROM (SELECT * FROM live.{table} EXCEPT SELECT * FROM main.{table} "  # noqa: S608 - fixed names
        f"UNION ALL SELECT * FROM main.{table} EXCEPT SELECT * FROM live.{table}) ORDER BY {key}"
    ).fetchall()
    where = " AND ".join(f"{k.strip()} IS ?" for k in key.split(","))
    out = []
    for found in keys[:SHOWN]:
        rows = []
        for schema in ("live", "main"):
            cursor = db.execute(f"SELECT * FROM {schema}.{table} WHERE {where}", found)  # noqa: S608
            rows.append((cursor.fetchall(), [c[0] for c in cursor.description]))
        (stored, names), (replayed, _) = rows
        out.append(f"{table} {', '.join(map(str, found))}: " + _contrast(stored, replayed, names))
    if len(keys) > SHOWN:
        out.append(f"{table}: {len(keys) - SHOWN} more rows differ")
    return out


def _contrast(
    stored: list[tuple[Any, ...]], replayed: list[tuple[Any, ...]], names: list[str]
) -> str:
    if not replayed:
        return "the database has a row the journal does not give"
    if not stored:
        return "the database lacks a row the journal gives"
    if len(stored) != 1 or len(replayed) != 1:
        return f"the database has {len(stored)} rows, the journal gives {len(replayed)}"
    changed = [
        f"{n} is {a!r} where the journal gives {b!r}"
        for n, a, b in zip(names, stored[0], replayed[0], strict=True)
        if a != b
    ]
    return "; ".join(changed)
