"""Backup while writes go on, restore elsewhere, replay the live journal past the backup point:
the restored registry equals the live one record for record (canonical hashes)."""

import json
import threading

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from api.cli import main
from registry.assembly import Registry
from registry.base.settings import Settings
from registry.base.vocab import FDI
from registry.operations.backup import record_hashes
from tests.conftest import BASE
from tests.servers import wait_until


def write(registry, writer, i):
    """A new record, and every third time a new version of an earlier one."""
    iri = ox.NamedNode(f"{BASE}id/asset/w{writer}-{i}")
    with registry.transaction(f"writer-{writer}", "register") as tx:
        tx.put(iri, FDI.FlexibleAsset, [ox.Triple(iri, FDI.mpanCore, ox.Literal(f"{writer}-{i}"))])
        if i % 3 == 2:
            old = ox.NamedNode(f"{BASE}id/asset/w{writer}-{i - 2}")
            tx.put(
                old,
                FDI.FlexibleAsset,
                [ox.Triple(old, FDI.mpanCore, ox.Literal(f"v2-{writer}-{i}"))],
            )


def test_backup_under_concurrent_writes_restores_and_replays_to_equal_hashes(tmp_path):
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE, checkpoint_every=25))
    for i in range(20):
        write(live, 0, i)
    stop = threading.Event()
    written = [0, 0, 0]

    def writer(n):
        i = 0
        while not stop.is_set() or i < 30:
            write(live, n, i)
            written[n - 1] = i = i + 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2, 3)]
    for t in threads:
        t.start()
    # The backup starts with writes in flight.
    wait_until(lambda: sum(written) >= 15, 30, "15 writes", interval=0.01)
    backup = CliRunner().invoke(
        main, ["backup", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "live")]
    )
    during = sum(written)
    stop.set()
    for t in threads:
        t.join()
    assert backup.exit_code == 0, backup.output
    assert sum(written) > during  # writes went on after the backup

    restored_dir = tmp_path / "restored"
    result = CliRunner().invoke(
        main,
        [
            "restore",
            str(tmp_path / "backup"),
            "--data-dir",
            str(restored_dir),
            "--replay-from",
            str(tmp_path / "live" / "journal.sqlite"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "replayed 0 more" not in result.output

    restored = Registry(Settings(data_dir=restored_dir, base_iri=BASE))
    try:
        assert restored.journal.last() == live.journal.last()
        assert restored.journal.verify() == live.journal.last()[0]
        live_hashes = record_hashes(live)
        assert len(live_hashes) == 20 + sum(written)
        assert record_hashes(restored) == live_hashes
        assert restored.keys.jwks() == live.keys.jwks()
        receipts = "SELECT seq, body FROM receipt ORDER BY seq"
        assert restored.journal.read(receipts) == live.journal.read(receipts)
    finally:
        restored.close()
        live.close()


def backed_up(tmp_path, entries=3):
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE))
    for i in range(entries):
        write(live, 0, i)
    live.close()
    result = CliRunner().invoke(
        main, ["backup", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "live")]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "backup"


def test_a_journal_that_does_not_continue_the_backup_is_refused(tmp_path):
    backup = backed_up(tmp_path)
    other = Registry(Settings(data_dir=tmp_path / "other", base_iri=BASE))
    for i in range(5):
        write(other, 9, i)
    other.close()
    result = CliRunner().invoke(
        main,
        [
            "restore",
            str(backup),
            "--data-dir",
            str(tmp_path / "new"),
            "--replay-from",
            str(tmp_path / "other" / "journal.sqlite"),
        ],
    )
    assert result.exit_code == 1
    assert "does not continue from the backup" in result.output


def test_restore_never_overwrites_a_registry(tmp_path):
    backup = backed_up(tmp_path)
    result = CliRunner().invoke(
        main, ["restore", str(backup), "--data-dir", str(tmp_path / "live")]
    )
    assert result.exit_code == 2
    assert "already holds a registry" in result.output


def test_a_backup_altered_after_it_was_made_is_refused(tmp_path):
    backup = backed_up(tmp_path)
    with (backup / "journal.sqlite").open("ab") as f:
        f.write(b"\0")
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 1


@pytest.mark.parametrize("entries", [0, 4])
def test_a_restored_registry_without_replay_is_the_backup(tmp_path, entries):
    backup = backed_up(tmp_path, entries)
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    restored = Registry(Settings(data_dir=tmp_path / "new", base_iri=BASE))
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE))
    assert restored.journal.last() == live.journal.last()
    assert len(record_hashes(restored)) == entries
    assert record_hashes(restored) == record_hashes(live)
    restored.close()
    live.close()


