"""Personal data kept out of the hashed journal text: sealed per data subject.

A journal entry's body is hashed into the chain, so nothing in it can ever be removed without
breaking every later link and every receipt. Personal values (people's names, email addresses,
telephone numbers, addresses and postcodes, an asset owner named in free text: the objects of
:data:`PERSONAL`) therefore never enter it in clear. Each is encrypted (AES-256-GCM) with a key
of its own data subject (the node the value is about: a user, a contact point, an asset, a
right to operate) and written as a *sealed* literal::

    <…/id/org/abc#contact> vcard:fn "<nonce+ciphertext>"^^<https://w3id.org/fdi/sealed#KEY> .

The keys live in the ``subject_key`` table beside the log, outside the hashed text. Reading an
entry opens the sealed values again; erasing a data subject (registry.operations.erasure) deletes
its keys,
after which its sealed values are noise that reads as nothing (the triple is left out), while
the hash chain, checkpoints and receipts still verify, because the hashed text never changed.

>>> import pyoxigraph as ox
>>> sealer = Sealer(Journal(None))
>>> name = ox.Triple(ox.NamedNode("https://r.example/id/user/1"), VCARD.fn, ox.Literal("Ada"))
>>> sealed, new = sealer.seal_triples([name], {})
>>> "Ada" in str(sealed[0]), sealed[0].object.datatype.value.startswith(SEALED)
(False, True)
>>> sealer.open_triples(sealed, 0, new) == [name]
True
"""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.base import rdf
from registry.base.rdf import Term
from registry.base.vocab import FDI, VCARD
from registry.store.journal import Entry, Journal

SEALED = "https://w3id.org/fdi/sealed#"
ERASURE_EVENT = "erasure"
ERASURE_MARK = '"type":"erasure"'  # in an entry's body text: it may hold an erasure

# What the ontology and shapes hold about people: a contact point's or user's name, email,
# telephone and address; an asset's site postcode; an organisation's registered address (a sole
# trader's is their home); the asset owner named in a right to operate (a private person, in
# free text). Literals and mailto:/tel: IRIs under these predicates are sealed; an IRI naming
# a registered record (an asset owner that is an organisation) is not personal data.
PERSONAL = frozenset(
    {
        VCARD.fn,
        VCARD.hasEmail,
        VCARD.hasTelephone,
        VCARD.hasAddress,
        VCARD["street-address"],
        VCARD["postal-code"],
        FDI.postcode,
        FDI.registeredAddress,
        FDI.assetOwner,
    }
)
_PERSONAL_TEXT = tuple(f"<{p.value}>" for p in PERSONAL)
_PERSONAL_VALUES = frozenset(p.value for p in PERSONAL)
_PERSONAL_IRIS = ("mailto:", "tel:")

