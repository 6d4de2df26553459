"""A verifiable journal: `fdi journal verify` names the first broken entry; signed checkpoints
show up a truncated or rewritten journal; audit events are journaled and exported."""

import json
import sqlite3

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import current_principal
from api.cli import main
from registry.assembly import Registry
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.store.journal import entry_hash
from tests.conftest import BASE


def write_entries(registry, n):
    for i in range(1, n + 1):
        iri = ox.NamedNode(f"{BASE}id/asset/{i}")
        with registry.transaction("alice", "register") as tx:
            tx.put(
                iri,
                FDI.FlexibleAsset,
                [ox.Triple(iri, FDI.mpanCore, ox.Literal(f"marker-entry-{i}"))],
            )


@pytest.fixture
def data_dir(disk_settings):
    registry = Registry(disk_settings)
    write_entries(registry, 5)
    registry.close()
    return disk_settings.data_dir


def verify(data_dir, *extra):
    return CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(data_dir), *extra])


def test_an_intact_journal_verifies(data_dir):
    result = verify(data_dir)
    assert result.exit_code == 0
    assert "5 entries, hash chain intact" in result.output


def test_one_flipped_byte_in_an_old_entry_is_named(data_dir):
    path = data_dir / "journal.sqlite"
    raw = bytearray(path.read_bytes())
    assert raw.count(b"marker-entry-3") == 1
    at = raw.index(b"marker-entry-3")
    raw[at] ^= 0x01  # 'm' -> 'l': still valid text, one byte different
    path.write_bytes(bytes(raw))
    result = verify(data_dir)
    assert result.exit_code == 1
    assert "entry 3 does not match its hash chain" in result.output


def checkpoint(data_dir, tmp_path):
    out = tmp_path / "checkpoint.json"
    made = CliRunner().invoke(
        main, ["journal", "checkpoint", "--data-dir", str(data_dir), "--out", str(out)]
    )
    assert made.exit_code == 0, made.output
    return out


def test_a_truncated_journal_is_detected_by_an_earlier_checkpoint(data_dir, tmp_path):
    held = checkpoint(data_dir, tmp_path)
    db = sqlite3.connect(data_dir / "journal.sqlite")
    db.execute("DELETE FROM entry WHERE seq > 3")  # the chain that is left still verifies
    db.commit()
    db.close()
    assert "hash chain intact" in verify(data_dir).output
    result = verify(data_dir, "--checkpoint", str(held))
    assert result.exit_code == 1
    assert "truncated" in result.output and "ends at entry 3" in result.output


def test_a_rewritten_journal_is_detected_by_an_earlier_checkpoint(data_dir, tmp_path):
    held = checkpoint(data_dir, tmp_path)
    db = sqlite3.connect(data_dir / "journal.sqlite")
    rows = db.execute(
        "SELECT seq, time, actor, kind, body, prev FROM entry ORDER BY seq"
    ).fetchall()
    prev = rows[1][5]
    for seq, time, actor, kind, body, _ in rows[1:]:  # rewrite entry 2 and re-chain the rest
        body = body.replace("marker-entry-2", "forged-entry-2")
        digest = entry_hash(prev, seq, time, actor, kind, body)
        db.execute(
            "UPDATE entry SET body = ?, prev = ?, hash = ? WHERE seq = ?", (body, prev, digest, seq)
        )
        prev = digest
    db.commit()
    db.close()
    assert verify(data_dir).exit_code == 0  # self-consistent, but not what was signed
    result = verify(data_dir, "--checkpoint", str(held))
    assert result.exit_code == 1
    assert "rewritten: entry 5" in result.output


def test_a_forged_checkpoint_is_unusable_input(data_dir, tmp_path):
    held = checkpoint(data_dir, tmp_path)
    forged = json.loads(held.read_text()) | {"head": "0" * 64}
    held.write_text(json.dumps(forged))
    assert verify(data_dir, "--checkpoint", str(held)).exit_code == 2


def test_checkpoints_are_made_every_n_entries_and_published(tmp_path, disk_settings):
    app = create_app(disk_settings.replace(checkpoint_every=2))
    with TestClient(app) as client:
        write_entries(client.app.state.registry, 5)
        listed = client.get("/journal/checkpoints").json()["checkpoints"]
        latest = client.get("/journal/checkpoints/latest").json()
        jwks = client.get("/.well-known/jwks.json").json()
    assert [c["seq"] for c in listed] == [2, 4]
    assert latest == listed[-1]
    (tmp_path / "cp.json").write_text(json.dumps(listed[0]))
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = verify(
        disk_settings.data_dir,
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--jwks",
        str(tmp_path / "jwks.json"),
    )
    assert result.exit_code == 0, result.output
    assert "entry 2 matches the checkpoint" in result.output


ALICE = BASE + "id/org/alice"
BOB = BASE + "id/org/bob"


def test_audit_events_are_journaled_and_exported_to_the_organisation_concerned(registry):
    iri = ox.NamedNode(BASE + "id/asset/1")
    with registry.transaction(ALICE, "register") as tx:
        tx.put(iri, FDI.FlexibleAsset, [ox.Triple(iri, FDI.mpanCore, ox.Literal("x"))], owner=ALICE)
    entry = registry.audit(Principal(BOB), "read", iri.value, "req-42")
    registry.audit(Principal(BOB), "refused", BASE + "id/asset/elsewhere", "req-43")
    assert entry.kind == "audit" and entry.actor == BOB
    app = create_app(registry.settings)
    app.state.registry = registry
    app.dependency_overrides[current_principal] = lambda: Principal(ALICE)
    client = TestClient(app)
    events = client.get("/audit").json()["events"]
    assert [(e["actor"], e["action"], e["target"], e["requestId"]) for e in events] == [
        (BOB, "read", iri.value, "req-42")
    ]
    app.dependency_overrides[current_principal] = lambda: Principal(BOB)
    assert [e["requestId"] for e in client.get("/audit").json()["events"]] == ["req-42", "req-43"]


def test_the_audit_trail_needs_an_organisation(registry):
    app = create_app(registry.settings)
    response = TestClient(app).get("/audit")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_checkpoint_made_beside_the_server_names_the_same_registry(data_dir, tmp_path):
    held = json.loads(checkpoint(data_dir, tmp_path).read_text())
    assert held["registry"] == BASE  # not the default base of the command's own settings
