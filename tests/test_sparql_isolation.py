"""SPARQL workers have no network, and one requester's runaway queries cannot take every worker.

The workers are real processes (registry.query.sparql_pool) on an on-disk index; the fair-share test
runs over a real HTTP server.
"""

from __future__ import annotations

import http.server
import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from registry.base.errors import QueryCapacity, QueryFailed, QueryTimeout
from registry.base.settings import Settings
from registry.operations.demo_files import load_demo
from registry.query.fair_share import MAX_WAITING, FairShare
from registry.query.peer_relay import PeerRequest, _read_request, fetch
from registry.query.query import Dataset
from registry.query.sparql_results import QueryRequest
from tests.conftest import BASE
from tests.servers import serve, wait_until
from tests.test_sparql_safety import AS_FSP, RUNAWAY, connections, listening, with_test_fsp

JSON = "application/sparql-results+json"


pytestmark = pytest.mark.app(disk=True, query_workers=1, close=True)


def test_a_worker_cannot_connect_even_when_the_query_check_is_bypassed(app: FastAPI) -> None:
    sock = listening()
    port = sock.getsockname()[1]
    # Straight to the worker pool: no check_query, no allow-list, as a flaw in the check would.
    request = QueryRequest(
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
        Dataset((), ()),
        JSON,
        "text/turtle",
        max_results=10,
    )
    with pytest.raises((QueryFailed, QueryTimeout)):
        app.state.registry.sparql.runner().run(request, 5.0)
    time.sleep(0.2)  # the behaviour: no connection arrives, even late
    assert connections(sock) == 0
    sock.close()


def test_workers_run_in_a_network_namespace_of_their_own(app: FastAPI) -> None:
    pool = app.state.registry.sparql.runner()
    request = QueryRequest("ASK {}", Dataset((), ()), JSON, "text/turtle", max_results=1)
    pool.run(request, 30.0)  # starts the workers
    ours = os.readlink("/proc/self/ns/net")
    theirs = {os.readlink(f"/proc/{pid}/ns/net") for pid in pool.workers()}
    assert theirs and ours not in theirs


# --- fair scheduling -------------------------------------------------------------------------

LIMIT = 6.0  # seconds: a runaway holds its worker this long


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fair") / "data",
        base_iri=BASE,
        query_timeout=LIMIT,
        query_workers=2,
    )
    app = with_test_fsp(create_app(settings), "09090909")
    load_demo(app.state.registry, assets=200)
    with serve(app) as url:
        yield url
    app.state.registry.close()


def ask(url: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    answer = httpx.post(
        url + "sparql",
        content=query,
        headers={"Content-Type": "application/sparql-query", "Accept": JSON, **(headers or {})},
        timeout=60,
    )
    return answer.status_code, time.perf_counter() - started


def test_one_requesters_runaways_leave_a_worker_for_everyone_else(server: str) -> None:
    simple = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?t }"
    ask(server, simple, AS_FSP)  # workers started, snapshot made
    baseline = statistics.median(ask(server, simple, AS_FSP)[1] for _ in range(5))

    runaways = [threading.Thread(target=ask, args=(server, RUNAWAY)) for _ in range(3)]
    for thread in runaways:  # one anonymous client, three runaway queries
        thread.start()
    # Lead time for the runaways to take the anonymous slot and line up behind it (only the
    # server knows when they have); the test checks below that they were still running.
    time.sleep(1.0)
    status, took = ask(server, simple, AS_FSP)
    still_running = any(thread.is_alive() for thread in runaways)
    for thread in runaways:
        thread.join()

    assert status == 200
    assert took < max(1.5, 10 * baseline), f"{took:.2f} s against a baseline of {baseline:.3f} s"
    assert still_running, "the runaways ended before the simple query was asked"


def test_the_relay_calls_nothing_but_an_allow_listed_peer() -> None:
    sock = listening()
    asked = PeerRequest(1, "POST", "application/sparql-query", JSON, b"ASK {}")
    peers = (f"http://127.0.0.1:{sock.getsockname()[1]}/sparql",)
    assert fetch(peers, asked, 5.0).status == 403  # peer 1 of a list of one
    assert fetch(peers, PeerRequest(0, "DELETE", "", "", b""), 5.0).status == 403
    assert connections(sock) == 0
    sock.close()


def test_a_get_through_the_relay_reaches_the_peer_with_its_query_string() -> None:
    # The SPARQL protocol's GET carries the query in the query string: dropping it sent an
    # empty request to the peer.
    seen: list[str] = []

    class Peer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.end_headers()
            self.wfile.write(b'{"head": {}, "boolean": true}')

        def log_message(self, *args: object) -> None:
            pass

    peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    try:
        client, relay = socket.socketpair()
        client.sendall(b"GET /peer/0?query=ASK%7B%7D HTTP/1.1\r\nAccept: " + JSON.encode()
                       + b"\r\n\r\n")  # fmt: skip
        asked = _read_request(relay)
        peers = (f"http://127.0.0.1:{peer.server_address[1]}/sparql",)
        answer = fetch(peers, asked, 5.0)
    finally:
        peer.shutdown()
    assert asked.query == "query=ASK%7B%7D" and asked.peer == 0
    assert answer.status == 200 and seen == ["/sparql?query=ASK%7B%7D"]


def test_a_requester_may_queue_a_few_queries_and_no_more() -> None:
    share = FairShare(1)
    who = "anonymous 192.0.2.1"
    entered: list[int] = []

    def wait_in_line(n: int) -> None:
        with share.slot(who, 5.0):
            entered.append(n)

    with share.slot(who, 5.0):
        waiting = [threading.Thread(target=wait_in_line, args=(n,)) for n in range(MAX_WAITING)]
        for thread in waiting:
            thread.start()
        # The line is full (FairShare says so only in its private counter).
        wait_until(lambda: share._waiting[who] == MAX_WAITING, 10, "a full line", interval=0.01)
        started = time.perf_counter()
        with pytest.raises(QueryCapacity), share.slot(who, 5.0):
            entered.append(-1)
        assert time.perf_counter() - started < 0.5  # refused at once, not after waiting
        assert entered == []
    for thread in waiting:
        thread.join(5)
    assert sorted(entered) == list(range(MAX_WAITING))
