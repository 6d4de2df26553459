"""The registry's SPARQL endpoint: a requester's query checked, given its dataset and run.

:class:`SparqlEndpoint` ties together the checks and the dataset rules (:mod:`registry.query`),
execution and formats (:mod:`registry.sparql_results`) and the runners that enforce the time
limit (:mod:`registry.sparql_pool`). The registry holds one (``Registry.sparql``); ``/sparql``
calls it with the graphs the requester may see (``Registry.dataset_for``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pyoxigraph as ox

from registry.errors import QueryRefused
from registry.index import Index, OxigraphIndex
from registry.query import MAX_NESTING, MAX_QUERY_CHARS, check_query, choose_dataset
from registry.settings import Settings
from registry.sparql_pool import InProcessRunner, QueryRunner, WorkerPool
from registry.sparql_results import (
    QueryAnswer,
    QueryRequest,
    Results,
    service_description,
    store_query,
)


class SparqlEndpoint:
    """The registry's SPARQL endpoint: checks a query, chooses its dataset within the graphs
    the requester may see, and runs it under ``query_timeout`` and ``max_results``.

    The runner is chosen by the index: worker processes for the on-disk index, threads of this
    process for the in-memory index and for an external store (whose own time limits apply).
    It is started on the first query.
    """

    def __init__(self, settings: Settings, index: Index, current_seq: Callable[[], int]) -> None:
        self.settings = settings
        self.url = settings.base_iri + "sparql"
        self.peers = tuple(p.strip() for p in settings.federation_peers.split(",") if p.strip())
        self._index = index
        self._current_seq = current_seq
        self._runner: QueryRunner | None = None
        self._lock = threading.Lock()

    def answer(
        self,
        text: str,
        permitted: Sequence[ox.NamedNode],
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        solutions_media: str = "application/sparql-results+json",
        graph_media: str = "text/turtle",
    ) -> QueryAnswer:
        """Answer a query over the ``permitted`` graphs, narrowed by the protocol's dataset
        parameters or the query's ``FROM``. Raises QueryRefused (400), QueryTimeout and
        QueryCapacity (503), QueryFailed (502)."""
        shape = check_query(text, self.peers, base=self.url)
        dataset = choose_dataset(permitted, default_graph_uris, named_graph_uris, shape)
        request = QueryRequest(
            text,
            dataset,
            solutions_media,
            graph_media,
            self.settings.max_results,
            self.url,
            shape.prefixes,
        )
        return self.runner().run(request, self.settings.query_timeout)

    def description(self, permitted: Sequence[ox.NamedNode]) -> list[ox.Triple]:
        """The service description as the requester with ``permitted`` graphs sees it."""
        limits = {
            "time limit per query (s)": self.settings.query_timeout,
            "most results per query": self.settings.max_results,
            "longest query (characters)": MAX_QUERY_CHARS,
            "deepest bracket nesting": MAX_NESTING,
        }
        return service_description(self.url, [g.value for g in permitted], self.peers, limits)

    def runner(self) -> QueryRunner:
        with self._lock:
            if self._runner is None:
                self._runner = self._make_runner()
            return self._runner

    def _make_runner(self) -> QueryRunner:
        slots = self.settings.query_workers
        index = self._index
        if isinstance(index, OxigraphIndex):
            if index.path is not None:
                memory = self.settings.query_memory_mb * 1024 * 1024
                return WorkerPool(index.path, slots, self._current_seq, memory)
            return InProcessRunner(store_query(index.store), slots)
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
