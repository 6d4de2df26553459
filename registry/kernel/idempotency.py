"""Idempotent writes: a retried request with the same ``Idempotency-Key`` gets the first answer.

The key, the principal, a hash of the request and the response (receipt included) are stored
in the journal database in the same transaction as the entry, so a retry after a crash, a
timeout or a lost response finds either nothing (the first attempt never happened: do it) or
the complete answer (return it). Lookups happen under the write lock, so two racing retries
cannot both write. A refused request stores nothing and may be retried freely.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from registry.base.errors import IdempotencyKeyReused, UnusableInput
from registry.store.journal import Journal

# An Idempotency-Key's answer, written in its entry's transaction.
SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    response     TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);
"""

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one request, scoped to the principal that sent it.

    >>> IdempotencyKey.of("anonymous", "k-1", b"body", "text/turtle").request_hash[:7]
    'sha256:'
    """

    principal: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, principal: str, key: str, body: bytes, media_type: str) -> IdempotencyKey:
        """Raises UnusableInput for an empty or over-long key."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise UnusableInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
        digest = hashlib.sha256(media_type.encode() + b"\x00" + body).hexdigest()
        return cls(principal, key, "sha256:" + digest)


def lookup(journal: Journal, key: IdempotencyKey) -> dict[str, Any] | None:
    """The stored response for this key, or None if the key is new.

    Raises IdempotencyKeyReused if the key was used for a different request.
    """
    rows = journal.read(
        "SELECT request_hash, response FROM idempotency WHERE principal = ? AND key = ?",
        (key.principal, key.key),
    )
    if not rows:
        return None
    request_hash, response = rows[0]
    if request_hash != key.request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key.key!r} was used for a different request; use a new key "
            "for a new request"
        )
    answer: dict[str, Any] = json.loads(response)
    return answer


def remember(
    db: sqlite3.Connection, key: IdempotencyKey, seq: int, response: dict[str, Any]
) -> None:
    """Store the response (inside the entry's transaction)."""
    db.execute(
        "INSERT INTO idempotency (principal, key, request_hash, seq, response) "
        "VALUES (?, ?, ?, ?, ?)",
        (key.principal, key.key, key.request_hash, seq, json.dumps(response)),
    )
