"""Signed receipts: every accepted write gets one; it verifies offline against the published
keys, and a record altered by one byte no longer matches it."""

import hashlib
import json

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from api.auth import current_principal
from api.cli import main
from registry.base.errors import BadSignature, RecordMismatch
from registry.proof.keys import KeyRing
from registry.proof.receipts import canonical_hash, verify_receipt
from registry.submissions.formats import read_file
from tests.conftest import BASE, EXAMPLES

pytestmark = pytest.mark.app(disk=True, fsp=True)


def submit(client, name="asset.ttl", media="text/turtle", **headers):
    body = (EXAMPLES / name).read_bytes()
    return client.post("/submissions", content=body, headers={"Content-Type": media, **headers})


@pytest.fixture
def offline(client, tmp_path) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    """A receipt, the published keys, the record as served (``record.ttl``) and the record
    altered by one byte (``altered.ttl``) in ``tmp_path``: ``fdi receipt verify``'s arguments
    and the record's IRI."""
    answer = submit(client).json()
    iri = answer["ids"]["battery-cardiff-1"]
    (tmp_path / "receipt.json").write_text(json.dumps(answer["receipt"]))
    (tmp_path / "jwks.json").write_text(client.get("/.well-known/jwks.json").text)
    served = client.get(
        iri.removeprefix(BASE.rstrip("/")), headers={"Accept": "text/turtle"}
    ).content
    (tmp_path / "record.ttl").write_bytes(served)
    altered = served.replace(b"2143967712809", b"2143967712819", 1)
    assert (
        len(altered) == len(served)
        and sum(a != b for a, b in zip(altered, served, strict=True)) == 1
    )
    (tmp_path / "altered.ttl").write_bytes(altered)
    args = [
        "receipt",
        "verify",
        str(tmp_path / "receipt.json"),
        "--jwks",
        str(tmp_path / "jwks.json"),
    ]
    return args, iri


def test_a_receipt_verifies_offline_with_and_without_its_record(offline, tmp_path):
    args, iri = offline
    runner = CliRunner()
    assert runner.invoke(main, args).exit_code == 0
    good = runner.invoke(main, [*args, "--record", str(tmp_path / "record.ttl")])
    assert good.exit_code == 0, good.output
    assert f"record {iri} matches" in good.output


def test_a_record_altered_by_one_byte_no_longer_matches_its_receipt(offline, tmp_path):
    args, _ = offline
    bad = CliRunner().invoke(main, [*args, "--record", str(tmp_path / "altered.ttl")])
    assert bad.exit_code == 1
    assert "the receipt says" in bad.output


def test_a_receipt_with_one_field_changed_fails_its_signature(client):
    receipt = submit(client).json()["receipt"]
    jwks = client.get("/.well-known/jwks.json").json()
    verify_receipt(receipt, jwks)
    with pytest.raises(BadSignature):
        verify_receipt({**receipt, "submitter": "someone else"}, jwks)


def test_a_receipt_names_the_entry_the_time_the_submitter_and_each_record_hash(client):
    answer = submit(client, "assets.csv", "text/csv").json()
    receipt = answer["receipt"]
    registry = client.app.state.registry
    assert (receipt["seq"], receipt["entryHash"], receipt["time"]) == (
        answer["seq"],
        answer["hash"],
        answer["time"],
    )
    submitter = client.app.dependency_overrides[current_principal]()
    assert receipt["submitter"] == submitter.actor
    assert receipt["registry"] == BASE
    assert {r["id"] for r in receipt["records"]} == set(answer["ids"].values())
    for line in receipt["records"]:
        assert line["hash"] == canonical_hash(registry.record(line["id"], submitter))


def test_every_write_path_through_a_transaction_gets_a_receipt(registry):
    import pyoxigraph as ox

    from registry.base.vocab import FDI

    iri = ox.NamedNode(BASE + "id/asset/x")
    with registry.transaction("scheme-operator", "correct") as tx:
        tx.put(iri, FDI.FlexibleAsset, [ox.Triple(iri, FDI.mpanCore, ox.Literal("2143967712809"))])
    verify_receipt(tx.receipt, registry.keys.jwks(), registry.record(iri.value))
    assert tx.receipt["kind"] == "correct"


def test_receipts_signed_before_a_rotation_still_verify(tmp_path, disk_settings):
    from registry.assembly import Registry

    registry = Registry(disk_settings)
    first = registry.register(read_file(EXAMPLES / "asset.ttl"), "alice")
    new_kid = KeyRing(disk_settings.data_dir / "keys").rotate()  # as `fdi keys rotate` would
    second = registry.register(read_file(EXAMPLES / "organisation.ttl"), "alice")
    jwks = registry.keys.jwks()
    registry.close()
    assert len(jwks["keys"]) == 2
    assert verify_receipt(first.receipt, jwks)[0] != verify_receipt(second.receipt, jwks)[0]
    assert new_kid in verify_receipt(second.receipt, jwks)[0]
    assert all("d" not in k for k in jwks["keys"])  # only public halves are published


def test_a_record_not_in_the_receipt_is_a_mismatch(client):
    import pyoxigraph as ox

    receipt = submit(client).json()["receipt"]
    other = [
        ox.Triple(ox.NamedNode(BASE + "id/asset/other"), ox.NamedNode("http://p"), ox.Literal("1"))
    ]
    with pytest.raises(RecordMismatch):
        verify_receipt(receipt, client.get("/.well-known/jwks.json").json(), other)


def test_receipt_verify_exit_2_for_unusable_input(tmp_path):
    (tmp_path / "r.json").write_text("not json")
    (tmp_path / "k.json").write_text("{}")
    result = CliRunner().invoke(
        main, ["receipt", "verify", str(tmp_path / "r.json"), "--jwks", str(tmp_path / "k.json")]
    )
    assert result.exit_code == 2


def test_the_canonical_hash_is_rdfc_1_0_with_and_without_blank_nodes():
    s, p = ox.NamedNode("http://r.example/id/asset/1"), ox.NamedNode("http://p")
    plain = [
        ox.Triple(s, p, ox.Literal('tab\t "quote" é\u0001', language="en")),
        ox.Triple(s, p, ox.Literal("5", datatype=ox.NamedNode("http://x/int"))),
    ]
    # Computed the long way: RDFC-1.0 over a dataset, canonical N-Quads lines sorted.
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in plain)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    lines = "".join(sorted(f"{q} .\n" for q in dataset))
    assert canonical_hash(plain) == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert canonical_hash(plain) == canonical_hash([plain[1], plain[0], plain[1]])
    # Blank nodes are relabelled: the same graph under other labels hashes the same.
    first, second = ox.BlankNode("a1"), ox.BlankNode("zz")
    assert canonical_hash([ox.Triple(s, p, first), ox.Triple(first, p, ox.Literal("1"))]) == (
        canonical_hash([ox.Triple(s, p, second), ox.Triple(second, p, ox.Literal("1"))])
    )
    assert canonical_hash(plain) != canonical_hash(plain[:1])
