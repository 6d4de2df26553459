"""Requesters' SPARQL queries, run where a time limit can really stop them.

pyoxigraph cannot cancel a query from Python, and a query can be slow before its first
solution (a cross product under ``ORDER BY``, a planner given hundreds of patterns). So with
the on-disk index, queries run in a small pool of worker processes (:class:`WorkerPool`,
``query_workers`` of them, started on the first query). Each worker opens the
index read-only (``Store.read_only``) beside the registry's own writable handle, runs one query
at a time and sends back the serialised answer. A worker that passes the time limit is killed
and replaced; one that dies (a query that exhausted its stack or memory) is replaced too. The
registry's process never runs requesters' queries, so registrations and other readers carry on
whatever a query does.

A read-only handle sees the index as it was when it was opened (measured: writes made later
by the writing process are not visible through it). Each query therefore carries the journal's
sequence number at the time it was asked; a worker whose handle is older reopens it first
(about 40 ms), so a query always sees every registration acknowledged before it was sent.
pyoxigraph documents reading alongside a writing process as undefined behaviour; measured on
0.5.13 under continuous writes, flushes and compactions, old and new handles kept answering.
A read that fails with a storage error is retried once on a freshly opened handle.

The in-memory index (tests, ``fdi serve --memory``) cannot be opened from another process, nor
can an external store's client be killed usefully: then queries run in threads of this process
(:class:`InProcessRunner`) and the limit is enforced as well as it can be: the request is
answered with 503 at the limit, the query is abandoned between two solutions, and a query that
never yields a solution keeps its thread (one of ``query_workers``) until it ends. The hard
limit needs the on-disk store.

Every query thread, here and in the workers, has a large stack (:data:`STACK_BYTES`): a query
at the size limit nested as deeply as it can be parses without overflowing it.
"""

from __future__ import annotations

import queue
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from registry.errors import QueryRefused, QueryTimeout, RegistryError
from registry.index import INDEX_NODE, META_GRAPH
from registry.sparql_results import (
    QueryAnswer,
    QueryCapacity,
    QueryFailed,
    QueryRequest,
    execute,
    execute_with,
)
from registry.vocab import FDI

STACK_BYTES = 128 * 1024 * 1024  # virtual; only the pages a query touches are used
START_SECONDS = 60.0  # how long a new worker may take to start
_ERRORS: dict[str, type[RegistryError]] = {
    c.__name__: c for c in (QueryRefused, QueryTimeout, QueryFailed)
}
_stack_lock = threading.Lock()
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_WORKER_MAIN = (
    "from registry.sparql_pool import serve_queries; "
    "serve_queries(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))"
)

# The journal sequence a read-only handle holds: the highest marker applied to the index.
APPLIED_SEQ = (
    f"SELECT (MAX(?n) AS ?max) "
    f"WHERE {{ GRAPH {META_GRAPH} {{ {INDEX_NODE} {FDI.journalSequence} ?n }} }}"
)


class QueryRunner(Protocol):
    """Runs a request within ``timeout`` seconds. Raises QueryTimeout, QueryCapacity,
    QueryRefused, QueryFailed."""

    def run(self, request: QueryRequest, timeout: float) -> QueryAnswer: ...
    def close(self) -> None: ...


def start_big_stack_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """Start a daemon thread with a :data:`STACK_BYTES` stack."""
    with _stack_lock:
        previous = threading.stack_size(STACK_BYTES)
        try:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    return thread


def _timeout(timeout: float) -> QueryTimeout:
    return QueryTimeout(
        f"the query did not finish within the time limit of {timeout:g} s and was stopped",
        limit=timeout,
    )


def _busy(timeout: float) -> QueryCapacity:
    return QueryCapacity(
        f"every query worker stayed busy for {timeout:g} s; try again shortly", limit=timeout
    )


# --- in this process -----------------------------------------------------------------------


@dataclass
class _Job:
    request: QueryRequest
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    answer: QueryAnswer | None = None
    error: BaseException | None = None


