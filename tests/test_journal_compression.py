"""Long journal bodies are stored compressed; the chain, replay and old journals are unchanged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from registry.assembly import Registry
from registry.base.errors import DerivedStateTampered, JournalCorrupt
from registry.base.settings import Settings
from registry.kernel.register import SCHEMA as KERNEL_SCHEMA
from registry.operations.backup import record_hashes
from registry.operations.demo import generate, local_iri
from registry.operations.demo_files import resolve_references
from registry.rules.rules import validated_by
from registry.store import journal as journal_module
from registry.store.journal import (
    COMPRESS_FROM,
    GENESIS,
    Journal,
    body_text,
    entry_hash,
    marked,
)
from registry.store.journal_pg import schema
from registry.submissions.csvformat import asset_triples
from registry.submissions.formats import Parsed
from tests.conftest import BASE

LONG = {"records": [{"iri": f"{BASE}id/asset/{n}", "nt": "x" * 1000} for n in range(100)]}


def stored(path: Path, seq: int) -> tuple[str, object]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT typeof(body), body FROM entry WHERE seq = ?", (seq,)).fetchone()
    finally:
        db.close()


def three_long_entries(tmp_path: Path) -> Path:
    """A journal of three entries long enough to be stored compressed."""
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    for n in range(3):
        journal.append(f"t{n}", "alice", "register", {**LONG, "n": n})
    journal.close()
    return path


def rewrite(path: Path, seq: int, body: str | bytes) -> None:
    """Store ``body`` as entry ``seq``'s, as someone with the database file would."""
    db = sqlite3.connect(path)
    db.execute("UPDATE entry SET body = ? WHERE seq = ?", (body, seq))
    db.commit()
    db.close()


