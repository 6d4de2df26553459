"""Receipts: the registry's signed word that it accepted a write, and what exactly it stored.

A receipt names the journal entry (sequence number and chained hash), the time, the submitter
and, for each record written, the hash of its canonical RDF. Its signature (a detached JWS, see
:mod:`registry.proof.signatures`) verifies offline against the published key set; the record hash
lets the submitter, or anyone, check a copy of the record against it later.

A record's canonical hash is ``sha256`` over its triples (as served at its IRI, in the default
graph) canonicalised with RDFC-1.0 and written as canonical N-Quads, one line per quad, sorted.

>>> asset = ox.NamedNode("http://r.example/id/asset/1")
>>> t = ox.Triple(asset, ox.NamedNode("http://p"), ox.Literal("5"))
>>> canonical_hash([t]) == canonical_hash([t, t])
True
>>> canonical_hash([t])[:7]
'sha256:'
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from registry.base.errors import RecordMismatch
from registry.base.rdf import Term
from registry.proof.keys import KeyRing
from registry.proof.signatures import sign, verify
from registry.store.journal import Entry

# Each entry's signed receipt, written in the entry's transaction.
SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt (
    seq  INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
"""

TYP = "fdi-receipt+json"


def canonical_hash(triples: Iterable[ox.Triple]) -> str:
    """``sha256:`` and the hex digest of the triples' canonical N-Quads (RDFC-1.0)."""
    triples = list(triples)
    if any(
        isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples
    ):
        dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        lines = {f"{q} .\n" for q in dataset}
    else:
        # Without blank nodes RDFC-1.0 has nothing to relabel: the canonical form is the
        # distinct N-Quads lines themselves (registry records never hold blank nodes).
        lines = {f"{t} .\n" for t in triples}
    return "sha256:" + hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def ntriples_hash(nt: str) -> str:
    """The canonical hash of a record given as N-Triples (as the journal stores it)."""
    return canonical_hash(
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)
    )


def record_hashes(
    records: list[dict[str, Any]],
    parsed: dict[tuple[str, str], list[ox.Triple]] | None = None,
) -> list[dict[str, Any]]:
    """The receipt's lines for the records of a transaction (``iri``, ``version``, ``nt``);
    ``parsed`` maps (graph, IRI) to triples already at hand, to save parsing ``nt`` again."""
    lines = []
    for r in records:
        triples = (parsed or {}).get((r["graph"], r["iri"]))
        digest = canonical_hash(triples) if triples is not None else ntriples_hash(r["nt"])
        lines.append({"id": r["iri"], "version": r["version"], "hash": digest})
    return lines


def issue(
    db: sqlite3.Connection,
    entry: Entry,
    records: list[dict[str, Any]],
    keys: KeyRing,
    registry: str,
) -> dict[str, Any]:
    """Sign a receipt for a journal entry and keep it beside the entry (same transaction)."""
    statement = {
        "registry": registry,
        "seq": entry.seq,
        "entryHash": entry.hash,
        "kind": entry.kind,
        "time": entry.time,
        "submitter": entry.actor,
        "records": records,
    }
    receipt = sign(statement, keys.active(), TYP)
    db.execute("INSERT INTO receipt (seq, body) VALUES (?, ?)", (entry.seq, json.dumps(receipt)))
    return receipt


def verify_receipt(
    receipt: dict[str, Any], jwks: dict[str, Any], record: list[ox.Triple] | None = None
) -> list[str]:
    """Check a receipt's signature and, given a record's triples, that the receipt covers that
    content. Returns what was checked, one line each.

    Raises BadSignature if the signature fails, or RecordMismatch if the record's canonical
    hash is not the one the receipt states for it.
    """
    kid = verify(receipt, jwks, TYP)
    checked = [f"signature by key {kid} is valid (entry {receipt.get('seq')})"]
    if record is None:
        return checked
    subjects = {t.subject.value for t in record if isinstance(t.subject, ox.NamedNode)}
    lines = [r for r in receipt.get("records", []) if r.get("id") in subjects]
    if not lines:
        raise RecordMismatch("none of the records in the receipt is the record given")
    for line in lines:
        own = [t for t in record if _belongs(t.subject, line["id"])]
        actual = canonical_hash(own)
        if actual != line["hash"]:
            raise RecordMismatch(
                f"record {line['id']} has canonical hash {actual}; the receipt says {line['hash']}"
            )
        checked.append(f"record {line['id']} matches the receipt ({actual})")
    return checked


def _belongs(subject: Term, iri: str) -> bool:
    # A record is its IRI and its ``#fragment`` nodes (records.assign_iris mints no blank nodes).
    return isinstance(subject, ox.NamedNode) and subject.value.split("#", 1)[0] == iri
