"""The journal on a real PostgreSQL (registry.store.journal_pg): the same chain as on SQLite,
appends
from several journals (processes) serialised, the registry's SQLite-flavoured statements run."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from registry.base.errors import JournalCorrupt
from registry.proof import checkpoints
from registry.store.journal import Journal, entry_hash
from registry.store.journal_pg import statement
from registry.store.journals import open_journal
from tests import postgres


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    with postgres.cluster() as running:
        yield running


@pytest.fixture
def url(cluster: postgres.Cluster) -> str:
    return cluster.database()


def test_statements_get_postgresql_placeholders_and_conflict_clauses():
    assert statement("SELECT a FROM t WHERE b = ? AND c LIKE '%x'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '%%x'"
    )
    assert statement("INSERT OR IGNORE INTO t (a) VALUES (?)") == (
        "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )


def test_entries_chain_as_on_sqlite(url: str):
    journal = open_journal(None, url)
    try:
        first = journal.append("2026-01-01T00:00:00Z", "a", "put", {"records": []})
        second = journal.append("2026-01-01T00:00:01Z", "b", "put", {"records": [1]})
        assert (first.seq, second.seq, second.prev) == (1, 2, first.hash)
        assert second.hash == entry_hash(first.hash, 2, second.time, "b", "put", second.body)
        assert journal.verify() == 2
    finally:
        journal.close()


def test_appends_from_two_journals_at_once_make_one_chain(url: str):
    journals = [open_journal(None, url) for _ in range(2)]

    def append(journal: Journal, who: str) -> None:
        for n in range(40):
            journal.append("2026-01-01T00:00:00Z", who, "put", {"n": n})

    threads = [threading.Thread(target=append, args=(j, f"j{i}")) for i, j in enumerate(journals)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert journals[0].verify() == 80
        assert [e.seq for e in journals[1].entries()] == list(range(1, 81))
    finally:
        for j in journals:
            j.close()


def test_an_edited_entry_breaks_the_chain(url: str):
    journal = open_journal(None, url)
    try:
        for n in range(3):
            journal.append("2026-01-01T00:00:00Z", "a", "put", {"n": n})
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE entry SET body = '{\"n\":9}' WHERE seq = 2")
        with pytest.raises(JournalCorrupt) as broken:
            journal.verify()
        assert broken.value.extra["seq"] == 2
    finally:
        journal.close()


def test_a_failed_derive_leaves_no_entry(url: str):
    journal = open_journal(None, url)
    journal.ensure_tables(checkpoints.SCHEMA)  # a side table, as a registry creates it

    def derive(db, entry):  # type: ignore[no-untyped-def]
        db.execute("INSERT INTO checkpoint (seq, time, body) VALUES (?, ?, ?)", (1, "t", "{}"))
        raise ValueError("refused while deriving")

    try:
        with pytest.raises(ValueError):
            journal.append("2026-01-01T00:00:00Z", "a", "put", {}, derive=derive)
        assert journal.last()[0] == 0
        assert journal.read("SELECT count(*) FROM checkpoint") == [(0,)]
        assert journal.append("2026-01-01T00:00:00Z", "a", "put", {}).seq == 1  # lock released
    finally:
        journal.close()


def test_a_promoted_standby_takes_over_with_every_acknowledged_entry():
    with postgres.cluster() as primary:
        url = primary.database()
        database = url.split("/")[3].split("?")[0]
        with primary.standby() as standby:
            both = (
                f"postgresql://{postgres.USER}@/{database}?host={primary.directory},"
                f"{standby.directory}&port={primary.port},{standby.port}"
                "&target_session_attrs=read-write"
            )
            journal = open_journal(None, both)
            try:
                acknowledged = [
                    journal.append("2026-01-01T00:00:00Z", "a", "put", {"n": n}).hash
                    for n in range(10)
                ]
                primary.crash()
                standby.promote()
                acknowledged += [
                    journal.append("2026-01-01T00:00:00Z", "a", "put", {"n": n}).hash
                    for n in range(10, 20)
                ]
                assert journal.verify() == 20
                assert [e.hash for e in journal.entries()] == acknowledged
            finally:
                journal.close()


def test_two_replicas_digesting_the_same_reads_send_one_digest(url: str):
    from registry.assembly import Registry
    from registry.base.identity import MARKET_OPERATOR, Principal
    from registry.base.settings import Settings
    from registry.trust.access_log import DIGEST_TYPE, send_digests
    from registry.trust.schemes import FDI_SCHEME
    from tests.conftest import BASE
    from tests.test_assets import make_fsp, register_asset

    replicas = [Registry(Settings(data_dir=None, base_iri=BASE, journal_url=url)) for _ in "ab"]
    try:
        fsp = make_fsp(replicas[0], "00000001")
        iri = register_asset(replicas[0], fsp)
        scopes = frozenset(FDI_SCHEME.default_scopes[MARKET_OPERATOR])
        mo = Principal(BASE + "id/org/mo-1", frozenset({MARKET_OPERATOR}), scopes)
        replicas[1].audit(mo, "read", iri)
        sent: list[int] = []
        start = threading.Barrier(2)

        def digest(replica: Registry) -> None:
            start.wait()
            sent.append(send_digests(replica))

        threads = [threading.Thread(target=digest, args=(r,)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(sent) == [0, 1]
        rows = replicas[0].journal.read(
            "SELECT count(*) FROM notification WHERE body LIKE ?", (f'%"{DIGEST_TYPE}"%',)
        )
        assert rows == [(1,)]
    finally:
        for r in replicas:
            r.close()


def test_an_unreachable_journal_is_named_without_its_password(tmp_path):
    from registry.base.errors import JournalUnavailable

    with pytest.raises(JournalUnavailable) as refused:
        open_journal(None, f"postgresql://fdi:s3cret@/fdi?host={tmp_path}&port=5")
    assert "dbname=fdi" in refused.value.detail
    assert "s3cret" not in refused.value.detail


def test_a_webhook_round_runs_on_postgresql(url: str):
    """The round's queries (queueing, the due deliveries taken in turns across webhooks) are
    PostgreSQL's too: a due delivery is found and its failed attempt recorded."""
    from registry.assembly import Registry
    from registry.base.settings import Settings
    from registry.messaging import webhook_delivery, webhooks
    from tests.conftest import BASE
    from tests.test_assets import make_fsp

    registry = Registry(
        Settings(data_dir=None, base_iri=BASE, journal_url=url, webhook_timeout=1.0)
    )
    try:
        fsp = make_fsp(registry, "00000002").actor
        webhooks.ensure(registry)
        # (the join that sends only verified members' deliveries is part of what is run here)
        registry.journal.write("UPDATE record SET status = 'verified' WHERE iri = ?", (fsp,))
        registry.journal.write(
            "INSERT INTO webhook (id, organisation, url, secret, created, queued) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ("wh_pg", fsp, "https://xn--a.example/hook", "whsec_" + "A" * 43 + "=", "t", 0),
        )
        registry.journal.write(
            "INSERT INTO notification (id, seq, recipient, time, body) VALUES (?, ?, ?, ?, ?)",
            (1, 1, fsp, "2026-01-01T00:00:00Z", '{"type": "Announce"}'),
        )
        assert webhook_delivery.send_due(registry) == 0
        ((attempts, error),) = registry.journal.read(
            "SELECT attempts, last_error FROM webhook_delivery WHERE webhook = ?", ("wh_pg",)
        )
        assert attempts == 1 and error
    finally:
        registry.close()
