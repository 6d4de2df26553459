"""The W3C SPARQL 1.1 Protocol tests, read from their manifest and run against ``/sparql``.

The manifest (``conformance/sparql-protocol/protocol/manifest.ttl`` in the shared folder beside
the repository, or under ``FDI_SHARED_DIR``) describes each test as HTTP requests in the
HTTP-in-RDF vocabulary with the expected status, result format and boolean. Every query test
runs here, twice: on the on-disk index (queries in worker processes) and in memory (queries in
threads). The data files are loaded into the named graphs the tests name, and the requester's
permitted graphs include them.

The update tests are not applicable: the registry has no SPARQL Update endpoint by design
(:data:`NOT_APPLICABLE`, also in docs/sparql.md); a test checks that each of their requests is
refused and changes nothing.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection

from api.app import create_app
from registry.base.settings import Settings
from tests.conftest import BASE


def _shared_dir() -> Path:
    beside = Path(__file__).resolve().parents[2] / "shared"
    return Path(os.environ.get("FDI_SHARED_DIR") or beside)


PROTOCOL = _shared_dir() / "conformance" / "sparql-protocol" / "protocol"
MANIFEST = PROTOCOL / "manifest.ttl"
if not MANIFEST.exists():
    pytest.skip(
        f"no SPARQL protocol manifest at {MANIFEST}: put the shared folder beside the repository "
        "or set FDI_SHARED_DIR",
        allow_module_level=True,
    )

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"

UPDATE_REASON = (
    "the registry has no SPARQL Update endpoint: it is written only through its submissions, "
    "which are validated against the published shapes, journaled (fsync'd, hash-chained) and "
    "applied to the index from the journal; a SPARQL Update would bypass all three, and the "
    "index would no longer be rebuildable from the journal"
)
MALFORMED_UPDATE_REASON = (
    "checks how an update endpoint refuses a malformed update; with no update endpoint, every "
    "update request is refused (400 or 415), which test_update_requests_are_refused checks"
)
NOT_APPLICABLE = {
    "update_dataset_default_graph": UPDATE_REASON,
    "update_dataset_default_graphs": UPDATE_REASON,
    "update_dataset_named_graphs": UPDATE_REASON,
    "update_dataset_full": UPDATE_REASON,
    "update_post_form": UPDATE_REASON,
    "update_post_direct": UPDATE_REASON,
    "update_base_uri": UPDATE_REASON,
    "bad_update_get": MALFORMED_UPDATE_REASON,
    "bad_multiple_updates": MALFORMED_UPDATE_REASON,
    "bad_update_wrong_media_type": MALFORMED_UPDATE_REASON,
    "bad_update_missing_form_type": MALFORMED_UPDATE_REASON,
    "bad_update_non_utf8": MALFORMED_UPDATE_REASON,
    "bad_update_syntax": MALFORMED_UPDATE_REASON,
    "bad_update_dataset_conflict": MALFORMED_UPDATE_REASON,
}

BOOLEAN_MEDIA = {
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "application/json",
    "application/xml",
}
TABULAR_MEDIA = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDF_MEDIA = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[str]  # "2xx", "3xx", "4xx"
    result_format: str | None
    boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    graphs: dict[str, Path]  # graph IRI → data file
    requests: tuple[HttpRequest, ...]


def read_manifest() -> list[ProtocolTest]:
    graph = Graph().parse(MANIFEST, format="turtle", publicID=MANIFEST.as_uri())
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    entries = Collection(graph, graph.value(manifest, MF.entries))
    return [_read_test(graph, entry) for entry in entries]


def _read_test(graph: Graph, test: URIRef) -> ProtocolTest:
    data = {}
    for node in graph.objects(test, UT.graphData):
        data[str(graph.value(node, RDFS.label))] = (
            PROTOCOL / Path(str(graph.value(node, UT.graph))).name
        )
    action = graph.value(test, MF.action)
    requests = Collection(graph, graph.value(action, HT.requests))
    return ProtocolTest(
        str(test).rsplit("#", 1)[-1], data, tuple(_read_request(graph, r) for r in requests)
    )


def _read_request(graph: Graph, node: URIRef) -> HttpRequest:
    headers = {}
    if (listed := graph.value(node, HT.headers)) is not None:
        for header in Collection(graph, listed):
            headers[str(graph.value(header, HT.fieldName))] = str(
                graph.value(header, HT.fieldValue)
            )
    body = None
    if (content := graph.value(node, HT.body)) is not None:
        encoding = str(graph.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(content, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    boolean = graph.value(response, MF.expectedBoolean)
    result_format = graph.value(response, MF.expectedFormat)
    return HttpRequest(
        method=str(graph.value(node, HT.methodName)),
        # "A program using this manifest ... must replace this value with whatever path prefix
        # is appropriate for the endpoint being tested": the registry's is /sparql.
        path="/sparql" + str(graph.value(node, HT.absolutePath)).removeprefix("/sparql/"),
        headers=headers,
        body=body,
        statuses=frozenset(
            str(s).removeprefix(HTS) for s in graph.objects(response, MF.expectedStatus)
        ),
        result_format=None if result_format is None else str(result_format),
        boolean=None if boolean is None else boolean.toPython(),
    )


TESTS = read_manifest()
UPDATE_TESTS = {t.name for t in TESTS if "update" in t.name}
QUERY_TESTS = [t for t in TESTS if t.name not in UPDATE_TESTS]
DATA = {iri: path for t in TESTS for iri, path in t.graphs.items()}


@pytest.fixture(scope="module", params=["disk", "memory"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("protocol") / "data" if request.param == "disk" else None
    app = create_app(Settings(data_dir=data_dir, base_iri=BASE, store="", query_timeout=10))
    registry = app.state.registry
    # The test data goes straight into the index (before the first query starts the workers),
    # in the graphs the tests name, and the requester may read those graphs.
    for iri, path in DATA.items():
        quads = ox.parse(path.read_bytes(), format=ox.RdfFormat.N_TRIPLES)
        registry.index.store.extend(
            ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(iri)) for q in quads
        )
    public = registry.dataset_for(None)
    registry.dataset_for = lambda principal: [*public, *(ox.NamedNode(g) for g in DATA)]
    with TestClient(app) as c:
        yield c


def send(client: TestClient, http: HttpRequest):  # type: ignore[no-untyped-def]
    return client.request(http.method, http.path, headers=http.headers, content=http.body)


@pytest.mark.parametrize("test", QUERY_TESTS, ids=lambda t: t.name)
def test_protocol_query_test(client: TestClient, test: ProtocolTest) -> None:
    assert set(test.graphs) <= set(DATA)
    for http in test.requests:
        response = send(client, http)
        assert f"{response.status_code // 100}xx" in http.statuses, response.text
        media = response.headers.get("content-type", "").split(";")[0]
        if http.result_format == "boolean":
            assert media in BOOLEAN_MEDIA
            assert _boolean(media, response.content) in (True, False)
        elif http.result_format == "tabular":
            assert media in TABULAR_MEDIA
            assert list(ox.parse_query_results(response.content, format=TABULAR_MEDIA[media]))
        elif http.result_format == "RDF":
            assert media in RDF_MEDIA
            list(ox.parse(response.content, format=RDF_MEDIA[media]))
        if http.boolean is not None:
            assert _boolean(media, response.content) is http.boolean


def _boolean(media: str, body: bytes) -> bool:
    if "json" in media:
        return json.loads(body)["boolean"]  # type: ignore[no-any-return]
    found = ET.fromstring(body).find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert found is not None
    return found.text == "true"


def test_every_update_test_is_listed_as_not_applicable_with_its_reason() -> None:
    assert set(NOT_APPLICABLE) == UPDATE_TESTS
    assert (len(QUERY_TESTS), len(UPDATE_TESTS), len(TESTS)) == (20, 14, 34)


@pytest.mark.parametrize("name", sorted(UPDATE_TESTS))
def test_update_requests_are_refused(client: TestClient, name: str) -> None:
    before = client.app.state.registry.index.dump()
    test = next(t for t in TESTS if t.name == name)
    for http in test.requests:
        if http.headers.get("content-type") == "application/sparql-query":
            continue  # the read-back query of a positive update test
        assert send(client, http).status_code in (400, 405, 415)
    assert client.app.state.registry.index.dump() == before
