"""The register: each record's current row (type, graph, version, status, owner), read by
:func:`select`; and the rows authentication relies on, checked against the journal whenever a
registry opens.

Authentication reads the register (a certificate's status and holder, its organisation's
status, memberships, people), so a register edited to reactivate a revoked certificate stops
the registry from starting instead of letting the certificate in (one SQL pass over the
entries' JSON). The full comparison of every derived table is
:func:`registry.operations.derived_state.differences` (``fdi journal verify``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from registry.base.vocab import FDI
from registry.kernel.transaction import RecordInfo
from registry.store.journal import compressed_by_writer

# The register (each record's current version) and every version of each record. Versions are
# kept in their key's order (WITHOUT ROWID): a rowid table keeps each IRI twice, in the table and
# in its key's index (3.8 MiB against 2.3 at 10,000 assets). The register stays a rowid table:
# its two other indexes would each hold the IRI instead of a rowid, and grow more than it saves.
# Journals made before keep a rowid ``version``, which the same statements read and write.
SCHEMA = """
CREATE TABLE IF NOT EXISTS record (
    iri      TEXT PRIMARY KEY,
    type     TEXT NOT NULL,
    graph    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    status   TEXT,
    owner    TEXT,
    created  TEXT NOT NULL,
    modified TEXT NOT NULL,
    seq      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS record_owner ON record (owner, type);
CREATE TABLE IF NOT EXISTS version (
    iri     TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    time    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    PRIMARY KEY (iri, version)
) WITHOUT ROWID;
"""

# The record types authentication decisions read from the register.
TRUST_TYPES = tuple(
    t.value for t in (FDI.Certificate, FDI.Organisation, FDI.SchemeMembership, FDI.OrganisationUser)
)
# Entries are written with sorted keys and no spaces (journal.py), so this finds the few entries
# holding trust records without parsing every other one (bulk registrations of assets are most
# of a journal): measured 0.25 s over a 74 MB journal, against 1.7 s for SQLite's json_each.
_MENTIONS = re.compile('"type":"(?:' + "|".join(re.escape(t) for t in TRUST_TYPES) + ')"')


def mentions_trust(body: str) -> bool:
    """Whether an entry's body may hold a record authentication relies on. The registry keeps
    such bodies as text in the journal (``Journal.keep_text``), so :func:`trust_differences`
    searches only the text bodies, and of a compressed one inflates only its first bytes (the
    mark that the registry compressed it)."""
    return _MENTIONS.search(body) is not None


def trust_differences(db: sqlite3.Connection) -> list[str]:
    """The register rows authentication relies on that the journal does not vouch for: rows of
    a certificate, organisation, membership or user whose type, status, holder or version is
    not what the journal's latest entry for that record says, or with no entry at all."""
    journaled: dict[str, tuple[Any, ...]] = {}
    refused: list[str] = []
    for seq, body in db.execute("SELECT seq, body FROM entry ORDER BY seq"):
        if not isinstance(body, str):
            # A compressed body holds no trust record (see mentions_trust), which its text says
            # at its start; one that does not say so was compressed by someone else.
            if not compressed_by_writer(body):
                refused.append(f"entry {seq}: compressed by something other than the registry")
            continue
        if not _MENTIONS.search(body):
            continue
        for r in json.loads(body).get("records", []):
            if r.get("type") in TRUST_TYPES:
                journaled[r["iri"]] = (
                    r["iri"],
                    r["type"],
                    r.get("status"),
                    r.get("owner"),
                    r["version"],
                )
    marks = ", ".join("?" * len(TRUST_TYPES))
    registered = {
        row[0]: row
        for row in db.execute(
            f"SELECT iri, type, status, owner, version FROM record WHERE type IN ({marks})",  # noqa: S608 - placeholders only
            TRUST_TYPES,
        )
    }
    return refused + [
        _describe(iri, registered.get(iri), journaled.get(iri))
        for iri in sorted(journaled.keys() | registered.keys())
        if registered.get(iri) != journaled.get(iri)
    ]


def _describe(iri: str, registered: tuple | None, journaled: tuple | None) -> str:  # type: ignore[type-arg]
    def state(row: tuple | None) -> str:  # type: ignore[type-arg]
        if row is None:
            return "nothing"
        return f"status {row[2]!r}, holder {row[3]!r}, version {row[4]}, type {row[1]}"

    return f"{iri}: the register has {state(registered)}; the journal says {state(journaled)}"


# The orders a caller may ask for (fixed text, never the caller's).
ORDERS = {
    "created": "created, iri",
    "modified": "modified, iri",
    "newest": "modified DESC, iri",
    "iri": "iri",
}
_COLUMNS = "iri, type, graph, version, status, owner, created, modified, seq"


def select(
    read: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
    *,
    types: tuple[str, ...] = (),
    owner: str | None = None,
    graph: str | None = None,
    status: str | None = None,
    order: str = "created",
    limit: int | None = None,
) -> list[RecordInfo]:
    """The register's rows of records of ``types`` (any, when empty), held by ``owner``, in
    ``graph``, with ``status`` (each: any, when None), in one of :data:`ORDERS`."""
    sql, params = _query(_COLUMNS, types, owner, graph, status, order, limit)
    return [RecordInfo(*row) for row in read(sql, params)]


def select_iris(
    read: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
    *,
    types: tuple[str, ...] = (),
    owner: str | None = None,
    graph: str | None = None,
    status: str | None = None,
    order: str = "iri",
) -> list[str]:
    """The IRIs alone of the records :func:`select` would give (what the write path reads when
    it only needs to know which records there are: no row objects)."""
    sql, params = _query("iri", types, owner, graph, status, order, None)
    return [row[0] for row in read(sql, params)]


def _query(
    columns: str,
    types: tuple[str, ...],
    owner: str | None,
    graph: str | None,
    status: str | None,
    order: str,
    limit: int | None,
) -> tuple[str, tuple[str | int, ...]]:
    where: list[str] = []
    params: list[str | int] = []
    if types:
        where.append(f"type IN ({', '.join('?' * len(types))})")
        params.extend(types)
    for column, value in (("owner", owner), ("graph", graph), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {columns} FROM record"  # noqa: S608 - fixed names, values as parameters
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {ORDERS[order]}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, tuple(params)
