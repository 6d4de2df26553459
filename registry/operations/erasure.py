"""Erasure of personal data (UK GDPR art. 17), on the scheme operator's decision.

A data subject is a node the registry holds personal values about (registry.store.personal): a user
(``…/id/user/{uid}``), a contact point (``…/id/org/{uid}#contact``), an asset (its site
postcode), a right to operate (its asset owner named in free text). A record IRI stands for the
record and its ``#fragment`` nodes. Erasing one, in one journal entry:

- destroys the subject's keys (``subject_key`` rows, overwritten on disk by SQLite's
  ``secure_delete``), so every sealed value of it in every earlier entry, and in every backup
  made from now on, is noise: old versions and a rebuilt index read without those triples;
- writes a new version of the record holding the values, without them (the index, the served
  record, the directory listings and shared copies follow it, as after any change);
- records the erasure itself: who (the entry's actor), when, which subject, the legal basis and
  how many keys were destroyed, never the values. The ``erasure`` table is the register of
  erasures, derived from those entries, so a restore that replays the live journal re-applies
  every erasure made after the backup.

The hash chain, checkpoints and receipts still verify: the hashed text never held the values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import NotFound, UnusableInput
from registry.base.identity import Principal
from registry.kernel.authorisation import authorise
from registry.kernel.lifecycle import content
from registry.store.personal import ERASURE_EVENT, covers, is_personal

if TYPE_CHECKING:
    from registry.kernel.core import Registry

_REGISTER = (
    "SELECT subject, seq, time, actor, basis, keys FROM erasure ORDER BY seq, subject LIMIT ?"
)


def erase(registry: Registry, principal: Principal, subject: str, basis: str) -> dict[str, Any]:
    """Erase the personal data the registry holds about ``subject`` (see the module).

    Raises Unauthenticated or Forbidden (only the scheme operator decides an erasure),
    UnusableInput (no legal basis given), NotFound (the registry holds no personal data about
    ``subject``, or erased it already)."""
    authorise(principal, "personal-data.erase", ())
    basis = basis.strip()
    if not basis:
        raise UnusableInput("give the legal basis of the erasure (e.g. UK GDPR art. 17(1)(a))")
    record = subject.split("#", 1)[0]
    with registry.transaction(principal.actor, "erasure") as tx:
        keys = registry.sealer.keys_of(subject)
        info = registry.info(record)
        redacted = []
        if info is not None:
            stored = content(registry, record)
            kept = [
                t for t in stored if not (is_personal(t) and covers(subject, rdf.value(t.subject)))
            ]
            if len(kept) != len(stored):
                tx.put(
                    ox.NamedNode(record),
                    ox.NamedNode(info.type),
                    kept,
                    graph=ox.NamedNode(info.graph),
                )
                redacted.append(record)
        if not keys and not redacted:
            raise NotFound(f"the registry holds no personal data about {subject}")
        tx.event(
            {
                "type": ERASURE_EVENT,
                "subject": subject,
                "basis": basis,
                "keys": len(keys),
                "records": redacted,
            }
        )
    assert tx.entry is not None
    _compact(registry)
    return {
        "subject": subject,
        "basis": basis,
        "seq": tx.entry.seq,
        "time": tx.entry.time,
        "actor": tx.entry.actor,
        "keysDestroyed": len(keys),
        "recordsRedacted": redacted,
        "receipt": tx.receipt,
    }


def register(registry: Registry, principal: Principal, limit: int = 1000) -> list[dict[str, Any]]:
    """The erasures made, oldest first (the scheme operator's). Raises Forbidden."""
    authorise(principal, "personal-data.erase", ())
    return [
        {"subject": s, "seq": seq, "time": t, "actor": a, "basis": b, "keysDestroyed": k}
        for s, seq, t, a, b, k in registry.journal.read(_REGISTER, (limit,))
    ]


def _compact(registry: Registry) -> None:
    # The pages that held the deleted keys (overwritten: secure_delete) leave the write-ahead
    # log for the database file now, rather than at the next automatic checkpoint. (The index's
    # files keep the values in Oxigraph's string dictionary until it is rebuilt: docs/erasure.md.)
    if not registry.journal.shared:  # SQLite (on PostgreSQL: docs/erasure.md)
        registry.journal.write("PRAGMA wal_checkpoint(TRUNCATE)")
