"""Backup and restore while the registry keeps serving.

Only one process can open the on-disk Oxigraph index (docs/facts.md, fact 3), but the journal is
the system of record and SQLite's online backup API reads it consistently beside a running
writer (WAL mode). So a backup is everything the registry needs to serve but the index:

- the journal, copied as one snapshot (the register of issued and revoked certificates, from
  which the CRL is made, is in it, as are receipts, checkpoints and bulk jobs' progress);
- the signing keys (``keys/``): receipts and checkpoints signed before still verify;
- the certificate authority (``ca/``: its key and certificate), without which every client
  certificate the registry issued, the operator's included, would stop working;
- the inputs of bulk jobs (``jobs/``), so that an unfinished job resumes after a restore;
- a manifest (``backup.json``): head sequence number and hash, the sha256 of every file, the
  settings the registry serves with, and a checkpoint of the head signed by the registry.

The index is rebuilt from the journal on restore. Restoring copies the files into an empty data
directory, checks them against the manifest and the chain, rebuilds the index, and
(``replay_from``) appends the entries the live journal wrote after the backup, verbatim, after
checking that the live journal continues the backup's chain.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.assembly import Registry
from registry.base.clock import now
from registry.base.errors import JournalCorrupt, UnusableInput
from registry.base.settings import Settings
from registry.proof import checkpoints
from registry.proof.keys import KeyRing
from registry.proof.receipts import canonical_hash
from registry.proof.signatures import sign, verify
from registry.store.journal import Entry, Journal

MANIFEST = "backup.json"
JOURNAL = "journal.sqlite"
KEYS = "keys"
# Directories copied beside the journal, after its snapshot (so that every job input and key
# the snapshot refers to is already on disk): signing keys, the CA, the inputs of bulk jobs.
DIRECTORIES = (KEYS, "ca", "jobs")
FORMAT = 2
READABLE = (1, 2)  # format 1 (journal and keys only) is still restored
# Settings a restored registry must serve with to be the same registry (the rest are tuning).
SETTINGS = (
    "base_iri",
    "data_licence",
    "federation_peers",
    "certificate_days",
    "checkpoint_every",
    "operator_name",
    "operator_company_number",
    "operator_email",
)
# Rows kept beside an entry (keyed by its sequence number) that a replay copies with it: the
# keys of the personal values it sealed among them (registry.store.personal).
_SIDE_TABLES = ("receipt", "idempotency", "checkpoint", "subject_key")


@dataclass(frozen=True)
class Restored:
    seq: int  # the backup's head
    replayed: int  # entries appended from the live journal
    head: tuple[int, str]  # the restored journal's head
    settings: dict[str, Any]  # the settings the backed-up registry served with


def backup(
    data_dir: Path, target: Path, registry: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Copy the journal in ``data_dir`` (in use or not), its keys, CA and job inputs into
    ``target``; ``settings`` (those the registry serves with) are recorded in the manifest.

    Returns the manifest. Raises UnusableInput if there is no journal or ``target`` is not
    empty, and JournalCorrupt if the copy's hash chain is broken.
    """
    source = data_dir / JOURNAL
    if not source.is_file():
        raise UnusableInput(f"no journal at {source}")
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise UnusableInput(f"{target} is not empty; back up into a new directory")
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target / JOURNAL)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot, writers go on (WAL)
    finally:
        dst.close()
        src.close()
    copy = Journal(target / JOURNAL)
    try:
        entries = copy.verify()
        seq, head = copy.head()
    finally:
        copy.close()
    keys = KeyRing(data_dir / KEYS)
    statement = {"registry": registry, "seq": seq, "head": head, "time": now()}
    checkpoint = sign(statement, keys.active(), checkpoints.TYP)
    for name in DIRECTORIES:
        if (data_dir / name).is_dir():
            shutil.copytree(data_dir / name, target / name, ignore=_temporary)
    manifest = {
        "format": FORMAT,
        "created": statement["time"],
        "source": str(data_dir),
        "seq": seq,
        "head": head,
        "entries": entries,
        "journalSha256": _sha256(target / JOURNAL),
        "files": _file_hashes(target),
        "settings": _served_settings(settings, registry),
        "checkpoint": checkpoint,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(source: Path, settings: Settings, replay_from: Path | None = None) -> Restored:
    """Restore the backup in ``source`` into ``settings.data_dir`` (which must hold no journal
    or index yet), rebuild the index, and optionally replay a live journal past the backup.

    Raises UnusableInput for a missing or unreadable backup, and JournalCorrupt if the backup
    does not match its manifest or the live journal does not continue its chain.
    """
    manifest = read_manifest(source)
    data_dir = settings.data_dir
    if data_dir is None:
        raise UnusableInput("restore needs a data directory")
    if (data_dir / JOURNAL).exists() or (data_dir / "index").exists():
        raise UnusableInput(f"{data_dir} already holds a registry; restore into a new directory")
    if _sha256(source / JOURNAL) != manifest["journalSha256"]:
        raise JournalCorrupt(f"{source / JOURNAL} is not the file the manifest describes", seq=0)
    _check_files(source, manifest)
    if (source / KEYS).is_dir():
        jwks = KeyRing(source / KEYS).jwks()
        verify(manifest["checkpoint"], jwks, checkpoints.TYP)
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / JOURNAL, data_dir / JOURNAL)
    for name in DIRECTORIES:
        if (source / name).is_dir():
            shutil.copytree(source / name, data_dir / name, dirs_exist_ok=True)
    registry = Registry(settings)
    try:
        registry.journal.verify()
        if registry.journal.last() != (manifest["seq"], manifest["head"]):
            raise JournalCorrupt(
                "the restored journal's head is not the manifest's", seq=manifest["seq"]
            )
        replayed = 0
        if replay_from is not None:
            replayed = _replay(registry, replay_from, manifest["seq"], manifest["head"])
        served = manifest.get("settings", {})
        return Restored(manifest["seq"], replayed, registry.journal.last(), served)
    finally:
        registry.close()