class InProcessRunner:
    """Queries in ``slots`` threads of this process (soft limit: see the module docstring).

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
            raise _busy(timeout)
        job = _Job(request, time.monotonic() + timeout)
        self._jobs.put(job)
        if not job.done.wait(timeout):
            raise _timeout(timeout)
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
                job.error = QueryFailed(f"the query failed: {type(e).__name__}: {e}")
            finally:
                job.done.set()
                self._free.release()

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)


# --- in worker processes -------------------------------------------------------------------


@dataclass(eq=False)  # compared and hashed by identity
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection


def _start_worker(path: str, memory_bytes: int) -> _Worker:
    """A fresh interpreter serving queries on one end of a socket pair. Started as a new
    program rather than by multiprocessing's spawn, so that it never re-imports the parent's
    main module (a script, uvicorn, pytest)."""
    ours, theirs = socket.socketpair()
    code = f"import sys; sys.path.insert(0, {str(_PACKAGE_ROOT)!r}); {_WORKER_MAIN}"
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(theirs.fileno()), path, str(memory_bytes)],
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    theirs.close()
    return _Worker(process, Connection(ours.detach()))


class WorkerPool:
    """``size`` worker processes, each with a read-only handle on the index at ``path``.

    ``current_seq`` returns the journal's latest sequence number: a worker reopens its handle
    when it is older than that. Each worker may use ``memory_bytes`` of heap.
    """

    def __init__(
        self, path: Path, size: int, current_seq: Callable[[], int], memory_bytes: int
    ) -> None:
        self._path = str(path)
        self._memory_bytes = memory_bytes
        self._size = max(1, size)
        self._current_seq = current_seq
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._started = False
        self._closed = False

    def run(self, request: QueryRequest, timeout: float) -> QueryAnswer:
        self._start()
        worker = self._acquire(timeout)
        try:
            worker.conn.send((self._current_seq(), request))
            if not worker.conn.poll(timeout):
                self._replace(worker)
                raise _timeout(timeout)
            kind, payload = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            raise QueryFailed(
                "the process running the query stopped (the query may have used up its memory); "
                "it was replaced"
            ) from None
        self._idle.put(worker)
        if kind == "answer":
            return payload  # type: ignore[no-any-return]
        name, detail = payload
        raise _ERRORS.get(name, QueryFailed)(detail)

    def _acquire(self, timeout: float) -> _Worker:
        """An idle, live worker (one that died while idle is replaced). Raises QueryCapacity."""
        deadline = time.monotonic() + timeout + (START_SECONDS if not self._live else 0)
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise _busy(timeout) from None
            if worker.process.poll() is None:
                return worker
            self._replace(worker)

    def _start(self) -> None:
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self._size):
            self._spawn_in_background()

    def _spawn_in_background(self) -> None:
        threading.Thread(target=self._spawn, name="fdi-sparql-spawn", daemon=True).start()

    def _spawn(self) -> None:
        worker = _start_worker(self._path, self._memory_bytes)
        if not worker.conn.poll(START_SECONDS) or worker.conn.recv() != ("ready", None):
            self._kill(worker)
            return
        with self._lock:
            if self._closed:
                self._kill(worker)
                return
            self._live.add(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker (stuck in a query, or dead) and start another in its place."""
        with self._lock:
            self._live.discard(worker)
            closed = self._closed
        self._kill(worker)
        if not closed:
            self._spawn_in_background()

    @staticmethod
    def _kill(worker: _Worker) -> None:
        worker.process.kill()
        worker.process.wait(5)
        worker.conn.close()

    def workers(self) -> list[int]:
        """The process ids of the live workers."""
        with self._lock:
            return [w.process.pid for w in self._live]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live, self._live = list(self._live), set()
        for worker in live:
            self._kill(worker)


def serve_queries(fd: int, path: str, memory_bytes: int) -> None:
    """A worker process: answer ``(seq, QueryRequest)`` messages on the connection ``fd``
    until the registry closes it, using at most ``memory_bytes`` of heap."""
    # An allocation past the limit aborts this process (measured: a sort over a cross product
    # grew to 6 GB in 100 s without it); the registry answers 502 and starts another worker.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    conn = Connection(fd)
    start_big_stack_thread(lambda: _serve(conn, path), "fdi-sparql-worker").join()


def _serve(conn: Any, path: str) -> None:
    handle: tuple[ox.Store, int] | None = None
    conn.send(("ready", None))
    while True:
        try:
            wanted, request = conn.recv()
        except (EOFError, OSError):  # the registry closed the connection
            return
        try:
            if handle is None or handle[1] < wanted:
                handle = _open(path)
            try:
                answer = execute(handle[0], request)
            except OSError:  # a storage error on an old handle: once more on a fresh one
                handle = _open(path)
                answer = execute(handle[0], request)
            conn.send(("answer", answer))
        except RegistryError as e:
            conn.send(("error", (type(e).__name__, e.detail)))
        except Exception as e:  # noqa: BLE001 - reported to the requester
            conn.send(("error", ("QueryFailed", f"the query failed: {type(e).__name__}: {e}")))


def _open(path: str) -> tuple[ox.Store, int]:
    store = ox.Store.read_only(path)
    rows = list(store.query(APPLIED_SEQ))  # type: ignore[arg-type]
    value = rows[0]["max"] if rows else None
    return store, int(value.value) if value is not None else 0
