"""The registry's SPARQL endpoint: a requester's query checked, given its dataset and run.

:class:`SparqlEndpoint` ties together the checks and the dataset rules
(:mod:`registry.query.query`),
running a query to bytes (:mod:`registry.query.sparql_results`) and a runner that enforces the time
limit. The registry holds one (``Registry.sparql``); ``/sparql`` calls it with the graphs the
requester may see (``Registry.dataset_for``).

Runners: with the on-disk index, worker processes on snapshots of it
(:mod:`registry.query.sparql_pool`,
a hard limit). The in-memory index cannot be read from another process, and an external store's
work cannot be stopped from here: then queries run in threads of this process
(:class:`InProcessRunner`) and the limit is enforced as well as it can be: the request is
answered at the limit, the query is abandoned between two solutions, and a query that never
yields one keeps its thread (one of ``query_workers``) until it ends. The hard limit needs the
on-disk index.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from registry.base.errors import QueryFailed, QueryRefused, RegistryError
from registry.base.settings import Settings
from registry.base.vocab import FORMATS, RDF, RDFS, SD
from registry.query.fair_share import FairShare
from registry.query.peer_relay import fetch, relay_iri
from registry.query.query import (
    MAX_NESTING,
    MAX_QUERY_CHARS,
    QueryShape,
    check_query,
    choose_dataset,
    relay_services,
)
from registry.query.sparql_pool import Snapshots, WorkerPool
from registry.query.sparql_results import (
    GRAPH_FORMAT_NAMES,
    SOLUTION_MEDIA,
    QueryAnswer,
    QueryRequest,
    Results,
    busy,
    execute_with,
    start_big_stack_thread,
    store_query,
    timed_out,
)
from registry.store.index import OxigraphIndex
from registry.store.index_protocol import Index

log = logging.getLogger(__name__)

# Query texts whose checks are remembered: clients repeat the same queries (a dashboard, a
# script's lookups). At most this many texts of at most MAX_QUERY_CHARS each (about 5 MB).
CHECKED_QUERIES = 256


class QueryRunner(Protocol):
    """Runs a request within ``timeout`` seconds. Raises QueryTimeout, QueryCapacity,
    QueryRefused, QueryFailed."""

    def run(self, request: QueryRequest, timeout: float) -> QueryAnswer: ...
    def close(self) -> None: ...


class SparqlEndpoint:
    """Checks a query, chooses its dataset within the graphs the requester may see, and runs
    it under ``query_timeout`` and ``max_results``. The runner starts with the first query."""

    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.url = settings.base_iri + "sparql"
        self.peers = tuple(p.strip() for p in settings.federation_peers.split(",") if p.strip())
        self._index = index
        self._runner: QueryRunner | None = None
        self._shares = FairShare(settings.query_slots_per_requester)
        self._lock = threading.Lock()
        # Refusals raise, so only accepted queries are remembered.
        self._check: Callable[[str], QueryShape] = lru_cache(maxsize=CHECKED_QUERIES)(
            lambda text: check_query(text, self.peers, base=self.url)
        )

    def answer(
        self,
        text: str,
        permitted: Sequence[ox.NamedNode],
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        solutions_media: str = "application/sparql-results+json",
        graph_media: str = "text/turtle",
        requester: str | None = None,
    ) -> QueryAnswer:
        """Answer a query over the ``permitted`` graphs, narrowed by the protocol's dataset
        parameters or the query's ``FROM``, within ``requester``'s fair share of the workers
        (registry.fair_share; the HTTP endpoint always names the requester, the registry's own
        queries name none). Raises QueryRefused (400), QueryTimeout and QueryCapacity (503),
        QueryFailed (502)."""
        shape = self._check(text)
        dataset = choose_dataset(permitted, default_graph_uris, named_graph_uris, shape)
        if shape.services and self._relayed():
            text = relay_services(text, self.peers, relay_iri, base=self.url)
        request = QueryRequest(
            text,
            dataset,
            solutions_media=solutions_media,
            graph_media=graph_media,
            max_results=self.settings.max_results,
            base_iri=self.url,
            prefixes=shape.prefixes,
        )
        timeout = self.settings.query_timeout
        if requester is None:  # the registry's own queries: no share to keep to
            return self.runner().run(request, timeout)
        with self._shares.slot(requester, timeout):
            return self.runner().run(request, timeout)

    def description(self, permitted: Sequence[ox.NamedNode]) -> list[ox.Triple]:
        """The service description as the requester with ``permitted`` graphs sees it."""
        limits = {
            "time limit per query (s)": self.settings.query_timeout,
            "most results per query": self.settings.max_results,
            "longest query (characters)": MAX_QUERY_CHARS,
            "deepest bracket nesting": MAX_NESTING,
        }
        return service_description(self.url, [g.value for g in permitted], self.peers, limits)

    def _relayed(self) -> bool:
        """Whether SERVICE goes through the registry: queries run in workers without network."""
        return self.settings.query_isolation == "required" and isinstance(self.runner(), WorkerPool)

    def runner(self) -> QueryRunner:
        with self._lock:
            if self._runner is None:
                self._runner = self._make_runner()
            return self._runner

    def _make_runner(self) -> QueryRunner:
        slots = self.settings.query_workers
        index = self._index
        if isinstance(index, OxigraphIndex):
            if index.path is None:
                return InProcessRunner(store_query(index.store), slots)
            directory = Path(index.path).parent / "index-snapshots"
            # Keyed by the last *content* change: audit-only entries (such as the reads a query
            # itself journals) must not force a new snapshot for the next query.
            snapshots = Snapshots(directory, index.store.backup, index.content_seq)
            return WorkerPool(
                snapshots,
                slots,
                self.settings.query_memory_mb * 1024 * 1024,
                recycle_bytes=self.settings.query_worker_recycle_mb * 1024 * 1024,
                isolation=self.settings.query_isolation,
                fetch=lambda asked, left: fetch(self.peers, asked, left),
            )
        return InProcessRunner(lambda r: _on_external_store(index, r), slots)

    def close(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()


def _on_external_store(index: Index, request: QueryRequest) -> Results:
    # The Index protocol takes one list of graphs, used as the default and the named graphs.
    if set(request.dataset.default) != set(request.dataset.named):
        raise QueryRefused(
            "with an external store, the default and named graphs of a query must be the same "
            "graphs: give default-graph-uri and named-graph-uri alike, or neither"
        )
    return index.query(request.text, [ox.NamedNode(g) for g in request.dataset.default])


# --- in this process -------------------------------------------------------------------------


@dataclass
class _Job:
    request: QueryRequest
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    answer: QueryAnswer | None = None
    error: BaseException | None = None


class InProcessRunner:
    """Queries in ``slots`` threads of this process (a soft limit: see the module docstring).

    ``run_query`` runs a request and returns pyoxigraph results, e.g. a store's ``query``.
    """

    def __init__(self, run_query: Callable[[QueryRequest], Any], slots: int) -> None:
        self._run_query = run_query
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._free = threading.BoundedSemaphore(slots)
        self._threads = [
            start_big_stack_thread(self._serve, f"fdi-sparql-{i}") for i in range(slots)
        ]

    def run(self, request: QueryRequest, timeout: float) -> QueryAnswer:
        # A slot is held until its query really ends, so abandoned queries use up the slots
        # and later requests are refused instead of piling up threads.
        if not self._free.acquire(timeout=timeout):
            raise busy(timeout)
        job = _Job(request, time.monotonic() + timeout)
        self._jobs.put(job)
        if not job.done.wait(timeout):
            raise timed_out(timeout)
        if job.error is not None:
            raise job.error
        assert job.answer is not None
        return job.answer

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job.answer = execute_with(self._run_query, job.request, job.deadline)
            except RegistryError as e:
                job.error = e
            except Exception as e:  # noqa: BLE001 - the query's failure, reported to its requester
                log.exception("a query failed unexpectedly")
                job.error = QueryFailed(f"the query failed: {type(e).__name__}: {e}")
            finally:
                job.done.set()
                self._free.release()

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)


# --- service description ---------------------------------------------------------------------


def service_description(
    endpoint: str, graphs: Iterable[str], peers: Iterable[str], limits: Mapping[str, object]
) -> list[ox.Triple]:
    """A SPARQL 1.1 Service Description of the endpoint as one requester sees it: the graphs
    of its default dataset, the result formats, federation to ``peers``, and ``limits`` (a
    label → value mapping, given as a comment)."""
    service = ox.NamedNode(endpoint)
    dataset, default = ox.BlankNode(), ox.BlankNode()
    out = [
        ox.Triple(service, RDF.type, SD.Service),
        ox.Triple(service, SD.endpoint, service),
        ox.Triple(service, SD.supportedLanguage, SD.SPARQL11Query),
        ox.Triple(service, SD.feature, SD.UnionDefaultGraph),
        ox.Triple(service, SD.defaultDataset, dataset),
        ox.Triple(dataset, RDF.type, SD.Dataset),
        ox.Triple(dataset, SD.defaultGraph, default),
        ox.Triple(default, RDF.type, SD.Graph),
    ]
    names = {*SOLUTION_MEDIA.values(), *GRAPH_FORMAT_NAMES.values()}
    out += [ox.Triple(service, SD.resultFormat, FORMATS[n]) for n in sorted(names)]
    for graph in graphs:
        named = ox.BlankNode()
        out += [
            ox.Triple(dataset, SD.namedGraph, named),
            ox.Triple(named, RDF.type, SD.NamedGraph),
            ox.Triple(named, SD.name, ox.NamedNode(graph)),
        ]
    peers = list(peers)
    comment = "; ".join(f"{k}: {v}" for k, v in limits.items())
    if peers:
        out.append(ox.Triple(service, SD.feature, SD.BasicFederatedQuery))
        comment += "; SERVICE may call only " + ", ".join(peers)
    else:
        comment += "; SERVICE is not available"
    out.append(ox.Triple(service, RDFS.comment, ox.Literal(comment)))
    return out