# The keys are not derived from the log (they are random), so they are not in journal.SCHEMA;
# the erasure register is derived from the log's erasure entries
# (registry.operations.derived_state).
SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_key (
    id      TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    key     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS subject_key_subject ON subject_key (subject);
CREATE INDEX IF NOT EXISTS subject_key_seq ON subject_key (seq);
"""
ERASURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS erasure (
    subject TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    time    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    basis   TEXT NOT NULL,
    keys    INTEGER NOT NULL,
    PRIMARY KEY (subject, seq)
);
"""


@dataclass(frozen=True)
class NewKey:
    id: str
    subject: str
    key: bytes


def is_personal(triple: ox.Triple) -> bool:
    """Whether a triple states a personal value (see :data:`PERSONAL`)."""
    if triple.predicate not in PERSONAL or not isinstance(triple.subject, ox.NamedNode):
        return False
    o = triple.object
    return isinstance(o, ox.Literal) or (
        isinstance(o, ox.NamedNode) and o.value.startswith(_PERSONAL_IRIS)
    )


def covers(subject: str, node: str) -> bool:
    """Whether erasing ``subject`` erases what is said about ``node``: the node itself, and the
    ``#fragment`` nodes of a record IRI (a record's contact point is part of it)."""
    return node == subject or ("#" not in subject and node.startswith(subject + "#"))


class Sealer:
    """Seals personal values for the journal and opens them again; holds the subject keys."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        for statement in (SCHEMA + ERASURE_SCHEMA).split(";"):
            if statement.strip():
                journal.write(statement)
        if not journal.shared:  # SQLite: deleted keys are overwritten, not left in free pages
            journal.write("PRAGMA secure_delete = ON")
        self._lock = threading.Lock()
        self._by_id: dict[str, bytes] = {}
        self._current: dict[str, tuple[str, bytes]] = {}
        self._erased: dict[str, int] = {}  # subject → sequence number of its latest erasure
        for subject, seq in journal.read("SELECT subject, MAX(seq) FROM erasure GROUP BY subject"):
            self._erased[subject] = seq

    # --- writing ---------------------------------------------------------------------------

    def seal_payload(
        self,
        payload: dict[str, Any],
        known: Mapping[tuple[str, str], list[ox.Triple]],
        fresh: AbstractSet[str] = frozenset(),
    ) -> tuple[dict[str, Any], list[NewKey]]:
        """The payload with every personal value in its records and copies sealed, and the keys
        made for subjects seen for the first time (to store with the entry: :meth:`keep`).
        ``fresh``: record IRIs minted for this payload, which no stored key can be for."""
        new: dict[str, NewKey] = {}
        out = dict(payload)
        for part in ("records", "copies"):
            if part in payload:
                out[part] = [self._seal_item(item, known, new, fresh) for item in payload[part]]
        return out, list(new.values())

    def seal_triples(
        self,
        triples: Iterable[ox.Triple],
        new: dict[str, NewKey],
        fresh: AbstractSet[str] = frozenset(),
    ) -> tuple[list[ox.Triple], dict[str, NewKey]]:
        out = []
        for t in triples:
            if is_personal(t):
                key_id, key = self._key_for(rdf.value(t.subject), new, fresh)
                t = ox.Triple(
                    t.subject, t.predicate, _seal(key_id, key, rdf.value(t.subject), t.object)
                )
            out.append(t)
        return out, new

    def keep(self, db: sqlite3.Connection, entry: Entry, keys: list[NewKey]) -> None:
        """Store the new keys in the entry's own transaction (a key lost would lose data)."""
        db.executemany(
            "INSERT INTO subject_key (id, subject, seq, key) VALUES (?, ?, ?, ?)",
            [(k.id, k.subject, entry.seq, k.key) for k in keys],
        )

    def committed(self, keys: list[NewKey], payload: dict[str, Any], seq: int) -> None:
        """After the entry's commit: remember its new keys, forget those it erased."""
        with self._lock:
            for k in keys:
                self._by_id[k.id] = k.key
                self._current[k.subject] = (k.id, k.key)
            for event in erasures(payload):
                subject = event["subject"]
                self._erased[subject] = seq
                for node in [s for s in self._current if covers(subject, s)]:
                    del self._current[node]
                self._by_id.clear()  # cheap to refill, and no erased key stays in memory

    # --- reading ---------------------------------------------------------------------------

    def triples(self, nt: str, seq: int) -> list[ox.Triple]:
        """The triples of an N-Triples text from entry ``seq``, personal values opened; a value
        whose key was erased (or of a subject erased after ``seq``) is left out."""
        parsed = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)
        ]
        if not any(p in nt for p in _PERSONAL_TEXT):
            return parsed
        return self.open_triples(parsed, seq)

    def open_triples(
        self, triples: list[ox.Triple], seq: int, new: dict[str, NewKey] | None = None
    ) -> list[ox.Triple]:
        out = []
        for t in triples:
            if t.predicate in PERSONAL and isinstance(t.subject, ox.NamedNode):
                if self._erased_after(t.subject.value, seq):
                    continue  # written in clear before sealing existed, or erased since
                if isinstance(t.object, ox.Literal) and t.object.datatype.value.startswith(SEALED):
                    opened = self._open(t.subject.value, t.object, new or {})
                    if opened is None:
                        continue
                    t = ox.Triple(t.subject, t.predicate, opened)
            out.append(t)
        return out

    def keys_of(self, subject: str) -> list[str]:
        """The ids of the keys held for ``subject`` (and its fragment nodes)."""
        rows = self.journal.read(_KEYS_OF, _covered(subject))
        return [r[0] for r in rows]

    # --- inside ----------------------------------------------------------------------------

    def _seal_item(
        self,
        item: dict[str, Any],
        known: Mapping[tuple[str, str], list[ox.Triple]],
        new: dict[str, NewKey],
        fresh: AbstractSet[str],
    ) -> dict[str, Any]:
        nt = item.get("nt", "")
        if not any(p in nt for p in _PERSONAL_TEXT):
            return item
        triples = known.get((item["graph"], item["iri"]))
        if triples is None:
            triples = [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)
            ]
        sealed, _ = self.seal_triples(triples, new, fresh)
        text = rdf.serialize(sealed, ox.RdfFormat.N_TRIPLES).decode()
        return {**item, "nt": text}

    def _key_for(
        self, subject: str, new: dict[str, NewKey], fresh: AbstractSet[str]
    ) -> tuple[str, bytes]:
        if subject in new:
            return new[subject].id, new[subject].key
        with self._lock:
            found = self._current.get(subject)
        if found is None and subject.split("#", 1)[0] not in fresh:
            rows = self.journal.read(
                "SELECT id, key FROM subject_key WHERE subject = ? ORDER BY seq DESC LIMIT 1",
                (subject,),
            )
            if rows:
                found = (rows[0][0], bytes(rows[0][1]))
                with self._lock:
                    self._current[subject] = found
        if found is not None:
            return found
        made = NewKey(secrets.token_hex(12), subject, AESGCM.generate_key(bit_length=256))
        new[subject] = made
        return made.id, made.key

    def _open(self, subject: str, sealed: ox.Literal, new: dict[str, NewKey]) -> Term | None:
        key_id = sealed.datatype.value.removeprefix(SEALED)
        key = next((k.key for k in new.values() if k.id == key_id), None) or self._key(key_id)
        if key is None:
            return None
        try:
            blob = base64.urlsafe_b64decode(sealed.value)
            text = AESGCM(key).decrypt(blob[:12], blob[12:], _aad(subject, key_id)).decode()
        except (InvalidTag, ValueError):
            return None
        line = f"<urn:x:s> <urn:x:p> {text} .\n".encode()
        quad: ox.Quad = next(iter(ox.parse(line, format=ox.RdfFormat.N_TRIPLES)))
        return quad.object

    def _key(self, key_id: str) -> bytes | None:
        with self._lock:
            if key_id in self._by_id:
                return self._by_id[key_id]
        rows = self.journal.read("SELECT key FROM subject_key WHERE id = ?", (key_id,))
        if not rows:
            return None
        key = bytes(rows[0][0])
        with self._lock:
            self._by_id[key_id] = key
        return key

    def _erased_after(self, node: str, seq: int) -> bool:
        if not self._erased:
            return False
        record = node.split("#", 1)[0]
        return any(self._erased.get(s, 0) > seq for s in {node, record})


