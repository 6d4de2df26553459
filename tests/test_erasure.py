"""Erasure of personal data (issue 12 item 7), over real TLS with the registry's own client
certificates: a person, a contact point, an asset's postcode and an asset owner named in free
text are erased on the scheme operator's decision, and then looked for on every read path, in
the journal's files and in a backup made afterwards. The journal, its hash chain and the
receipts issued before still verify."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from api.cli import main
from registry.assembly import Registry
from registry.assets.jobs import JobRunner
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.settings import Settings
from registry.base.vocab import FDI
from registry.kernel.lifecycle import content as stored_content
from registry.operations import backup
from registry.operations.demo_identifiers import mpan_core
from registry.operations.erasure import erase
from registry.submissions.formats import read_bytes
from tests.conftest import EXAMPLES
from tests.test_assets import make_fsp, register_asset
from tests.test_authorisation_tls import SHARE_WITH_DSOS
from tests.test_jobs import demo_csv
from tests.tls_world import World, tls_world
from tests.trust import Member

TURTLE = {"Content-Type": "text/turtle"}
NAME = "Morwenna Treloar-Pascoe"  # the asset owner, named in the right to operate
PERSON = "Ada Quinlan-Vesey"  # a user of the organisation
EMAIL = "ada.quinlan-vesey@erasure-flex.example"
POSTCODE = "LL57 2DG"
CONTACT = "contact@erasureflexltd.example"  # the organisation's contact point
VALUES = (NAME, PERSON, EMAIL, POSTCODE, CONTACT)
KEPT = "Bryn Ellis-Kept"  # another user of the organisation, not erased
MPAN = mpan_core(21, 47_000_001)
RIGHT = """@prefix fdi: <https://w3id.org/fdi/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#r> a fdi:RightToOperate ; fdi:asset <{asset}> ; fdi:operator <{operator}> ;
  fdi:validFrom "2026-01-01"^^xsd:date ; fdi:assetOwner "{name}" ;
  fdi:consentEvidence <urn:uuid:6f1c2a7e-3b8d-4e7a-9c51-2d0f4b8e1a11> .
"""
ACCEPTS = (
    "application/json",
    "text/turtle",
    "text/html",
    "application/ld+json",
    "text/csv",
    "application/n-quads",  # the change feeds' pages
)


@dataclass
class Scene:
    world: World
    fsp: Member
    dso: Member  # reads the FSP's assets under its data-sharing agreement
    asset: str
    right: str
    user: str
    administrator: str  # the first administrator: the contact point's email is theirs too
    receipts: list[dict] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)  # the subjects' keys, before the erasure
    found_before: set[str] = field(default_factory=set)  # values the read walk found before
    old_backup: Path | None = None
    answers: dict[str, httpx.Response] = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        return [self.user, self.asset, self.right, self.fsp.iri, self.administrator]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    directory = tmp_path_factory.mktemp("erasure")
    with tls_world(directory) as world:
        fsp = world.member("Erasure Flex Ltd", "07654321")
        dso = world.member("Erasure DSO plc", "07654329", roles=["DistributionSystemOperator"])
        admin = world.client(fsp, admin=True)
        uid = fsp.iri.rsplit("/", 1)[-1]
        added = admin.post(
            f"/organisations/{uid}/users",
            json={"name": PERSON, "email": EMAIL, "roles": ["Viewer"]},
        )
        assert added.status_code == 201, added.text
        kept = admin.post(
            f"/organisations/{uid}/users",
            json={"name": KEPT, "email": "bryn@erasure-flex.example", "roles": ["Viewer"]},
        )
        assert kept.status_code == 201, kept.text
        users = admin.get(f"/organisations/{uid}/users").json()
        first = next(u["id"] for u in users if u["email"] == f"mailto:{CONTACT}")
        body = (EXAMPLES / "asset.ttl").read_text()
        body = body.replace("2143967712809", MPAN).replace("CF10 1EP", POSTCODE)
        asset = world.client(fsp).post("/assets", content=body, headers=TURTLE)
        assert asset.status_code == 201, asset.text
        asset_iri = asset.json()["ids"]["battery-cardiff-1"]
        right = world.client(fsp).post(
            "/rights-to-operate",
            content=RIGHT.format(asset=asset_iri, operator=fsp.iri, name=NAME),
            headers=TURTLE,
        )
        assert right.status_code == 201, right.text
        shared = world.client(fsp).post("/agreements", json=SHARE_WITH_DSOS)
        assert shared.status_code == 201, shared.text
        scene = Scene(
            world, fsp, dso, asset_iri, right.json()["ids"]["r"], added.json()["id"], first
        )
        scene.answers["shared"] = world.client(dso).get(
            world.path(asset_iri), headers={"Accept": "text/turtle"}
        )
        scene.answers["feed"] = feed_pages(scene)
        scene.receipts = [asset.json()["receipt"], right.json()["receipt"]]
        scene.found_before = {v for v in VALUES if any(v in t for t in read_everything(scene))}
        scene.keys = [
            bytes(k)
            for subject in scene.subjects
            for i in world.registry.sealer.keys_of(subject)
            for (k,) in world.registry.journal.read(
                "SELECT key FROM subject_key WHERE id = ?", (i,)
            )
        ]
        scene.old_backup = directory / "backup-before"
        backup.backup(world.registry.settings.data_dir, scene.old_backup, world.base)
        scene.answers["refused"] = admin.post(
            "/erasures", json={"subject": scene.user, "basis": "UK GDPR art. 17(1)(a)"}
        )
        operator = world.operator_client()
        for subject in scene.subjects:
            scene.answers[subject] = operator.post(
                "/erasures", json={"subject": subject, "basis": "UK GDPR art. 17(1)(a)"}
            )
        yield scene


def feed_pages(scene: Scene) -> str:
    """The public change feed's first page, and the DSO's shared feed's, as N-Quads."""
    world, nquads = scene.world, {"Accept": "application/n-quads"}
    dso_uid = scene.dso.iri.rsplit("/", 1)[-1]
    public = world.client().get("/feed/public/0", headers=nquads)
    shared = world.client(scene.dso).get(f"/feed/shared/{dso_uid}/0", headers=nquads)
    assert public.status_code == shared.status_code == 200, (public.text, shared.text)
    return public.text + shared.text


