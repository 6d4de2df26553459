"""Scenarios 4 to 6: market operators' SPARQL, capacity statistics, memory and cold start.

Three servers answer the same SPARQL over the same triples (the registry's public graph,
dumped for the peers): the registry's ``/sparql`` (``fdi serve``), raw ``oxigraph serve``
(the limit) and rdflib-endpoint (the Python peer, an rdflib graph behind FastAPI). Each query
kind is timed one request at a time; lookups are also sent by several clients at once.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench.measure import Sample, Server, free_port, peer_command, repeat
from bench.onboarding import PROXY_ENV
from bench.writes import FDI
from registry.operations.demo import generate

PREFIXES = (
    "PREFIX fdi: <https://w3id.org/fdi/ns#>\n"
    "PREFIX qudt: <http://qudt.org/schema/qudt/>\n"
    "PREFIX unit: <http://qudt.org/vocab/unit/>\n"
)
AGGREGATE = (
    PREFIXES
    + """SELECT ?technology ?gsp (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?exportKW)
WHERE {
  ?asset fdi:gspGroup ?gsp ; fdi:technology ?technology .
  OPTIONAL { ?asset fdi:exportCapacity ?q . ?q qudt:numericValue ?v ; qudt:unit ?u .
             BIND(IF(?u = unit:MegaW, ?v * 1000, ?v) AS ?kw) }
} GROUP BY ?technology ?gsp"""
)
# Values below come from the benchmark's own demo data (digits only), never from input.
LOOKUP = (
    PREFIXES
    + """SELECT ?asset ?technology ?gsp WHERE {
  ?asset fdi:mpanCore "%s" ; fdi:technology ?technology ; fdi:gspGroup ?gsp }"""
)
PAGE = (
    PREFIXES
    + """SELECT ?asset WHERE {
  ?org fdi:companyNumber "%s" . ?right fdi:operator ?org ; fdi:asset ?asset
} ORDER BY ?asset LIMIT 50 OFFSET %d"""
)
JSON = {"Accept": "application/sparql-results+json"}
QUERY_TIMEOUT = 600  # seconds, for the registry's /sparql (its own default is 10)


def query_mix(size: int, seed: int = 7) -> dict[str, list[str]]:
    """Queries of each kind, with MPANs and FSP company numbers drawn from the demo."""
    demo = generate(size)
    rng = random.Random(seed)
    mpans = [row["mpan"] for row in demo.asset_rows if row["mpan"]]
    fsps = [o.company_number for o in demo.fsps]
    return {
        "aggregate by technology and area": [AGGREGATE],
        "lookup by MPAN": [LOOKUP % rng.choice(mpans) for _ in range(200)],
        "one organisation's assets, paged": [
            PAGE % (rng.choice(fsps[:5]), 50 * rng.randrange(4)) for _ in range(200)
        ],
    }


class Endpoint:
    """Where a server takes SPARQL queries (GET ``?query=``)."""

    def __init__(self, name: str, server: Server, path: str) -> None:
        self.name, self.server, self.path = name, server, path

    def url_for(self, query: str) -> str:
        return f"{self.server.url}{self.path}?query={quote(query)}"

    def ask(self, client: httpx.Client, query: str) -> None:
        response = client.get(self.url_for(query), headers=JSON)
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.name} answered {response.status_code}: {response.text[:300]}"
            )


def registry_server(data_dir: Path, base_iri: str, log: Path) -> Server:
    """``fdi serve`` on the data directory, believing certificates forwarded from 127.0.0.1."""
    port = free_port()
    argv = [
        *FDI,
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--base-iri",
        base_iri,
    ]
    # The default per-query limit (10 s) would stop the aggregates at 1,000,000 assets (about
    # 13 s alone, longer with four clients on two cores); the peers have no limit.
    # The benchmark's four clients are one anonymous requester: let it use every worker, as
    # the peers do, rather than its fair share of one (docs/security.md).
    env = {
        **os.environ,
        **PROXY_ENV,
        "FDI_QUERY_TIMEOUT": str(QUERY_TIMEOUT),
        "FDI_QUERY_SLOTS_PER_REQUESTER": "64",
    }
    return Server("registry", argv, f"http://127.0.0.1:{port}", "/statistics", log, env=env)


def oxigraph_server(location: Path, log: Path) -> Server | None:
    oxigraph = peer_command("oxigraph")
    if oxigraph is None:
        return None
    port = free_port()
    argv = [
        oxigraph,
        "serve-read-only",
        "--location",
        str(location),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    return Server("oxigraph serve", argv, f"http://127.0.0.1:{port}", "/query?query=ASK%7B%7D", log)


def oxigraph_location(dump: Path, workdir: Path) -> Path | None:
    """An Oxigraph store holding ``dump``, made with the ``oxigraph load`` command."""
    oxigraph = peer_command("oxigraph")
    if oxigraph is None:
        return None
    location = workdir / f"oxigraph-{dump.stem}"
    if not location.exists():
        subprocess.run(
            [oxigraph, "load", "--location", str(location), "--file", str(dump)],
            check=True,
            capture_output=True,
        )
    return location


def rdflib_server(dump: Path, log: Path) -> Server | None:
    rdflib_endpoint = peer_command("rdflib-endpoint")
    if rdflib_endpoint is None:
        return None
    port = free_port()
    argv = [rdflib_endpoint, "serve", str(dump), "--host", "127.0.0.1", "--port", str(port)]
    return Server("rdflib-endpoint", argv, f"http://127.0.0.1:{port}", "/?query=ASK%7B%7D", log)


def latencies(
    endpoint: Endpoint, queries: list[str], times: int, budget: float | None = None
) -> Sample:
    """One request at a time: ``times`` requests cycling through ``queries``; with a ``budget``
    (seconds), fewer once that much time has gone and at least 3 were timed."""
    cycle = iter(queries * (times // len(queries) + 2))
    with httpx.Client(timeout=600) as client:
        return repeat(lambda: endpoint.ask(client, next(cycle)), times, warmup=1, budget=budget)


def throughput(
    endpoint: Endpoint,
    queries: list[str],
    requests: int,
    clients: int = 4,
    budget: float | None = None,
) -> tuple[float, int]:
    """Requests per second with ``clients`` clients sending ``requests`` queries in all, and
    how many were sent. With a ``budget`` (seconds), a client sends no new request once that
    much time has gone, but every client sends at least one."""
    share = [queries[i::clients] or queries for i in range(clients)]
    start = time.perf_counter()
    deadline = None if budget is None else start + budget

    def run(mine: list[str]) -> int:
        sent = 0
        with httpx.Client(timeout=600) as client:
            for i in range(requests // clients):
                if sent and deadline is not None and time.perf_counter() >= deadline:
                    break
                endpoint.ask(client, mine[i % len(mine)])
                sent += 1
        return sent

    with ThreadPoolExecutor(clients) as pool:
        sent = sum(pool.map(run, share))
    return sent / (time.perf_counter() - start), sent


def planned_counts(mix: dict[str, list[str]], times: int, requests: int) -> dict[str, Any]:
    """Requests per query kind before any budget: aggregates get 3 and 8, the rest ``times``
    one at a time and ``requests`` from the clients."""
    heavy = {kind: "aggregate" in kind for kind in mix}
    return {
        kind: {
            "latency": 3 if heavy[kind] else times,
            "throughput": 8 if heavy[kind] else requests,
        }
        for kind in mix
    }


def sparql_comparison(
    endpoints: list[Endpoint],
    mix: dict[str, list[str]],
    times: int,
    requests: int,
    budget: float | None = None,
) -> dict[str, Any]:
    """Latency and throughput per query kind, per endpoint (aggregates: fewer requests).

    With a ``budget`` (seconds), each measurement (one kind's latencies, one kind's throughput)
    also stops once it has taken that long (latencies: with at least 3 timed; throughput: with
    at least one request per client). ``latency[kind]["n"]`` and ``requests[kind]`` say how many
    were measured, ``planned`` how many would have been without a budget.
    """
    planned = planned_counts(mix, times, requests)
    out: dict[str, Any] = {}
    for endpoint in endpoints:
        latency = {
            kind: latencies(endpoint, queries, planned[kind]["latency"], budget).ms()
            for kind, queries in mix.items()
        }
        rates = {
            kind: throughput(endpoint, queries, planned[kind]["throughput"], budget=budget)
            for kind, queries in mix.items()
        }
        out[endpoint.name] = {
            "latency": latency,
            "per_s": {kind: rate for kind, (rate, _) in rates.items()},
            "requests": {kind: sent for kind, (_, sent) in rates.items()},
            "planned": planned,
            "budget_s": budget,
            "rss_bytes": endpoint.server.rss_bytes(),
        }
    return out


def http_floor(server: Server, times: int) -> Sample:
    """The registry's cheapest route (``/whoami``: no store, no query): what the HTTP stack
    itself costs per request."""
    with httpx.Client(timeout=60) as client:
        return repeat(lambda: client.get(server.url + "/whoami").raise_for_status(), times)


def statistics_over_http(server: Server, times: int) -> Sample:
    with httpx.Client(timeout=60) as client:
        return repeat(lambda: client.get(server.url + "/statistics").raise_for_status(), times)


def cold_starts(make: Any, times: int) -> Sample:
    """Seconds from process start to the first answer, ``times`` times."""
    sample = Sample()
    for _ in range(times):
        server = make()
        server.start()
        sample.values.append(server.started_in)
        server.stop()
    return sample