def withhold(finding: dict[str, Any]) -> dict[str, Any]:
    """A validation finding to journal: the value it quotes left out when it is personal (a
    refused record has no data subject to seal it for, and the journal text is never erased).

    >>> withhold({"path": FDI.postcode.value, "value": "ZZ1 1ZZ", "message": "..."})["value"]
    """
    if finding.get("path") in _PERSONAL_VALUES and finding.get("value") is not None:
        return {**finding, "value": None}
    return finding


def erasures(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The erasure events of an entry's payload."""
    return [
        e
        for e in payload.get("events", [])
        if isinstance(e, dict) and e.get("type") == ERASURE_EVENT
    ]


# A subject's keys: its own, and (for a record IRI) its fragment nodes' (``covers``). Written
# with substr of a length computed here, so that SQLite and PostgreSQL read it alike.
_KEYS_OF = "SELECT id FROM subject_key WHERE subject = ? OR substr(subject, 1, ?) = ? ORDER BY seq"
_DELETE_KEYS = "DELETE FROM subject_key WHERE subject = ? OR substr(subject, 1, ?) = ?"


def _covered(subject: str) -> tuple[str, int, str]:
    """The parameters of :data:`_KEYS_OF`: the subject, and the prefix of its fragment nodes
    (for a subject that is a fragment itself, a prefix no subject has)."""
    if "#" in subject:
        return subject, 0, "#never#"
    return subject, len(subject) + 1, subject + "#"


def derive(db: sqlite3.Connection, entry: Entry) -> None:
    """Apply an entry's erasures to the tables beside the log (in the entry's transaction, and
    again when a restore replays it): the subject's keys deleted, the erasure registered."""
    if ERASURE_MARK not in entry.body:
        return
    for event in erasures(entry.payload):
        subject = event["subject"]
        db.execute(_DELETE_KEYS, _covered(subject))
        # (Delete then insert rather than SQLite's INSERT OR REPLACE: the same on PostgreSQL.)
        db.execute("DELETE FROM erasure WHERE subject = ? AND seq = ?", (subject, entry.seq))
        db.execute(
            "INSERT INTO erasure (subject, seq, time, actor, basis, keys) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (subject, entry.seq, entry.time, entry.actor, event["basis"], event["keys"]),
        )


def _seal(key_id: str, key: bytes, subject: str, value: Term) -> ox.Literal:
    nonce = os.urandom(12)
    blob = nonce + AESGCM(key).encrypt(nonce, str(value).encode(), _aad(subject, key_id))
    return ox.Literal(
        base64.urlsafe_b64encode(blob).decode(), datatype=ox.NamedNode(SEALED + key_id)
    )


def _aad(subject: str, key_id: str) -> bytes:
    # The subject is bound into the ciphertext: a sealed value moved onto another node fails.
    return f"{subject}\n{key_id}".encode()
