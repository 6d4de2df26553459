"""The index on an external SPARQL 1.1 store (registry.store.remote_index), against a real
``oxigraph serve``: the one ``.ci/run`` starts (FDI_TEST_SPARQL_URL), or one started here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from registry.assembly import Registry
from registry.base.errors import StoreUnavailable
from registry.base.settings import Settings
from registry.store.index import OxigraphIndex
from registry.store.index_protocol import META_GRAPH, RecordChange
from registry.store.indexes import open_index
from registry.store.remote_index import OLD_MARKERS, RemoteIndex
from registry.store.sparql_text import bind
from registry.submissions.formats import read_bytes
from tests.conftest import BASE, EXAMPLES, store_urls
from tests.servers import free_port, oxigraph_binary, oxigraph_server

EX = "http://registry.test/id/asset/1"
G = ox.NamedNode(BASE + "graph/public")
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The store's ``sparql_query_url`` and ``sparql_update_url`` settings."""
    given = store_urls()
    if given:
        yield {"sparql_query_url": given[0], "sparql_update_url": given[1]}
        return
    if oxigraph_binary() is None:
        pytest.skip("the oxigraph server is not installed (pip install oxigraph)")
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as url:
        yield {"sparql_query_url": url + "/query", "sparql_update_url": url + "/update"}


@pytest.fixture
def remote(endpoints: dict[str, str]) -> RemoteIndex:
    index = RemoteIndex(*endpoints.values(), graph_prefix=BASE + "graph/")
    index.clear()
    return index


def _record(subject: str, value: str, datatype: str = XSD + "decimal") -> RecordChange:
    s = ox.NamedNode(subject)
    cap = ox.NamedNode(subject + "#exportCapacity")
    p = ox.NamedNode("https://w3id.org/fdi/ns#exportCapacity")
    v = ox.NamedNode("http://qudt.org/schema/qudt/numericValue")
    triples = [
        ox.Triple(s, p, cap),
        ox.Triple(
            cap,
            v,
            ox.Literal(value, datatype=ox.NamedNode(datatype)),
        ),
    ]
    return RecordChange(G, s, triples, new=True)


def _same_changes(*indexes: object) -> None:
    for index in indexes:
        index.apply(1, [_record(EX, "5.0")])  # type: ignore[attr-defined]
        change = _record(EX, '7.5 "quoted"\nline', XSD + "string")
        index.apply(2, [RecordChange(change.graph, change.subject, change.triples, new=False)])  # type: ignore[attr-defined]


def test_an_empty_store_has_applied_nothing(remote: RemoteIndex) -> None:
    assert remote.applied_seq() == 0


def test_apply_replaces_a_record_and_moves_the_marker(remote: RemoteIndex) -> None:
    _same_changes(remote)
    assert remote.applied_seq() == 2
    values = [
        q.object.value
        for q in remote.quads(None, ox.NamedNode("http://qudt.org/schema/qudt/numericValue"), None)
    ]
    assert values == ['7.5 "quoted"\nline']


def test_the_store_holds_what_the_embedded_index_holds(remote: RemoteIndex) -> None:
    embedded = OxigraphIndex(None)
    _same_changes(remote, embedded)
    assert set(remote.dump()) == set(embedded.dump())


def test_record_quads_follow_fragment_nodes(remote: RemoteIndex) -> None:
    _same_changes(remote)
    quads = remote.record_quads(G, ox.NamedNode(EX))
    assert {q.subject.value for q in quads} == {EX, EX + "#exportCapacity"}
    assert all(q.graph_name == G for q in quads)


def test_quads_leave_out_the_marker_graph(remote: RemoteIndex) -> None:
    _same_changes(remote)
    assert all(q.graph_name != META_GRAPH for q in remote.quads(None, None, None))
    assert remote.graphs() == [G]


def test_query_results_are_pyoxigraph_objects(remote: RemoteIndex) -> None:
    _same_changes(remote)
    solutions = remote.query(
        "SELECT ?s ?o WHERE { ?s ?p ?o }", [G], {ox.Variable("s"): ox.NamedNode(EX)}
    )
    assert isinstance(solutions, ox.QuerySolutions)
    assert [row["o"].value for row in solutions] == [EX + "#exportCapacity"]
    assert bool(remote.query("ASK { ?s ?p ?o }", [G])) is True
    assert isinstance(remote.query("ASK { ?s ?p ?o }", [G]), ox.QueryBoolean)
    triples = remote.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", [G])
    assert isinstance(triples, ox.QueryTriples)
    assert len(list(triples)) == 2


def test_query_sees_only_the_graphs_given(remote: RemoteIndex) -> None:
    _same_changes(remote)
    other = ox.NamedNode(BASE + "graph/members")
    assert not bool(remote.query("ASK { ?s ?p ?o }", [other]))
    assert not bool(remote.query("ASK { GRAPH ?g { ?s ?p ?o } }", [other]))
    assert bool(remote.query("ASK { ?s ?p ?o }", None))  # the union of the registry's graphs


