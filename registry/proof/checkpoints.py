"""Signed checkpoints: the registry's word that its journal's head was (seq, hash) at a time.

Anyone who kept an earlier checkpoint can tell whether the journal they are shown now was cut
short (it has no entry at the checkpoint's sequence number) or rewritten (the entry there has
another hash). Checkpoints are made every ``settings.checkpoint_every`` entries, on demand
(``fdi journal checkpoint``) and with every backup, and published at ``/journal/checkpoints``.
"""

from __future__ import annotations

import json
from typing import Any

from registry.base.clock import now
from registry.base.errors import JournalCorrupt
from registry.proof.keys import KeyRing
from registry.proof.signatures import sign, verify
from registry.store.journal import Journal

# Signed statements about the journal's head.
SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (
    seq  INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

TYP = "fdi-checkpoint+json"


def make(journal: Journal, keys: KeyRing, registry: str) -> dict[str, Any]:
    """Sign a checkpoint of the journal's head now and keep it (one per sequence number)."""
    seq, head = journal.last()
    existing = journal.read("SELECT body FROM checkpoint WHERE seq = ?", (seq,))
    if existing:
        kept: dict[str, Any] = json.loads(existing[0][0])
        return kept
    checkpoint = sign(
        {"registry": registry, "seq": seq, "head": head, "time": now()}, keys.active(), TYP
    )
    journal.write(
        "INSERT OR IGNORE INTO checkpoint (seq, time, body) VALUES (?, ?, ?)",
        (seq, checkpoint["time"], json.dumps(checkpoint)),
    )
    return checkpoint


def registry_of(journal: Journal, default: str) -> str:
    """The registry's IRI as its latest receipt names it (``default`` for an empty journal):
    a command run beside the server signs for the same registry as the server does."""
    rows = journal.read("SELECT body FROM receipt ORDER BY seq DESC LIMIT 1")
    return json.loads(rows[0][0]).get("registry", default) if rows else default


def published(journal: Journal, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """The checkpoints made so far, oldest first."""
    rows = journal.read(
        "SELECT body FROM checkpoint WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
    )
    return [json.loads(body) for (body,) in rows]


def latest(journal: Journal) -> dict[str, Any] | None:
    rows = journal.read("SELECT body FROM checkpoint ORDER BY seq DESC LIMIT 1")
    return json.loads(rows[0][0]) if rows else None


def check(journal: Journal, checkpoint: dict[str, Any], jwks: dict[str, Any]) -> str:
    """Check that ``journal`` still holds what ``checkpoint`` attests; returns a summary.

    Raises BadSignature if the checkpoint is not the registry's, and JournalCorrupt if the
    journal was truncated or rewritten before the checkpoint's sequence number.
    """
    kid = verify(checkpoint, jwks, TYP)
    seq, head = checkpoint["seq"], checkpoint["head"]
    if seq == 0:
        return f"checkpoint at an empty journal, signed by key {kid}"
    entry = journal.entry(seq)
    if entry is None:
        last, _ = journal.last()
        raise JournalCorrupt(
            f"the journal was truncated: it ends at entry {last}, but a checkpoint signed by key "
            f"{kid} at {checkpoint['time']} attests entry {seq}",
            seq=last + 1,
        )
    if entry.hash != head:
        raise JournalCorrupt(
            f"the journal was rewritten: entry {seq} has hash {entry.hash}, but a checkpoint "
            f"signed by key {kid} at {checkpoint['time']} attests {head}",
            seq=seq,
        )
    return f"entry {seq} matches the checkpoint signed by key {kid} at {checkpoint['time']}"
