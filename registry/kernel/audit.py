"""The audit trail: who read restricted data, who was refused, when, in which request.

An audit event is journaled like any change (``Registry.audit``), so it is as tamper-evident as
the records; the ``audit`` table derived from the journal answers "what happened to my data"
for an organisation: events it caused, and events about records it owns.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from registry.base.identity import Principal
from registry.store.journal import Entry, Journal

# The audit trail, derived from the entries' audit events.
SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    time         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    organisation TEXT,
    action       TEXT NOT NULL,
    target       TEXT,
    owner        TEXT,
    request_id   TEXT
);
CREATE INDEX IF NOT EXISTS audit_organisation ON audit (organisation, id);
CREATE INDEX IF NOT EXISTS audit_owner ON audit (owner, id);
"""

EVENT_TYPE = "audit"


def event(
    principal: Principal, action: str, target: str | None, owner: str | None, request_id: str | None
) -> dict[str, Any]:
    """The event journaled for one audited action (``action`` is e.g. ``read`` or ``refused``)."""
    return {
        "type": EVENT_TYPE,
        "action": action,
        "organisation": principal.organisation,
        "user": principal.user,
        "target": target,
        "owner": owner,
        "requestId": request_id,
    }


def derive(db: sqlite3.Connection, entry: Entry) -> None:
    """Add the entry's audit events to the ``audit`` table (same transaction as the entry)."""
    for e in entry.payload.get("events", []):
        if not isinstance(e, dict) or e.get("type") != EVENT_TYPE:
            continue
        db.execute(
            "INSERT INTO audit (seq, time, actor, organisation, action, target, owner, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.seq,
                entry.time,
                entry.actor,
                e.get("organisation"),
                e["action"],
                e.get("target"),
                e.get("owner"),
                e.get("requestId"),
            ),
        )


def trail(
    journal: Journal, organisation: str, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """An organisation's audit trail, oldest first: what it did, and what was done to its
    records. ``after`` is the last ``id`` already seen (for paging)."""
    rows = journal.read(
        "SELECT id, seq, time, actor, organisation, action, target, owner, request_id FROM audit "
        "WHERE id > ? AND (organisation = ? OR owner = ?) ORDER BY id LIMIT ?",
        (after, organisation, organisation, limit),
    )
    keys = ("id", "seq", "time", "actor", "organisation", "action", "target", "owner", "requestId")
    return [dict(zip(keys, row, strict=True)) for row in rows]