def test_the_change_feeds_showed_the_shared_postcode_opened_before_the_erasure(
    scene: Scene,
) -> None:
    assert POSTCODE in scene.answers["feed"] and "fdi/sealed#" not in scene.answers["feed"]


def test_the_change_feeds_leave_erased_values_out(scene: Scene) -> None:
    pages = feed_pages(scene)
    assert not [v for v in VALUES if v in pages] and "fdi/sealed#" not in pages


def read_everything(scene: Scene) -> Iterator[str]:
    """Every GET operation of the OpenAPI document, with every record of the scene for its
    parameters, in every representation, as the owner, its administrator, the scheme
    operator and anyone; and a SPARQL CONSTRUCT of every graph each of them may read."""
    world = scene.world
    clients = [
        world.client(scene.fsp),
        world.client(scene.fsp, admin=True),
        world.operator_client(),
        world.client(scene.dso),
        world.client(),
    ]
    for client, url in itertools.product(clients, _urls(scene)):
        for accept in ACCEPTS:
            answer = client.get(url, headers={"Accept": accept})
            yield answer.text
        got = client.post(
            "/sparql",
            content="CONSTRUCT { ?s ?p ?o } WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
            headers={"Content-Type": "application/sparql-query", "Accept": "text/turtle"},
        )
        yield got.text
    yield "\n".join(str(q) for q in world.registry.index.dump())  # the whole index


def _urls(scene: Scene) -> Iterator[str]:
    world = scene.world
    org_uid = scene.fsp.iri.rsplit("/", 1)[-1]
    records = [scene.fsp.iri, scene.asset, scene.right, scene.user]
    ids = [iri.removeprefix(world.base).split("/")[1:] for iri in records]
    fixed = {
        "slug": ["fdi"],
        "version": ["1"],
        "serial": ["1"],
        "job_id": ["none"],
        "name": ["fdi"],
        "path": ["public", f"org/{org_uid}"],
        "number": ["1", "2", "3"],
        "page": ["0"],
    }
    extra = {
        "/search": [f"?q={MPAN}", "?q=Erasure", "?q=LL57"],
        "/directory": ["?name=Erasure"],
        "/lookup": [f"?mpan={MPAN}"],
        "/id/{kind}/{uid}/as-of": ["?time=2030-01-01T00:00:00Z"],
    }
    for path, item in world.app.openapi()["paths"].items():
        if "get" not in item:
            continue
        names = re.findall(r"{(\w+)}", path)
        choices: list[dict[str, str]] = []
        if "kind" in names:
            choices = [{"kind": k, "uid": u} for k, u in ids]
        elif "uid" in names:
            choices = [{"uid": u} for _, u in ids]
        else:
            choices = [{}]
        for choice in choices:
            rest = [n for n in names if n not in choice]
            for values in itertools.product(*(fixed.get(n, ["x"]) for n in rest)):
                url = path.format(**choice, **dict(zip(rest, values, strict=True)))
                for query in extra.get(path, [""]):
                    yield url + query