def test_a_malformed_query_is_a_syntax_error(remote: RemoteIndex) -> None:
    with pytest.raises(SyntaxError):
        remote.query("SELECT WHERE {", [G])


def test_an_unreachable_store_is_reported() -> None:
    port = free_port()
    index = RemoteIndex(
        f"http://127.0.0.1:{port}/query", f"http://127.0.0.1:{port}/update", timeout=2
    )
    with pytest.raises(StoreUnavailable):
        index.applied_seq()


def test_substitutions_open_the_outer_group() -> None:
    s = {ox.Variable("x"): ox.Literal('a "b"')}
    assert bind("CONSTRUCT { ?x ?p ?o } WHERE { ?x ?p ?o }", s).endswith(
        'WHERE { VALUES (?x) { ("a \\"b\\"") } ?x ?p ?o }'
    )
    assert bind('ASK { ?x ?p "{" }', s).startswith("ASK { VALUES (?x)")


def test_settings_choose_the_index(endpoints: dict[str, str], tmp_path: Path) -> None:
    remote = open_index(
        Settings(
            data_dir=None,
            store="sparql",
            **endpoints,
        )
    )
    assert isinstance(remote, RemoteIndex)
    assert isinstance(open_index(Settings(data_dir=None)), OxigraphIndex)
    assert isinstance(open_index(Settings(data_dir=tmp_path)), OxigraphIndex)


def test_a_registry_registers_and_queries_on_the_external_store(
    remote: RemoteIndex, endpoints: dict[str, str]
) -> None:
    settings = Settings(
        data_dir=None,
        base_iri=BASE,
        store="sparql",
        **endpoints,
    )
    registry = Registry(settings)
    parsed = read_bytes(
        (EXAMPLES / "organisation.ttl").read_bytes(), "turtle", source="organisation.ttl"
    )
    registration = registry.register(parsed, "test")
    iri = next(iter(registration.ids.values()))
    assert registry.record(iri)
    assert registry.counts()["org"] == 1
    assert remote.applied_seq() == registration.seq


def test_a_registry_catches_up_an_emptied_store(
    remote: RemoteIndex, endpoints: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        base_iri=BASE,
        store="sparql",
        **endpoints,
    )
    registry = Registry(settings)
    parsed = read_bytes(
        (EXAMPLES / "organisation.ttl").read_bytes(), "turtle", source="organisation.ttl"
    )
    registry.register(parsed, "test")
    before = set(remote.dump())
    registry.close()
    remote.clear()
    reopened = Registry(settings)
    assert reopened.replayed >= 1
    assert set(remote.dump()) == before


def test_an_empty_dataset_sees_nothing(remote: RemoteIndex) -> None:
    _same_changes(remote)
    assert not bool(remote.query("ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }", []))


def test_only_the_newest_marker_is_kept(remote: RemoteIndex) -> None:
    _same_changes(remote)
    markers = remote.query("SELECT ?seq WHERE { GRAPH ?g { ?i ?p ?seq } }", [META_GRAPH])
    assert [row["seq"].value for row in markers] == ["2"]  # type: ignore[union-attr]
    assert f"GRAPH <{META_GRAPH.value}>" in OLD_MARKERS


def test_typed_literals_read_back_as_the_embedded_index_gives_them(remote: RemoteIndex) -> None:
    embedded = OxigraphIndex(None)
    s = ox.NamedNode(EX)
    values = [("1.50E2", "double"), ("2026-01-01T10:00:00.500+01:00", "dateTime"), ("1", "boolean")]
    triples = [
        ox.Triple(s, ox.NamedNode(f"urn:p:{i}"), ox.Literal(v, datatype=ox.NamedNode(XSD + t)))
        for i, (v, t) in enumerate(values)
    ]
    for index in (remote, embedded):
        index.apply(1, [RecordChange(G, s, triples, new=True)])
    assert set(remote.record_quads(G, s)) == set(embedded.record_quads(G, s))
    remote.apply(2, [RecordChange(G, s, [], new=False)])  # DELETE DATA of the forms read back
    assert remote.record_quads(G, s) == []


def test_clearing_leaves_the_stores_other_graphs(remote: RemoteIndex) -> None:
    other = ox.NamedNode("urn:x-test:not-the-registry")
    remote._update(f"INSERT DATA {{ GRAPH {other} {{ {other} {other} {other} }} }}")
    _same_changes(remote)
    remote.clear()
    assert remote.applied_seq() == 0 and remote.graphs() == []
    assert bool(remote.query("ASK { ?s ?p ?o }", [other]))
    remote._update(f"DROP SILENT GRAPH {other}")  # Virtuoso: DROP without SILENT fails here