def test_a_long_body_is_stored_compressed_and_read_back_as_its_text(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    entry = journal.append("t1", "alice", "register", LONG)
    journal.close()
    kind, raw = stored(tmp_path / "j.sqlite", 1)
    assert kind == "blob"
    assert isinstance(raw, bytes) and len(raw) < len(entry.body.encode()) / 5
    assert zlib.decompress(raw).decode() == entry.body
    again = Journal(tmp_path / "j.sqlite")
    assert again.entry(1) == entry
    assert [e.payload for e in again.entries()] == [LONG]
    assert again.verify() == 1


def test_a_short_body_stays_text(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.append("t1", "alice", "register", {"n": 1})
    journal.close()
    assert stored(tmp_path / "j.sqlite", 1) == ("text", '{"n":1}')


def test_the_hash_is_over_the_text_not_the_stored_bytes(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    entry = journal.append("t1", "alice", "register", LONG)
    text = marked(json.dumps(LONG, separators=(",", ":"), sort_keys=True, ensure_ascii=False))
    assert entry.body == text
    assert entry.hash == entry_hash(GENESIS, 1, "t1", "alice", "register", text)


def test_a_journal_written_before_compression_reads_verifies_and_continues(tmp_path):
    # The layout every journal had before: the body's text in the column, however long.
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    db = sqlite3.connect(path)
    prev = GENESIS
    for seq in (1, 2):
        body = json.dumps({**LONG, "n": seq}, separators=(",", ":"), sort_keys=True)
        digest = entry_hash(prev, seq, "t", "old", "register", body)
        db.execute(
            "INSERT INTO entry (seq, time, actor, kind, body, prev, hash) VALUES (?,?,?,?,?,?,?)",
            (seq, "t", "old", "register", body, prev, digest),
        )
        prev = digest
    db.commit()
    db.close()
    journal = Journal(path)
    assert [e.payload["n"] for e in journal.entries()] == [1, 2]
    assert journal.append("t", "new", "register", {**LONG, "n": 3}).prev == prev
    assert journal.verify() == 3
    journal.close()
    assert [stored(path, seq)[0] for seq in (1, 2, 3)] == ["text", "text", "blob"]


def test_a_damaged_compressed_body_is_named_by_verify(tmp_path):
    path = three_long_entries(tmp_path)
    raw = stored(path, 2)[1]
    assert isinstance(raw, bytes)
    rewrite(path, 2, raw[:-8] + b"\x00" * 8)
    with pytest.raises(JournalCorrupt) as caught:
        Journal(path).verify()
    assert caught.value.extra["seq"] == 2


def test_a_compressed_body_altered_and_recompressed_is_named_by_verify(tmp_path):
    path = three_long_entries(tmp_path)
    raw = stored(path, 2)[1]
    assert isinstance(raw, bytes)
    rewrite(path, 2, zlib.compress(zlib.decompress(raw).replace(b"/asset/7", b"/asset/X")))
    with pytest.raises(JournalCorrupt) as caught:
        Journal(path).verify()
    assert caught.value.extra["seq"] == 2


def test_a_compressed_entry_copied_into_another_journal_continues_its_chain(tmp_path):
    source = Journal(tmp_path / "a.sqlite")
    entries = [source.append(f"t{n}", "alice", "register", {**LONG, "n": n}) for n in range(2)]
    copy = Journal(tmp_path / "b.sqlite")
    for entry in entries:
        copy.copy_in(entry)
    assert list(copy.entries()) == entries
    assert copy.verify() == 2


def test_sql_reads_a_compressed_body_through_entry_body(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.append("t1", "alice", "register", LONG)
    rows = journal.read(
        "SELECT json_extract(r.value, '$.iri') FROM entry, "
        "json_each(entry_body(entry.body), '$.records') AS r WHERE entry.seq = 1"
    )
    assert [r[0] for r in rows] == [r["iri"] for r in LONG["records"]]


def demo_registry(data_dir: Path, assets: int = 30) -> tuple[Registry, dict[str, str]]:
    """Organisations, then assets, then rights, each one validated registration (entry)."""
    registry = Registry(Settings(data_dir=data_dir, base_iri=BASE))
    demo = generate(assets)
    minted: dict[str, str] = {}
    for triples in (
        [t for o in demo.organisations for t in o.triples()],
        [t for row in demo.asset_rows for t in asset_triples(local_iri(row["id"]), row)],
    ):
        minted.update(registry.register(Parsed("test", "turtle", triples), actor="test").ids)
    rights = resolve_references([t for r in demo.rights() for t in r.triples()], minted)
    registry.register(Parsed("test", "turtle", rights), actor="test")
    return registry, minted


def test_a_registry_compresses_bulk_entries_but_keeps_trust_records_as_text(tmp_path):
    registry, minted = demo_registry(tmp_path / "data")
    kinds = registry.journal.read("SELECT seq, typeof(body), length(CAST(body AS BLOB)) FROM entry")
    registry.close()
    organisations, assets = kinds[0], kinds[1]
    assert organisations[1] == "text" and organisations[2] >= COMPRESS_FROM  # trust records
    assert assets[1] == "blob"
    # It opens again: its start-up check finds every organisation in the journal's text.
    again = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    asset = minted[next(iter(k for k in minted if "asset" in minted[k]))]
    assert validated_by(again, asset) == "0.1.0"  # read from the compressed entry by SQL
    again.close()


def test_an_index_rebuilt_from_a_compressed_journal_holds_the_same_records(tmp_path):
    registry, _ = demo_registry(tmp_path / "data")
    before = record_hashes(registry)
    registry.close()
    shutil.rmtree(tmp_path / "data" / "index")
    again = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    assert record_hashes(again) == before and before
    again.close()
    result = CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output


# ``version`` as every journal had it before it was kept WITHOUT ROWID.
OLD_VERSION_TABLE = """CREATE TABLE version (
    iri TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL,
    actor TEXT NOT NULL, PRIMARY KEY (iri, version))"""


def test_a_data_directory_written_before_compression_opens_and_replays(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "journal.sqlite").executescript(OLD_VERSION_TABLE).close()
    with monkeypatch.context() as old_layout:  # every body stored as text, as before
        old_layout.setattr(journal_module, "COMPRESS_FROM", 2**62)
        registry, _ = demo_registry(tmp_path / "data")
        before = record_hashes(registry)
        registry.close()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite")
    assert [t for (t,) in db.execute("SELECT DISTINCT typeof(body) FROM entry")] == ["text"]
    assert db.execute("SELECT COUNT(*) FROM version WHERE rowid > 0").fetchone()[0] > 0
    db.close()
    shutil.rmtree(tmp_path / "data" / "index")
    again = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    assert record_hashes(again) == before
    again.close()
    result = CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output


def test_new_journals_keep_versions_without_rowid_and_postgresql_gets_plain_ddl(tmp_path):
    registry = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    (ddl,) = registry.journal.read("SELECT sql FROM sqlite_master WHERE name = 'version'")[0]
    registry.close()
    assert ddl.rstrip().endswith("WITHOUT ROWID")
    assert "ROWID" not in schema(KERNEL_SCHEMA)
    assert "PRIMARY KEY (iri, version)\n);" in schema(KERNEL_SCHEMA)


def test_a_trust_entry_restored_compressed_to_hide_it_stops_the_registry(tmp_path):
    """Someone with the database file compresses the entry that revoked a record (its hash is
    over the text, so the chain still verifies) and rolls the register row back: the start-up
    check refuses the journal instead of skipping the compressed body."""
    registry, _ = demo_registry(tmp_path / "data")
    registry.close()
    path = tmp_path / "data" / "journal.sqlite"
    db = sqlite3.connect(path)
    seq, text = db.execute(
        "SELECT seq, body FROM entry WHERE typeof(body) = 'text' LIMIT 1"
    ).fetchone()
    db.execute("UPDATE entry SET body = ? WHERE seq = ?", (zlib.compress(text.encode()), seq))
    db.commit()
    db.close()
    with pytest.raises(DerivedStateTampered) as refused:
        Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE))
    assert f"entry {seq}" in str(refused.value.extra)


@pytest.mark.parametrize(
    "stored",
    [
        zlib.compress(b'{"n":1}'),  # compressed, but its text does not say so
        zlib.compress(marked('{"n":1}').encode()) + b"tail no hash covers",
        zlib.compress(marked('{"n":1}').encode())[:-4],  # cut short
    ],
)
def test_a_compressed_body_the_writer_would_not_have_made_is_refused(stored):
    with pytest.raises(JournalCorrupt):
        body_text(stored)


def test_a_compressed_body_expanding_past_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(journal_module, "MAX_BODY", 1000)
    with pytest.raises(JournalCorrupt):
        body_text(zlib.compress(marked('{"n":"' + "x" * 5000 + '"}').encode()))


def test_a_marked_body_reads_back_as_the_payload_without_its_mark(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    entry = journal.append("t1", "alice", "register", LONG)
    assert entry.body.startswith('{"_stored":"zlib",')
    assert entry.payload == LONG
