"""The journal: the registry's system of record.

Append-only, fsync'd (SQLite in WAL mode with ``synchronous=FULL``), hash-chained. Each entry
is one accepted change; the index is only a derived view and can be rebuilt from the journal.
An entry's hash is ``sha256(previous hash || body)`` over the body's exact text, so altering or
removing any earlier entry breaks every later link. A long body (a bulk chunk: thousands of
records' N-Triples) is stored zlib-compressed; the hash, receipts and signatures are over its
text, as for a short one, and journals written before bodies were compressed read unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from registry.base.errors import JournalCorrupt

GENESIS = "0" * 64

# Bodies of this many characters or more are stored zlib-compressed (a BLOB), shorter ones as
# text. The bytes are in bulk chunks (5.4 MB of JSON per 2,000 assets, 12x smaller compressed,
# in 40 ms); an entry of one record, or of a few dozen, stays text that SQL (and the sqlite3
# shell) reads as it is, for the little it would save.
COMPRESS_FROM = 65536
COMPRESSION_LEVEL = 6
# A body stored compressed says so at the start of its (hashed) text, so a reader can tell
# from its first bytes that the writer chose to compress it: a body holding records
# authentication relies on is never compressed, and one re-stored compressed by someone else
# (to hide it from the start-up check) is refused, not skipped.
MARK = '{"_stored":"zlib",'
MARKED = MARK.encode()
# No stored body expands to more than this (a damaged or crafted one is refused, not read).
MAX_BODY = 1 << 30

# ``entry`` is the log itself. Every other table in the journal's database is its owner's:
# views of the log written in the same transaction as the entry they derive from (the register,
# versions, notifications, the audit trail, capacity, ...), or rows that carry an entry's hash
# (receipts, idempotent answers, checkpoints). Each owner declares its tables (``SCHEMA`` in
# registry.kernel.register, audit, idempotency, registry.proof.receipts, checkpoints, and each
# feature's) and the registry creates them when it opens (``Journal.ensure_tables``). An entry's
# ``body`` holds its JSON text, or that text compressed (a BLOB, SQLite's columns taking any
# type): read it with :func:`body_text`, in SQL with ``entry_body(body)``.
SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    seq   INTEGER PRIMARY KEY,
    time  TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind  TEXT NOT NULL,
    body  TEXT NOT NULL,
    prev  TEXT NOT NULL,
    hash  TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    """One journal entry. ``body`` is JSON text; ``payload`` is its parsed form."""

    seq: int
    time: str
    actor: str
    kind: str
    body: str
    prev: str
    hash: str

    @cached_property
    def payload(self) -> Any:
        """Parsed once: every derived table of an entry reads it (treat it as read-only)."""
        payload = json.loads(self.body)
        if self.body.startswith(MARK):
            del payload["_stored"]
        return payload

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Entry:
        """An entry from its stored row (``seq, time, actor, kind, body, prev, hash``), its body
        decompressed when it was stored compressed.

        Raises JournalCorrupt (naming the entry) when a compressed body does not decompress.
        """
        seq, time, actor, kind, body, prev, digest = row
        try:
            text = body_text(body)
        except JournalCorrupt as e:
            raise JournalCorrupt(f"entry {seq}: {e.detail}", seq=seq) from e
        return cls(seq, time, actor, kind, text, prev, digest)


def marked(body: str) -> str:
    """An entry's JSON text marked to be stored compressed (:data:`MARK`)."""
    return body if body.startswith(MARK) else MARK + body[1:]


def stored_body(body: str) -> str | bytes:
    """What the ``body`` column holds for an entry's JSON text: its UTF-8 bytes
    zlib-compressed when the text is marked so (:func:`marked`), else the text itself.

    >>> stored_body('{"n":1}')
    '{"n":1}'
    >>> body_text(stored_body(marked('{"n":1}')))
    '{"_stored":"zlib","n":1}'
    """
    if not body.startswith(MARK):
        return body
    return zlib.compress(body.encode("utf-8"), COMPRESSION_LEVEL)