def replay(settings: Settings, newer: Path) -> int:
    """Append to the registry in ``settings.data_dir`` (not in use) the entries that a newer
    copy of its journal (the live one, at cut-over) holds beyond its head; returns how many.

    Raises JournalCorrupt if ``newer`` does not continue this registry's chain.
    """
    registry = Registry(settings)
    try:
        seq, head = registry.journal.last()
        return _replay(registry, newer, seq, head)
    finally:
        registry.close()


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest. Raises UnusableInput if it is missing or unreadable."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise UnusableInput(f"{source} is not a registry backup: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE:
        raise UnusableInput(f"{source / MANIFEST} is not a format {FORMAT} backup manifest")
    if not (source / JOURNAL).is_file():
        raise UnusableInput(f"{source} holds no {JOURNAL}")
    return manifest


def record_hashes(registry: Registry) -> dict[str, str]:
    """Every record's canonical hash, as the registry's index holds it (for comparisons)."""
    rows = [(r.iri, r.graph) for r in registry.records(order="iri")]
    return {
        iri: canonical_hash(
            ox.Triple(q.subject, q.predicate, q.object)
            for q in registry.index.record_quads(ox.NamedNode(graph), ox.NamedNode(iri))
        )
        for iri, graph in rows
    }


def _replay(registry: Registry, live_path: Path, seq: int, head: str) -> int:
    if not live_path.is_file():
        raise UnusableInput(f"no journal at {live_path}")
    live = sqlite3.connect(f"file:{live_path}?mode=ro", uri=True, timeout=60)
    try:
        row = live.execute("SELECT hash FROM entry WHERE seq = ?", (seq,)).fetchone()
        if seq and (row is None or row[0] != head):
            raise JournalCorrupt(
                f"{live_path} does not continue from the backup: its entry {seq} is "
                f"{row[0] if row else 'missing'}, the backup's head is {head}",
                seq=seq,
            )

        def side_rows(db: sqlite3.Connection, entry: Entry) -> None:
            for table in _SIDE_TABLES:
                for values in live.execute(f"SELECT * FROM {table} WHERE seq = ?", (entry.seq,)):
                    marks = ", ".join("?" * len(values))
                    db.execute(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", values)

        try:
            return registry.adopt(_entries(live, seq), also=side_rows)
        except JournalCorrupt as e:
            kept = registry.journal.last()[0]
            raise JournalCorrupt(
                f"{e.detail}; entries up to {kept} were replayed, none after", **e.extra
            ) from e
    finally:
        live.close()


def _entries(db: sqlite3.Connection, after: int, batch: int = 500) -> Iterator[Entry]:
    sql = (
        "SELECT seq, time, actor, kind, body, prev, hash FROM entry "
        "WHERE seq > ? ORDER BY seq LIMIT ?"
    )
    while rows := db.execute(sql, (after, batch)).fetchall():
        for row in rows:
            yield Entry.from_row(row)
        after = rows[-1][0]


def _temporary(directory: str, names: list[str]) -> list[str]:
    # A half-written file (the CA and jobs write ``*.tmp`` and rename it) is not yet state.
    return [n for n in names if n.endswith(".tmp")]


def _file_hashes(target: Path) -> dict[str, str]:
    """The sha256 of every file the backup holds but the manifest, by relative path."""
    return {
        path.relative_to(target).as_posix(): _sha256(path)
        for path in sorted(target.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _check_files(source: Path, manifest: dict[str, Any]) -> None:
    """Raise JournalCorrupt if a file the manifest lists is missing, changed, or added."""
    if "files" not in manifest:  # format 1: only the journal's hash was kept
        return
    found = _file_hashes(source)
    for name in sorted(set(found) | set(manifest["files"])):
        if found.get(name) != manifest["files"].get(name):
            what = "missing" if name not in found else "added"
            what = "changed" if name in found and name in manifest["files"] else what
            raise JournalCorrupt(f"{source / name} is {what} since the backup was made", seq=0)


def _served_settings(settings: Settings | None, registry: str) -> dict[str, Any]:
    values = {name: getattr(settings, name) for name in SETTINGS} if settings else {}
    return {**values, "base_iri": registry}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