def test_a_cut_over_replays_the_last_entries_after_the_live_server_stops(tmp_path):
    backup = backed_up(tmp_path, 3)
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE))
    for i in range(3, 6):
        write(live, 0, i)
    runner = CliRunner()
    journal = str(tmp_path / "live" / "journal.sqlite")
    new = str(tmp_path / "new")
    assert (
        runner.invoke(
            main, ["restore", str(backup), "--data-dir", new, "--replay-from", journal]
        ).exit_code
        == 0
    )
    for i in range(6, 9):  # writes go on until the live server stops
        write(live, 0, i)
    live.close()
    result = runner.invoke(main, ["journal", "replay", journal, "--data-dir", new])
    assert result.exit_code == 0, result.output
    assert "replayed 3 entries" in result.output
    restored = Registry(Settings(data_dir=tmp_path / "new", base_iri=BASE))
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE))
    assert record_hashes(restored) == record_hashes(live)
    restored.close()
    live.close()


def test_a_replay_stops_at_a_damaged_entry_and_keeps_those_before_it(tmp_path):
    import sqlite3

    backup = backed_up(tmp_path, 2)
    live = Registry(Settings(data_dir=tmp_path / "live", base_iri=BASE))
    for i in range(2, 6):
        write(live, 0, i)
    live.close()
    db = sqlite3.connect(tmp_path / "live" / "journal.sqlite")
    db.execute("UPDATE entry SET body = replace(body, '0-4', '0-X') WHERE seq = 5")
    db.commit()
    db.close()
    result = CliRunner().invoke(
        main,
        [
            "restore",
            str(backup),
            "--data-dir",
            str(tmp_path / "new"),
            "--replay-from",
            str(tmp_path / "live" / "journal.sqlite"),
        ],
    )
    assert result.exit_code == 1
    assert "entry 5" in result.output and "entries up to 4 were replayed" in result.output


def backed_up_with_ca(tmp_path):
    from registry.trust.ca import CertificateAuthority

    authority = CertificateAuthority.open(tmp_path / "live")
    (tmp_path / "live" / "jobs").mkdir()
    (tmp_path / "live" / "jobs" / "j1.input").write_bytes(b"id,name\n")
    return authority, backed_up(tmp_path)


def test_a_backup_holds_the_ca_and_the_inputs_of_bulk_jobs_and_restores_them(tmp_path):
    authority, backup = backed_up_with_ca(tmp_path)
    manifest = json.loads((backup / "backup.json").read_text())
    assert {"ca/ca-key.pem", "ca/ca.pem", "jobs/j1.input"} <= set(manifest["files"])
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    from registry.trust.ca import CertificateAuthority

    assert CertificateAuthority.open(tmp_path / "new").pem == authority.pem
    assert (tmp_path / "new" / "jobs" / "j1.input").read_bytes() == b"id,name\n"


def test_a_ca_key_swapped_in_a_backup_is_refused_and_nothing_is_restored(tmp_path):
    from registry.trust.ca import CertificateAuthority

    _, backup = backed_up_with_ca(tmp_path)
    rogue = CertificateAuthority.open(tmp_path / "rogue")
    for name in ("ca-key.pem", "ca.pem"):
        (backup / "ca" / name).write_bytes((tmp_path / "rogue" / "ca" / name).read_bytes())
    assert rogue.pem != CertificateAuthority.open(tmp_path / "live").pem
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 1
    assert "ca/ca-key.pem is changed" in result.output
    assert not (tmp_path / "new" / "journal.sqlite").exists()
    assert not (tmp_path / "new" / "ca").exists()


def test_a_file_added_to_a_backup_is_refused(tmp_path):
    _, backup = backed_up_with_ca(tmp_path)
    (backup / "jobs" / "planted.input").write_bytes(b"x")
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 1
    assert "planted.input is added" in result.output


def test_a_backup_names_the_settings_to_serve_the_restored_registry_with(tmp_path, monkeypatch):
    monkeypatch.setenv("FDI_OPERATOR_NAME", "Flex Scheme Ltd")
    backup = backed_up(tmp_path)
    settings = json.loads((backup / "backup.json").read_text())["settings"]
    assert settings["base_iri"] == BASE and settings["operator_name"] == "Flex Scheme Ltd"
    monkeypatch.delenv("FDI_OPERATOR_NAME")
    result = CliRunner().invoke(main, ["restore", str(backup), "--data-dir", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert f"FDI_BASE_IRI={BASE}" in result.output
    assert "FDI_OPERATOR_NAME='Flex Scheme Ltd'" in result.output