def body_text(stored: str | bytes) -> str:
    """An entry's JSON text from its ``body`` column (text, or compressed bytes).

    Raises JournalCorrupt when compressed bytes do not decompress to one whole stream of at
    most :data:`MAX_BODY` bytes, nothing after it, whose text says it was stored compressed.
    """
    if isinstance(stored, str):
        return stored
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(stored, MAX_BODY)
        text = data.decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as e:
        raise JournalCorrupt(f"an entry's compressed body does not decompress: {e}") from e
    if inflate.unconsumed_tail or not inflate.eof or inflate.unused_data:
        raise JournalCorrupt("an entry's compressed body is cut short, too long or has a tail")
    if not text.startswith(MARK):
        raise JournalCorrupt("an entry's body is stored compressed but its text does not say so")
    return text


def compressed_by_writer(stored: bytes) -> bool:
    """Whether compressed bytes start with the text the writer marks them with, reading only
    those first bytes (the start-up check reads every body)."""
    try:
        return zlib.decompressobj().decompress(stored, len(MARKED)) == MARKED
    except zlib.error:
        return False


def entry_hash(prev: str, seq: int, time: str, actor: str, kind: str, body: str) -> str:
    """The chained hash of an entry."""
    h = hashlib.sha256()
    for part in (prev, str(seq), time, actor, kind, body):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


