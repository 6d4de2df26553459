import shutil

import pyoxigraph as ox
import pytest

from registry.assembly import Registry
from registry.base.errors import ValidationFailed
from registry.base.vocab import FDI
from registry.store.index import BULK_QUADS, OxigraphIndex
from registry.store.index_protocol import META_GRAPH, RecordChange
from registry.submissions.formats import read_file
from tests.conftest import EXAMPLES

SUBMISSIONS = ["asset.ttl", "asset.json", "assets.csv", "organisation.ttl"]


def canonical(dataset: ox.Dataset) -> set[ox.Quad]:
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def register_examples(registry: Registry) -> None:
    for name in SUBMISSIONS:
        registry.register(read_file(EXAMPLES / name), actor="test")


def test_registering_mints_one_iri_per_record(registry):
    result = registry.register(read_file(EXAMPLES / "assets.csv"), actor="test")
    assert len(result.ids) == 4
    assert all(iri.startswith("http://registry.test/id/asset/") for iri in result.ids.values())
    assert registry.counts()["asset"] == 4


def test_a_record_has_no_blank_nodes_once_stored(registry):
    result = registry.register(read_file(EXAMPLES / "asset.ttl"), actor="test")
    iri = result.ids["battery-cardiff-1"]
    triples = registry.record(iri)
    assert not any(
        isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples
    )
    capacity = next(t.object for t in triples if t.predicate == FDI.exportCapacity)
    assert capacity.value == iri + "#exportCapacity"


def test_a_failed_submission_stores_nothing(registry, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text((EXAMPLES / "asset.ttl").read_text().replace("2143967712809", "2143967712808"))
    before = len(registry.index.dump())
    with pytest.raises(ValidationFailed) as caught:
        registry.register(read_file(bad), actor="test")
    assert caught.value.report.violations
    assert len(registry.index.dump()) == before
    assert registry.journal.head()[0] == 0


def test_deleting_the_index_rebuilds_it_identically_from_the_journal(disk_settings):
    registry = Registry(disk_settings)
    register_examples(registry)
    before = canonical(registry.index.dump())
    registry.close()
    del registry
    shutil.rmtree(disk_settings.data_dir / "index")

    rebuilt = Registry(disk_settings)
    assert rebuilt.replayed == len(SUBMISSIONS)
    assert canonical(rebuilt.index.dump()) == before
    assert rebuilt.counts()["asset"] == 6
    rebuilt.close()


def test_an_index_behind_the_journal_catches_up_on_start(disk_settings):
    registry = Registry(disk_settings)
    register_examples(registry)
    registry.close()
    # Simulate a crash between the journal write and the index update: append to the journal
    # (and its derived tables, written in the entry's own transaction) only.
    from registry.assembly import derive_tables
    from registry.store.journal import Journal

    journal = Journal(disk_settings.data_dir / "journal.sqlite")
    last = list(journal.entries())[-1]
    journal.append(
        "2026-01-01T00:00:00Z", "test", last.kind, _renamed(last.payload), derive=derive_tables
    )
    journal.close()
    reopened = Registry(disk_settings)
    assert reopened.replayed == 1
    assert reopened.index.applied_seq() == len(SUBMISSIONS) + 1
    reopened.close()


def _renamed(payload):
    records = []
    for r in payload["records"]:
        new = r["iri"] + "-copy"
        records.append({**r, "iri": new, "nt": r["nt"].replace(r["iri"], new)})
    return {"records": records}


def test_writes_are_journaled_before_they_are_visible(registry):
    registry.register(read_file(EXAMPLES / "organisation.ttl"), actor="alice")
    entry = list(registry.journal.entries())[-1]
    assert entry.actor == "alice"
    assert registry.index.applied_seq() == entry.seq


def _big_entry(count: int) -> list[RecordChange]:
    graph = ox.NamedNode("http://registry.test/graph/public")
    p = ox.NamedNode("http://registry.test/p")
    return [
        RecordChange(
            graph,
            ox.NamedNode(f"http://registry.test/id/asset/{i}"),
            [
                ox.Triple(ox.NamedNode(f"http://registry.test/id/asset/{i}"), p, ox.Literal(str(n)))
                for n in range(4)
            ],
            new=True,
        )
        for i in range(count)
    ]


def test_a_big_added_entry_is_ingested_in_bulk_and_a_replay_of_it_changes_nothing(tmp_path):
    changes = _big_entry(BULK_QUADS // 4 + 10)  # above the bulk threshold
    index = OxigraphIndex(tmp_path / "index")
    index.apply(1, changes[:3])
    index.apply(2, changes)
    assert index.applied_seq() == 2 and index.content_seq() == 2
    stored = {q for q in index.dump() if q.graph_name != META_GRAPH}
    assert stored == {
        ox.Quad(t.subject, t.predicate, t.object, c.graph) for c in changes for t in c.triples
    }
    # A crash after the ingestion and before the marker: start-up applies the entry again.
    index.apply(2, changes)
    assert {q for q in index.dump() if q.graph_name != META_GRAPH} == stored
    index.close()
    reopened = OxigraphIndex(tmp_path / "index")
    assert reopened.applied_seq() == 2
    assert {q for q in reopened.dump() if q.graph_name != META_GRAPH} == stored
    reopened.close()


def test_a_bulk_registration_rebuilds_identically_from_the_journal(disk_settings):
    from registry.operations.demo import generate, local_iri
    from registry.submissions.csvformat import asset_triples
    from registry.submissions.formats import Parsed

    registry = Registry(disk_settings)
    demo = generate(400)
    registry.register(
        Parsed("orgs", "turtle", [t for o in demo.organisations for t in o.triples()]), actor="t"
    )
    rows = list(demo.asset_rows)
    triples = [t for row in rows for t in asset_triples(local_iri(row["id"]), row)]
    assert len(triples) >= BULK_QUADS  # the chunk takes the bulk path
    registry.register(Parsed("assets", "turtle", triples), actor="t")
    assert registry.counts()["asset"] == 400
    before = canonical(registry.index.dump())
    registry.close()
    del registry
    shutil.rmtree(disk_settings.data_dir / "index")
    rebuilt = Registry(disk_settings)
    assert canonical(rebuilt.index.dump()) == before
    rebuilt.close()
