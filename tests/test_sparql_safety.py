"""A public SPARQL endpoint that no query can hurt (docs/facts.md, fact 4), on the on-disk index.

The registry runs under uvicorn on 127.0.0.1 with queries in worker processes and a short time
limit. A query that would run for hours is stopped at the limit while registrations and other
readers carry on; ``SERVICE`` never reaches a host off the allow-list, and reaches a peer on
it; deep nesting is refused and cannot take the server down; results are capped; ``GRAPH ?g``
sees only the permitted graphs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi import FastAPI, Request

from api.app import create_app
from api.auth import current_principal
from registry.assembly import Registry
from registry.base.errors import QueryFailed, QueryRefused
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.operations.demo_files import load_demo
from registry.operations.demo_identifiers import mpan_check_digit
from registry.query.query import check_query
from registry.query.sparql_pool import resident_bytes
from registry.store.index_protocol import RecordChange
from tests.conftest import BASE, EXAMPLES
from tests.servers import serve, wait_until
from tests.trust import Onboarding

LIMIT = 1.5  # seconds
JSON = {"Accept": "application/sparql-results+json"}
# A three-way cross product under a filter nothing passes: COUNT must see every combination.
RUNAWAY = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?q ?y . ?c ?r ?z . "
    "FILTER(STRLEN(CONCAT(STR(?x), STR(?y), STR(?z))) < 0) }"
)
# The same filter over 20 x N pairs, to measure how fast pairs are checked.
SLICE = (
    "SELECT (COUNT(*) AS ?n) WHERE { { SELECT ?x WHERE { ?a ?p ?x } LIMIT 20 } ?b ?q ?y . "
    "FILTER(STRLEN(CONCAT(STR(?x), STR(?y))) < 0) }"
)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


# Requests with this header come from an onboarded flexibility service provider (registering
# needs one); the others are anonymous.
AS_FSP = {"X-Test-As": "fsp"}


@dataclass
class Running:
    url: str
    app: FastAPI

    def sparql(
        self, query: str, accept: str = JSON["Accept"], as_fsp: bool = False, **params: str
    ) -> httpx.Response:
        headers = {"Content-Type": "application/sparql-query", "Accept": accept}
        headers |= AS_FSP if as_fsp else {}
        return httpx.post(
            self.url + "sparql", params=params, content=query, headers=headers, timeout=30
        )

    def count(self, as_fsp: bool = False) -> int:
        answer = self.sparql(COUNT, as_fsp=as_fsp)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def with_test_fsp(app: FastAPI, company_number: str) -> FastAPI:
    """Let requests carrying ``AS_FSP`` act as an onboarded FSP."""
    member = Onboarding.of(app).member("Safety Flex Ltd", company_number).principal

    def principal(request: Request) -> Principal:
        return member if request.headers.get("x-test-as") == "fsp" else Principal.anonymous()

    app.dependency_overrides[current_principal] = principal
    return app


@pytest.fixture(scope="module")
def peer() -> Iterator[Running]:
    """Another registry (in memory) with an FSP in its public directory, allow-listed by
    ``registry``."""
    app = with_test_fsp(
        create_app(Settings(data_dir=None, base_iri="http://peer.test/")), "07070707"
    )
    with serve(app) as url:
        yield Running(url, app)
    app.state.registry.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, peer: Running) -> Iterator[Running]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("safety") / "data",
        base_iri=BASE,
        query_timeout=LIMIT,
        query_workers=2,
        max_results=50,
        federation_peers=peer.url + "sparql",
    )
    app = with_test_fsp(create_app(settings), "08080808")
    load_demo(app.state.registry, assets=200)
    with serve(app) as url:
        yield Running(url, app)
    app.state.registry.close()


def listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.accept()[0].close()
            count += 1
        except BlockingIOError:
            return count


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has used, from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_a_busy_worker(registry: Running) -> None:
    """Until a query worker runs a query: its CPU time grows (a worker is listed once ready,
    and an idle one uses none)."""
    pool = registry.app.state.registry.sparql.runner()
    seen: dict[int, float] = {}

    def busy() -> bool:
        for pid in pool.workers():
            spent = cpu_seconds(pid)
            if spent > seen.setdefault(pid, spent):
                return True
        return False

    wait_until(busy, 20, "a query worker at work", interval=0.01)


def asset_variant(n: int) -> bytes:
    """examples/asset.ttl as another battery: its own MPAN (check digit right) and serial."""
    first12 = f"21{n:010d}"
    mpan = first12 + str(mpan_check_digit(first12))
    text = (EXAMPLES / "asset.ttl").read_text()
    return (
        text.replace("2143967712809", mpan)
        .replace("TG1234567890", f"TG-SAFETY-{n}")
        .replace("battery-cardiff-1", f"battery-safety-{n}")
        .encode()
    )


# --- a runaway query -------------------------------------------------------------------------


def test_a_query_that_would_run_for_hours_is_stopped_at_the_limit(registry: Running) -> None:
    index = registry.app.state.registry.index
    graphs = registry.app.state.registry.dataset_for(None)
    triples = int(next(iter(index.query(COUNT, graphs)))["n"].value)  # type: ignore[call-overload]
    started = time.perf_counter()
    list(index.query(SLICE, graphs))  # type: ignore[call-overload]
    pairs_per_second = 20 * triples / (time.perf_counter() - started)
    assert triples**3 / pairs_per_second > 3600  # the runaway would need more than an hour

    started = time.perf_counter()
    answer = registry.sparql(RUNAWAY)
    took = time.perf_counter() - started
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Query time limit reached"
    assert LIMIT <= took < LIMIT + 2


def test_registrations_and_readers_carry_on_during_runaway_queries(registry: Running) -> None:
    before = registry.count(as_fsp=True)
    stopped: list[int] = []

    def runaway() -> None:
        stopped.append(registry.sparql(RUNAWAY).status_code)

    runaways = [threading.Thread(target=runaway) for _ in range(1)]  # the other worker reads
    for thread in runaways:
        thread.start()
    wait_for_a_busy_worker(registry)

    def register(n: int) -> tuple[int, float]:
        started = time.perf_counter()
        answer = httpx.post(
            registry.url + "submissions",
            content=asset_variant(n),
            headers={"Content-Type": "text/turtle", **AS_FSP},
            timeout=30,
        )
        return answer.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(4) as pool:
        registered = list(pool.map(register, range(1, 9)))
    # Another requester: the runaway's own requester waits for its fair share (fair_share.py).
    read = registry.sparql("ASK { ?s ?p ?o }", as_fsp=True)
    runaway_running = any(thread.is_alive() for thread in runaways)
    for thread in runaways:
        thread.join()
    assert runaway_running and stopped == [503]
    assert [status for status, _ in registered] == [201] * 8
    assert max(seconds for _, seconds in registered) < LIMIT  # none waited for the query
    assert read.status_code == 200 and read.json()["boolean"] is True
    # Read-only handles are reopened for later registrations: a query sees them.
    assert registry.count(as_fsp=True) > before


def test_a_worker_killed_mid_query_is_replaced(registry: Running) -> None:
    endpoint = registry.app.state.registry.sparql
    registry.count()
    pool = endpoint.runner()
    before = set(pool.workers())
    answers: list[int] = []
    thread = threading.Thread(target=lambda: answers.append(registry.sparql(RUNAWAY).status_code))
    thread.start()
    wait_for_a_busy_worker(registry)
    for pid in before:  # one of them is running the runaway; kill both
        os.kill(pid, signal.SIGKILL)
    thread.join()
    assert answers == [502]
    assert registry.count() > 0
    assert not before & set(pool.workers())


# --- SERVICE ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "PREFIX h: <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE h:sparql { ?s ?p ?o } }",
        "BASE <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { VALUES ?e { <http://127.0.0.1:{port}/sparql> } SERVICE ?e { ?s ?p ?o } }",
        # Regression: the first check read "\\#" in a prefixed name as the start of a comment
        # and let this through; pyoxigraph then connected to the port.
        "PREFIX e: <urn:e:> SELECT * WHERE { BIND(e:p\\#x AS ?z) "
        "SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o FILTER(?o != '#') "
        "SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
    ],
    ids=["iri", "lower-case-silent", "prefixed", "relative", "variable", "escape", "quote"],
)
def test_service_to_a_host_off_the_allow_list_is_refused_without_connecting(
    registry: Running, query: str
) -> None:
    sock = listening()
    port = sock.getsockname()[1]
    answer = registry.sparql(query.replace("{port}", str(port)))
    time.sleep(0.2)  # the behaviour: no connection arrives, even late
    assert answer.status_code == 400
    assert "SERVICE" in answer.json()["detail"]
    assert connections(sock) == 0
    sock.close()


def test_service_to_an_allow_listed_peer_answers(registry: Running, peer: Running) -> None:
    query = (
        "PREFIX fdi: <https://w3id.org/fdi/ns#> SELECT ?org WHERE { "
        f'SERVICE <{peer.url}sparql> {{ ?org fdi:companyNumber "07070707" }} }}'
    )
    answer = registry.sparql(query)
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["results"]["bindings"]
    assert row["org"]["value"].startswith("http://peer.test/id/org/")


def test_service_in_a_string_or_an_iri_is_only_text(registry: Running) -> None:
    query = (
        "SELECT * WHERE { BIND('SERVICE <http://127.0.0.1:9/>' AS ?x) BIND(<urn:SERVICE> AS ?y) }"
    )
    assert registry.sparql(query).status_code == 200


# --- size and nesting ------------------------------------------------------------------------


def test_a_query_nested_5000_brackets_deep_is_refused_and_the_server_still_answers(
    registry: Running,
) -> None:
    answer = registry.sparql("SELECT * WHERE " + "{" * 5000 + "}" * 5000)
    assert answer.status_code == 400
    assert "nests brackets 5000 deep" in answer.json()["detail"]
    assert registry.count() > 0


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("ASK { FILTER(" + "!" * 5000 + "true) }", "unary operators"),
        ("ASK { FILTER(" + "+".join(["1"] * 5000) + ") }", "operators"),
        ("ASK {" + "MINUS{}" * 2500 + "}", "operators"),
        ("ASK { FILTER(?a<" + "(" * 3000 + "1" + ")" * 3000 + ">?b) }", "nests brackets"),
        ("ASK { FILTER(?a<" + "!" * 5000 + "1>?b) }", "unary operators"),
        ("ASK {}" + " " * 20_001, "characters long"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "updates"),
        ("LOAD <http://127.0.0.1:9/data.ttl>", "LOAD"),
    ],
    ids=[
        "not-chain",
        "plus-chain",
        "minus-chain",
        "brackets-in-fake-iri",
        "not-in-fake-iri",
        "size",
        "update",
        "load",
    ],
)
def test_queries_that_could_overflow_the_parser_or_write_are_refused(
    query: str, reason: str
) -> None:
    with pytest.raises(QueryRefused, match=reason):
        check_query(query)


def test_a_query_that_needs_too_much_memory_stops_with_its_worker(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        base_iri=BASE,
        query_memory_mb=768,
        query_timeout=30,
        query_workers=1,
    )
    registry = Registry(settings)
    load_demo(registry, assets=200)
    permitted = registry.dataset_for(None)
    try:
        started = time.perf_counter()
        with pytest.raises(QueryFailed, match="stopped"):  # a sort of 22 million rows
            registry.sparql.answer("SELECT * { ?a ?p ?x . ?b ?q ?y } ORDER BY ?x ?y", permitted)
        assert time.perf_counter() - started < 15
        assert registry.sparql.answer("ASK { ?s ?p ?o }", permitted).body.endswith(b"true}")
    finally:
        registry.close()


@pytest.mark.parametrize("recycle_mb", [1, 256])
def test_a_worker_left_bigger_than_the_recycle_size_is_replaced_after_answering(
    tmp_path: Path, recycle_mb: int
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        base_iri=BASE,
        query_workers=1,
        query_worker_recycle_mb=recycle_mb,
    )
    registry = Registry(settings)
    load_demo(registry, assets=20)
    permitted = registry.dataset_for(None)
    try:
        pool = registry.sparql.runner()
        answered = []
        for _ in range(3):
            assert registry.sparql.answer("ASK { ?s ?p ?o }", permitted).body.endswith(b"true}")
            answered += wait_until(pool.workers, 30, "a query worker")
        resident = resident_bytes(answered[-1])
        assert 10 * 1024 * 1024 < resident < 256 * 1024 * 1024  # an idle worker: tens of MiB
        if recycle_mb == 1:  # every worker is above 1 MiB: each one answers once
            assert len(set(answered)) == 3
        else:
            assert len(set(answered)) == 1
    finally:
        registry.close()


def test_queries_see_every_write_before_them_and_snapshots_do_not_pile_up(tmp_path: Path) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE, query_workers=2))
    public = registry.dataset_for(None)
    snapshots = tmp_path / "data" / "index-snapshots"

    def count() -> int:
        body = registry.sparql.answer(COUNT, public).body
        return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])

    try:
        for n in range(1, 7):
            subject = ox.NamedNode(f"{BASE}id/test/{n}")
            label = ox.Triple(subject, ox.NamedNode(RDFS_LABEL), ox.Literal(str(n)))
            registry.index.apply(n, [RecordChange(public[0], subject, [label], new=True)])
            assert count() == n
            assert count() == n  # the same snapshot serves a second query
            assert len(list(snapshots.iterdir())) <= 3  # the newest, and one per worker
    finally:
        registry.close()
    assert not snapshots.exists()


def test_queries_racing_writes_each_get_a_whole_snapshot(tmp_path: Path) -> None:
    registry = Registry(Settings(data_dir=tmp_path / "data", base_iri=BASE, query_workers=3))
    public = registry.dataset_for(None)

    def write_in_order() -> None:  # one writer at a time, as the registry's write lock ensures
        for n in range(1, 31):
            subject = ox.NamedNode(f"{BASE}id/test/{n}")
            label = ox.Triple(subject, ox.NamedNode(RDFS_LABEL), ox.Literal(str(n)))
            registry.index.apply(n, [RecordChange(public[0], subject, [label], new=True)])

    def read(_: int) -> int:
        body = registry.sparql.answer(COUNT, public).body
        return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])

    try:
        with ThreadPoolExecutor(6) as pool:
            writer = pool.submit(write_in_order)
            counts = list(pool.map(read, range(60)))
            writer.result()
        assert all(0 <= n <= 30 for n in counts)
        assert read(0) == 30
    finally:
        registry.close()


def test_the_query_threads_survive_the_deepest_query_the_size_limit_allows() -> None:
    """Safety net under the checks: 10,000 nested brackets crash a default 8 MB stack
    (docs/facts.md, fact 4); the query threads' stack holds them. In a subprocess, in case it
    does not."""
    code = (
        "import pyoxigraph as ox\n"
        "from registry.query.query import Dataset\n"
        "from registry.query.sparql_endpoint import InProcessRunner\n"
        "from registry.query.sparql_results import QueryRequest, store_query\n"
        "runner = InProcessRunner(store_query(ox.Store()), 1)\n"
        "text = 'SELECT * WHERE ' + '{' * 9990 + '}' * 9990\n"
        "request = QueryRequest(text, Dataset((), ()), 'text/csv', 'text/turtle', 10)\n"
        "print(runner.run(request, 60).count)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_ordinary_queries_pass_the_checks() -> None:
    check_query(
        "PREFIX fdi: <https://w3id.org/fdi/ns#> # a comment with SERVICE <x> and { brackets\n"
        "SELECT ?a (COUNT(*) AS ?n) WHERE { ?a fdi:mpanCore ?m ; <http://x.example/p#(1)> ?o .\n"
        "FILTER(?m != \"SERVICE { ((( \" && STRSTARTS(?m, '21')) } GROUP BY ?a ORDER BY DESC(?n)"
    )


# --- results and dataset ---------------------------------------------------------------------


def test_results_are_capped_and_the_answer_says_so(registry: Running) -> None:
    answer = registry.sparql("SELECT ?s WHERE { ?s ?p ?o }")
    assert len(answer.json()["results"]["bindings"]) == 50
    assert answer.headers["fdi-results-truncated"] == "true"
    assert answer.headers["fdi-result-limit"] == "50"
    few = registry.sparql("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3")
    assert "fdi-results-truncated" not in few.headers


def test_graph_variables_see_only_the_permitted_graphs(registry: Running) -> None:
    public = BASE + "graph/public"
    graphs = registry.sparql("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").json()
    assert [b["g"]["value"] for b in graphs["results"]["bindings"]] == [public]
    # The journal markers' graph exists in the store, but not for requesters, however asked.
    markers = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"
    for params in ({"named-graph-uri": "urn:fdi:index"}, {"default-graph-uri": "urn:fdi:index"}):
        assert registry.sparql(markers, **params).json()["results"]["bindings"] == []
    assert (
        registry.sparql("SELECT * FROM <urn:fdi:index> WHERE { ?s ?p ?o }").json()["results"][
            "bindings"
        ]
        == []
    )
    assert registry.sparql("ASK { GRAPH <urn:fdi:index> { ?s ?p ?o } }").json()["boolean"] is False


def test_the_service_description_names_the_endpoint_and_its_dataset(registry: Running) -> None:
    answer = httpx.get(registry.url + "sparql", headers={"Accept": "text/turtle"}, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/turtle")
    triples = [q.triple for q in ox.parse(answer.content, format=ox.RdfFormat.TURTLE)]
    sd = "http://www.w3.org/ns/sparql-service-description#"
    endpoint = ox.NamedNode(BASE + "sparql")
    assert ox.Triple(endpoint, ox.NamedNode(sd + "endpoint"), endpoint) in triples
    names = {t.object for t in triples if t.predicate == ox.NamedNode(sd + "name")}
    assert names == {ox.NamedNode(BASE + "graph/public")}
    assert (
        ox.Triple(endpoint, ox.NamedNode(sd + "feature"), ox.NamedNode(sd + "BasicFederatedQuery"))
        in triples
    )


# --- the documented client -----------------------------------------------------------------


@pytest.mark.parametrize("document", ["README.md", "docs/sparql.md"])
def test_the_documented_sparqlwrapper_example_runs(
    registry: Running, document: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES.parent / document).read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    [example] = [b for b in blocks if "SPARQLWrapper(" in b]
    exec(example.replace("http://127.0.0.1:8000/", registry.url), {})  # noqa: S102
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(line.strip() for line in lines)