class Journal:
    """An append-only, hash-chained log in SQLite (a file, or ``:memory:``).

    >>> j = Journal(None)
    >>> j.append("2026-01-01T00:00:00Z", "test", "put", {"records": []}).seq
    1
    >>> j.verify()
    1
    """

    # Whether other processes may append to this journal too (PostgreSQL,
    # registry.store.journal_pg):
    # a registry then follows it and takes the journal's lock for each write transaction.
    shared = False

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = str(path) if path else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        # Bodies this holds true of stay text whatever their length: set by the registry for
        # the entries its start-up check reads (registry.kernel.register.trust_differences).
        self.keep_text: Callable[[str], bool] | None = None
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # For SQL that reads bodies (``json_each(entry_body(body), ...)``): text either way.
        self._db.create_function("entry_body", 1, body_text, deterministic=True)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database once no statement is running: a background writer (an impact
        report, a bulk job) still appending when its registry closes finishes first, and any
        later append fails with ``sqlite3.ProgrammingError`` instead of using a freed handle."""
        with self._lock:
            self._db.close()

    def _text(self, body: str) -> str:
        """An entry's text as it is journaled: marked to be stored compressed when it is long
        (a bulk chunk) and holds nothing ``keep_text`` keeps as text."""
        if len(body) < COMPRESS_FROM or (self.keep_text is not None and self.keep_text(body)):
            return body
        return marked(body)

    def _stored(self, body: str) -> str | bytes:
        """The ``body`` column's value for an entry's text (:func:`stored_body`)."""
        return stored_body(body)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the journal's write lock across processes (a no-op here: one process owns a
        SQLite journal, and its registry's write lock serialises its writers)."""
        yield

    def wait(self, timeout: float) -> bool:
        """Return True when another process may have appended (never, here: nothing to
        follow), or after ``timeout`` seconds."""
        return True

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction on ``self._db``: committed on a clean exit, else rolled back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def head(self) -> tuple[int, str]:
        """The last sequence number and hash (0 and the genesis hash when empty)."""
        row = self._db.execute("SELECT seq, hash FROM entry ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def last(self) -> tuple[int, str]:
        """``head()`` for callers outside a write."""
        with self._lock:
            return self.head()

    def append(
        self,
        time: str,
        actor: str,
        kind: str,
        payload: Any,
        derive: Callable[[sqlite3.Connection, Entry], None] | None = None,
    ) -> Entry:
        """Append one entry and make it durable before returning.

        ``derive`` updates the derived tables in the same transaction, so they never disagree
        with the log.
        """
        body = self._text(
            json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        )
        stored = self._stored(body)  # (compressed before the write lock is taken)
        with self._writing():
            seq, prev = self.head()
            seq += 1
            digest = entry_hash(prev, seq, time, actor, kind, body)
            self._db.execute(
                "INSERT INTO entry (seq, time, actor, kind, body, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, time, actor, kind, stored, prev, digest),
            )
            entry = Entry(seq, time, actor, kind, body, prev, digest)
            if derive is not None:
                derive(self._db, entry)
        return entry

    def copy_in(
        self, entry: Entry, derive: Callable[[sqlite3.Connection, Entry], None] | None = None
    ) -> None:
        """Append an entry taken verbatim from another copy of this journal (restore, replay).

        Raises JournalCorrupt if it does not continue this journal's chain or its hash is wrong.
        """
        stored = self._stored(entry.body)
        with self._writing():
            seq, prev = self.head()
            expected = entry_hash(prev, entry.seq, entry.time, entry.actor, entry.kind, entry.body)
            if entry.seq != seq + 1 or entry.prev != prev or entry.hash != expected:
                raise JournalCorrupt(
                    f"entry {entry.seq} does not continue this journal (head {seq})",
                    seq=entry.seq,
                )
            self._db.execute(
                "INSERT INTO entry (seq, time, actor, kind, body, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.seq,
                    entry.time,
                    entry.actor,
                    entry.kind,
                    stored,
                    entry.prev,
                    entry.hash,
                ),
            )
            if derive is not None:
                derive(self._db, entry)

    def ensure_tables(self, script: str) -> None:
        """Create the tables (and indexes) of ``script`` that do not exist yet: each owner's
        tables beside the log, created when a registry opens."""
        with self._lock:
            self._db.executescript(script)

    @property
    def database(self) -> Any:
        """The connection to the journal's database, for what a registry does once when it
        opens, before it serves: rebuild a feature's tables, check the register. Every other
        write to a derived table goes through :meth:`append` or :meth:`copy_in`."""
        return self._db

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement on a side table (never ``entry``) in its own transaction."""
        with self._lock:
            self._db.execute(sql, params)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query on the derived tables."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def entry(self, seq: int) -> Entry | None:
        rows = self.read(
            "SELECT seq, time, actor, kind, body, prev, hash FROM entry WHERE seq = ?", (seq,)
        )
        return Entry.from_row(rows[0]) if rows else None

    def entries(self, after: int = 0) -> Iterator[Entry]:
        """Entries with sequence numbers above ``after``, in order.

        A file-backed journal is read through its own connection, so a long replay or
        verification never holds up writers.
        """
        sql = (
            "SELECT seq, time, actor, kind, body, prev, hash FROM entry WHERE seq > ? ORDER BY seq"
        )
        if self.path is None:
            for row in self.read(sql, (after,)):
                yield Entry.from_row(row)
            return
        db = sqlite3.connect(str(self.path))
        try:
            for row in db.execute(sql, (after,)):
                yield Entry.from_row(row)
        finally:
            db.close()

    def verify(self) -> int:
        """Walk the hash chain; return the number of entries.

        Raises JournalCorrupt naming the first entry whose link is broken.
        """
        prev, expected_seq = GENESIS, 1
        count = 0
        for e in self.entries():
            if e.seq != expected_seq:
                raise JournalCorrupt(f"entry {expected_seq} is missing", seq=expected_seq)
            if e.prev != prev or entry_hash(prev, e.seq, e.time, e.actor, e.kind, e.body) != e.hash:
                raise JournalCorrupt(f"entry {e.seq} does not match its hash chain", seq=e.seq)
            prev, expected_seq, count = e.hash, e.seq + 1, count + 1
        return count