def files_under(directory: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


# --- the erasure itself -----------------------------------------------------------------


def test_every_read_path_served_every_value_before_the_erasure(scene: Scene) -> None:
    assert scene.found_before == set(VALUES)


def test_the_dso_read_the_shared_postcode_before_the_erasure(scene: Scene) -> None:
    assert POSTCODE in scene.answers["shared"].text


def test_the_scheme_operator_erases_each_subject(scene: Scene) -> None:
    for subject in scene.subjects:
        answer = scene.answers[subject]
        assert answer.status_code == 200, answer.text
        assert answer.json()["subject"] == subject
        assert answer.json()["keysDestroyed"] >= 1


def test_a_members_erasure_request_is_refused(scene: Scene) -> None:
    assert scene.answers["refused"].status_code == 403


def test_a_refused_erasure_changed_nothing(tmp_path: Path) -> None:
    with tls_world(tmp_path) as world:
        fsp = world.member("Refused Erasure Ltd", "07654322")
        journal = world.registry.journal
        before = journal.read("SELECT id, subject, key FROM subject_key ORDER BY id")
        head = journal.read("SELECT max(seq) FROM entry")[0][0]
        record = world.client(fsp).get(world.path(fsp.iri), headers={"Accept": "text/turtle"})
        refused = world.client(fsp, admin=True).post(
            "/erasures", json={"subject": fsp.iri, "basis": "UK GDPR art. 17(1)(a)"}
        )
        anonymous = world.client().post("/erasures", json={"subject": fsp.iri, "basis": "x"})
        assert (refused.status_code, anonymous.status_code) == (403, 401)
        assert journal.read("SELECT id, subject, key FROM subject_key ORDER BY id") == before
        kinds = journal.read("SELECT kind FROM entry WHERE seq > ?", (head,))
        assert {k for (k,) in kinds} <= {"audit"}  # the refusals' audit events only
        again = world.client(fsp).get(world.path(fsp.iri), headers={"Accept": "text/turtle"})
        assert again.text == record.text and CONTACT.split("@")[0] in again.text


def test_erasing_an_unknown_subject_is_not_found(scene: Scene) -> None:
    answer = scene.world.operator_client().post(
        "/erasures", json={"subject": scene.world.base + "id/user/nobody", "basis": "art. 17"}
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_erasing_a_subject_again_is_not_found(scene: Scene) -> None:
    answer = scene.world.operator_client().post(
        "/erasures", json={"subject": scene.user, "basis": "art. 17"}
    )
    assert answer.status_code == 404


def test_the_erasure_register_names_each_erasure_without_the_values(scene: Scene) -> None:
    register = scene.world.operator_client().get("/erasures")
    assert [e["subject"] for e in register.json()] == scene.subjects
    assert not [v for v in VALUES if v in register.text]
    assert scene.world.client(scene.fsp, admin=True).get("/erasures").status_code == 403


# --- gone --------------------------------------------------------------------------------


def test_no_read_path_serves_an_erased_value(scene: Scene) -> None:
    found = {v for text in read_everything(scene) for v in VALUES if v in text}
    assert found == set()


def test_an_erasure_leaves_other_subjects_values_in_place(scene: Scene) -> None:
    uid = scene.fsp.iri.rsplit("/", 1)[-1]
    users = scene.world.client(scene.fsp, admin=True).get(f"/organisations/{uid}/users")
    assert KEPT in users.text and "bryn@erasure-flex.example" in users.text


def test_the_journal_files_hold_neither_the_values_nor_their_keys(scene: Scene) -> None:
    assert scene.keys, "the subjects had keys before the erasure"
    data_dir = scene.world.registry.settings.data_dir
    for path, content in files_under(data_dir):
        if path.name.startswith("journal.sqlite"):
            assert not [v for v in VALUES if v.encode() in content], path
            assert not [k for k in scene.keys if k in content], path


def test_a_backup_made_after_the_erasure_holds_neither_values_nor_keys(
    scene: Scene, tmp_path: Path
) -> None:
    world = scene.world
    backup.backup(world.registry.settings.data_dir, tmp_path / "after", world.base)
    for path, content in files_under(tmp_path / "after"):
        assert not [v for v in VALUES if v.encode() in content], path
        assert not [k for k in scene.keys if k in content], path


def test_the_old_backup_held_the_keys_the_erasure_destroyed(scene: Scene) -> None:
    assert scene.old_backup is not None
    journal = (scene.old_backup / backup.JOURNAL).read_bytes()
    assert all(k in journal for k in scene.keys)


def test_a_restore_of_an_older_backup_replaying_the_journal_erases_again(
    scene: Scene, tmp_path: Path
) -> None:
    world = scene.world
    assert scene.old_backup is not None
    live = world.registry.settings.data_dir / backup.JOURNAL
    settings = Settings(data_dir=tmp_path / "restored", base_iri=world.base)
    restored = backup.restore(scene.old_backup, settings, replay_from=live)
    assert restored.replayed > len(scene.subjects)
    db = sqlite3.connect(tmp_path / "restored" / backup.JOURNAL)
    try:
        keys = [bytes(k) for (k,) in db.execute("SELECT key FROM subject_key")]
    finally:
        db.close()
    assert not set(keys) & set(scene.keys)


# --- still verifiable ---------------------------------------------------------------------


def test_the_journal_still_verifies(scene: Scene) -> None:
    data_dir = scene.world.registry.settings.data_dir
    result = CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output


def test_receipts_issued_before_the_erasure_still_verify(scene: Scene, tmp_path: Path) -> None:
    jwks = scene.world.client().get("/.well-known/jwks.json").json()
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    for n, receipt in enumerate(scene.receipts):
        path = tmp_path / f"receipt-{n}.json"
        path.write_text(json.dumps(receipt))
        result = CliRunner().invoke(
            main, ["receipt", "verify", str(path), "--jwks", str(tmp_path / "jwks.json")]
        )
        assert result.exit_code == 0, result.output
        entry = scene.world.registry.journal.entry(receipt["seq"])
        assert entry is not None and entry.hash == receipt["entryHash"]


def test_the_erasure_is_journaled_without_the_values(scene: Scene) -> None:
    journal = scene.world.registry.journal
    rows = journal.read("SELECT actor, body FROM entry WHERE kind = 'erasure' ORDER BY seq")
    assert len(rows) == len(scene.subjects)
    assert {actor for actor, _ in rows} == {scene.world.onboarding.operator.actor}
    assert not [v for _, body in rows for v in VALUES if v in body]


def test_a_restore_without_the_live_journal_is_erased_again_from_the_register(
    scene: Scene, tmp_path: Path
) -> None:
    world = scene.world
    assert scene.old_backup is not None
    live = world.registry.settings.data_dir
    exported = CliRunner().invoke(main, ["erasure", "register", "--data-dir", str(live)])
    assert exported.exit_code == 0, exported.output
    assert not [v for v in VALUES if v in exported.output]
    (tmp_path / "register.json").write_text(exported.output)
    restored = tmp_path / "restored"
    backup.restore(scene.old_backup, Settings(data_dir=restored, base_iri=world.base))
    assert all(k in (restored / backup.JOURNAL).read_bytes() for k in scene.keys)
    applied = CliRunner().invoke(
        main,
        ["erasure", "apply", str(tmp_path / "register.json"), "--data-dir", str(restored)]
        + ["--base-iri", world.base],
    )
    assert applied.exit_code == 0, applied.output
    assert applied.output.count("erased ") == len(scene.subjects)
    for path, content in files_under(restored):
        if path.name.startswith("journal.sqlite"):
            assert not [k for k in scene.keys if k in content], path
    registry = Registry(Settings(data_dir=restored, base_iri=world.base))
    try:
        dumped = "\n".join(str(q) for q in registry.index.dump())
    finally:
        registry.close()
    assert not [v for v in VALUES if v in dumped]


def test_a_bulk_jobs_report_keeps_a_refused_postcode_out_of_the_journal(registry) -> None:  # type: ignore[no-untyped-def]
    fsp = make_fsp(registry, "00000001")
    rows = list(csv.DictReader(io.StringIO(demo_csv(3)[0].decode())))
    rows[1]["postcode"] = "QQ9 9QQ"  # not a UK postcode: the row is refused
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    runner = JobRunner(registry, chunk=100)
    job = runner.submit(out.getvalue().encode(), "csv", "a.csv", fsp, fsp.organisation, start=False)
    job = runner.run(job.id)
    assert [f["field"] for f in job.refused] == ["postcode"]
    assert job.refused[0]["value"] is None
    bodies = [body for (body,) in registry.journal.read("SELECT body FROM entry")]
    assert not [b for b in bodies if "QQ9 9QQ" in b]


def test_an_index_rebuilt_after_an_erasure_holds_no_erased_value_on_disk(disk_settings) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(disk_settings)
    fsp = make_fsp(registry, "00000002")
    asset = register_asset(registry, fsp)
    operator = Principal("https://r.example/id/org/op", frozenset({SCHEME_OPERATOR}))
    erase(registry, operator, asset, "UK GDPR art. 17(1)(a)")
    registry.close()
    index = disk_settings.data_dir / "index"
    # Oxigraph never deletes a string from its dictionary: the files still hold it ...
    assert [p for p, content in files_under(index) if b"CF10 1EP" in content]
    shutil.rmtree(index)  # ... until the index is rebuilt from the journal (docs/erasure.md)
    registry = Registry(disk_settings)
    try:
        assert "Home battery" in str(stored_content(registry, asset))
        assert "CF10 1EP" not in str(stored_content(registry, asset))
    finally:
        registry.close()
    assert not [p for p, content in files_under(index) if b"CF10 1EP" in content]


def test_a_register_of_erasures_edited_by_hand_fails_journal_verify(disk_settings) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(disk_settings)
    fsp = make_fsp(registry, "00000003")
    asset = register_asset(registry, fsp)
    operator = Principal("https://r.example/id/org/op", frozenset({SCHEME_OPERATOR}))
    erase(registry, operator, asset, "UK GDPR art. 17(1)(a)")
    registry.close()
    data_dir = disk_settings.data_dir
    db = sqlite3.connect(data_dir / backup.JOURNAL)
    db.execute("DELETE FROM erasure")
    db.commit()
    db.close()
    result = CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert asset in result.output


def test_a_value_given_after_the_erasure_is_sealed_anew_and_served(registry) -> None:  # type: ignore[no-untyped-def]
    fsp = make_fsp(registry, "00000004")
    asset = register_asset(registry, fsp)
    operator = Principal("https://r.example/id/org/op", frozenset({SCHEME_OPERATOR}))
    erase(registry, operator, asset, "UK GDPR art. 17(1)(a)")
    node = ox.NamedNode(asset)
    triples = [
        *stored_content(registry, asset),
        ox.Triple(node, FDI.postcode, ox.Literal("SA1 8PX")),
    ]
    body = ox.serialize(triples, format=ox.RdfFormat.TURTLE)
    info = registry.info(asset)
    registry.update(asset, read_bytes(body, "turtle"), fsp, info.etag)
    assert "SA1 8PX" in str(stored_content(registry, asset))
    assert "SA1 8PX" in str(registry.version(asset, info.version + 1, principal=fsp)[1])
    assert "CF10 1EP" not in str(registry.version(asset, 1, principal=fsp)[1])
    assert len(registry.sealer.keys_of(asset)) == 1


def test_on_a_postgresql_journal_an_erasure_reaches_every_replica(tmp_path: Path) -> None:
    # Two registries sharing one journal (docs/replicas.md): one erases, the other forgets the
    # keys it held in memory, serves no erased value, and the database holds no key of it.
    from tests import postgres

    with postgres.cluster() as cluster:
        url = cluster.database()
        settings = [
            Settings(data_dir=tmp_path / name, base_iri="https://r.example/", journal_url=url)
            for name in ("a", "b")
        ]
        first, second = Registry(settings[0]), Registry(settings[1])
        try:
            fsp = make_fsp(first, "00000005")
            asset = register_asset(first, fsp)
            second.catch_up()
            assert "CF10 1EP" in str(stored_content(second, asset))  # opened with the key
            operator = Principal("https://r.example/id/org/op", frozenset({SCHEME_OPERATOR}))
            erase(first, operator, asset, "UK GDPR art. 17(1)(a)")
            second.catch_up()
            assert "CF10 1EP" not in str(stored_content(second, asset))
            assert "CF10 1EP" not in str(second.version(asset, 1, principal=fsp)[1])
            assert second.sealer.keys_of(asset) == []
            assert [r[0] for r in second.journal.read("SELECT subject FROM erasure")] == [asset]
        finally:
            first.close()
            second.close()
