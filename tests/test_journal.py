import sqlite3
import threading

import pytest

from registry.base.errors import JournalCorrupt
from registry.store.journal import GENESIS, Journal


def test_entries_are_chained_from_genesis(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    first = journal.append("t1", "alice", "register", {"n": 1})
    second = journal.append("t2", "bob", "register", {"n": 2})
    assert first.prev == GENESIS
    assert second.prev == first.hash
    assert [e.seq for e in journal.entries()] == [1, 2]
    assert journal.verify() == 2


def test_journal_survives_reopening(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.append("t1", "alice", "register", {"n": 1})
    journal.close()
    again = Journal(path)
    assert again.head()[0] == 1
    assert again.append("t2", "a", "k", {}).seq == 2


def test_journal_is_synchronous_full(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_an_altered_entry_is_named_by_verify(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    for n in range(5):
        journal.append(f"t{n}", "alice", "register", {"n": n})
    journal.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE entry SET body = ? WHERE seq = 2", ('{"n":99}',))
    db.commit()
    db.close()
    with pytest.raises(JournalCorrupt) as caught:
        Journal(path).verify()
    assert caught.value.extra["seq"] == 2


def test_a_removed_entry_is_named_by_verify(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    for n in range(4):
        journal.append(f"t{n}", "alice", "register", {"n": n})
    journal._db.execute("DELETE FROM entry WHERE seq = 3")
    with pytest.raises(JournalCorrupt) as caught:
        journal.verify()
    assert caught.value.extra["seq"] == 3


def test_closing_waits_for_an_append_in_progress_and_later_appends_fail_cleanly(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    inside, release = threading.Event(), threading.Event()

    def slow_derive(db, entry):  # a background writer, mid-transaction
        inside.set()
        release.wait(10)

    writer = threading.Thread(
        target=journal.append, args=("2026-01-01T00:00:00Z", "a", "put", {}, slow_derive)
    )
    writer.start()
    assert inside.wait(10)
    closer = threading.Thread(target=journal.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive()  # it waits for the append rather than freeing the handle under it
    release.set()
    writer.join(10)
    closer.join(10)
    assert not closer.is_alive()
    with pytest.raises(sqlite3.ProgrammingError):
        journal.append("2026-01-01T00:00:01Z", "a", "put", {})
    assert Journal(tmp_path / "j.sqlite").last()[0] == 1  # the append in progress was kept
