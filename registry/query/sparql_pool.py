"""Requesters' SPARQL queries in worker processes, where a time limit can really stop them.

pyoxigraph cannot cancel a query from Python, and a query can be slow before its first
solution (a sort over a cross product; a planner given hundreds of patterns). So with the
on-disk index, queries run in a small pool of worker processes (:class:`WorkerPool`,
``query_workers`` of them, started on the first query), each running one query at a time and
sending back the serialised answer. A worker that passes the time limit is killed and replaced;
one that dies (a query that used up its stack or its ``query_memory_mb`` of heap) is replaced
too. The registry's process never runs a requester's query, so registrations and other readers
carry on whatever a query does.

Workers read *snapshots* of the index (:class:`Snapshots`): ``Store.backup`` checkpoints made
by the registry's process beside the index (hard links, so cheap: measured 15-90 ms once the
index's memory table has been flushed), opened with ``Store.read_only``. A snapshot is an
ordinary database that nothing writes to. Opening the live index read-only beside its writer
is undefined behaviour in pyoxigraph's documentation, and measured it is not usable: the open
replays the whole write-ahead log (0.7 s with 2,000 demo assets, over 10 s with 20,000) and,
while the writer compacts, can fail with "No such file" for a table the manifest still names.

A snapshot is labelled with the journal sequence the index had applied before it was taken.
Each query needs a snapshot at least as new as the index when the query was asked: so a query
sees every registration acknowledged before it was sent (acknowledgement follows the index
update), and one snapshot serves every query until the next write.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.base.errors import QueryFailed, QueryRefused, QueryTimeout, RegistryError
from registry.query.peer_relay import PeerRequest, PeerResponse, start_relay
from registry.query.sparql_results import (
    QueryAnswer,
    QueryRequest,
    busy,
    execute,
    start_big_stack_thread,
    timed_out,
)

log = logging.getLogger(__name__)
START_SECONDS = 60.0  # how long a new worker may take to start
_ERRORS: dict[str, type[RegistryError]] = {
    c.__name__: c for c in (QueryRefused, QueryTimeout, QueryFailed)
}
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding registry/
# The worker leaves the network before it imports anything else (registry.query.sandbox).
_WORKER_MAIN = (
    "from registry.query.sandbox import leave_the_network; "
    "refused = leave_the_network() if sys.argv[3] == 'required' else None; "
    "from registry.query.sparql_pool import serve_queries; "
    "serve_queries(int(sys.argv[1]), int(sys.argv[2]), refused, sys.argv[3] == 'required')"
)


# --- snapshots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    path: str
    seq: int  # the index held at least this journal entry when the snapshot was taken


class Snapshots:
    """Read-only snapshots of the index in ``directory``, made by ``backup`` (a store's
    ``backup``); ``applied_seq`` says how far the index is. A snapshot handed out by
    :meth:`fresh` is kept until :meth:`release`; others that no worker has open are removed."""

    def __init__(
        self, directory: Path, backup: Callable[[str], None], applied_seq: Callable[[], int]
    ) -> None:
        self._directory = directory
        self._backup = backup
        self._applied_seq = applied_seq
        self._current: Snapshot | None = None
        self._pinned: Counter[str] = Counter()
        self._made: set[str] = set()  # the snapshots on disk: removed ones leave this set
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        shutil.rmtree(directory, ignore_errors=True)  # left by a process that did not close

    def fresh(self) -> Snapshot:
        """A snapshot holding everything the index holds now, kept until released. Raises
        QueryFailed."""
        wanted = self._applied_seq()
        with self._lock:
            if self._current is None or self._current.seq < wanted:
                seq = self._applied_seq()  # before the backup: the snapshot holds at least this
                path = self._directory / f"{seq}-{next(self._numbers)}"
                self._made.add(str(path))  # before the backup: a failed one's remains go too
                try:
                    self._directory.mkdir(parents=True, exist_ok=True)
                    self._backup(str(path))
                except OSError as e:
                    raise QueryFailed(f"no snapshot of the index could be made: {e}") from e
                self._current = Snapshot(str(path), seq)
            self._pinned[self._current.path] += 1
            return self._current

    def release(self, snapshot: Snapshot, open_in_workers: set[str]) -> None:
        """Let ``snapshot`` go, and remove every snapshot that is not the newest, not handed
        out and not in ``open_in_workers``."""
        with self._lock:
            self._pinned[snapshot.path] -= 1
            keep = open_in_workers | {p for p, n in self._pinned.items() if n > 0}
            keep |= {self._current.path} if self._current else set()
            # The set, not a listing of the directory: no system call when nothing goes.
            for path in self._made - keep:
                shutil.rmtree(path, ignore_errors=True)
                self._made.discard(path)

    def close(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


# --- the pool --------------------------------------------------------------------------------


@dataclass(eq=False)  # compared and hashed by identity
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    snapshot: str | None = None  # the snapshot it has open


def _start_worker(memory_bytes: int, isolation: str) -> _Worker:
    """A fresh interpreter serving queries on one end of a socket pair. Started as a new
    program rather than by multiprocessing's spawn, so that it never re-imports the parent's
    main module (a script, uvicorn, pytest)."""
    ours, theirs = socket.socketpair()
    code = f"import sys; sys.path.insert(0, {str(_PACKAGE_ROOT)!r}); {_WORKER_MAIN}"
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(theirs.fileno()), str(memory_bytes), isolation],
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    theirs.close()
    return _Worker(process, Connection(ours.detach()))


class WorkerPool:
    """``size`` worker processes answering queries on :class:`Snapshots` of the index; each
    may use ``memory_bytes`` of heap. With ``isolation="required"`` each runs in a network
    namespace of its own (registry.query.sandbox), and none is started where that is impossible."""

    def __init__(
        self,
        snapshots: Snapshots,
        size: int,
        memory_bytes: int,
        recycle_bytes: int = 0,
        isolation: str = "required",
        fetch: Callable[[PeerRequest, float], PeerResponse] | None = None,
    ) -> None:
        self._isolation = isolation
        self._fetch = fetch  # SERVICE calls the workers relay (registry.query.peer_relay)
        self._refused: str | None = None  # why workers could not be started without network
        self._snapshots = snapshots
        self._memory_bytes = memory_bytes
        self._recycle_bytes = recycle_bytes
        self._size = max(1, size)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._started = False
        self._closed = False

    def run(self, request: QueryRequest, timeout: float) -> QueryAnswer:
        """Answer ``request`` within ``timeout`` seconds. Raises QueryTimeout (the worker is
        killed), QueryCapacity, QueryRefused, QueryFailed."""
        self._start()
        snapshot = self._snapshots.fresh()
        try:
            kind, payload = self._ask(snapshot, request, timeout)
        finally:
            self._snapshots.release(snapshot, self._in_use())
        if kind == "answer":
            answered: QueryAnswer = payload
            return answered
        name, detail = payload
        raise _ERRORS.get(name, QueryFailed)(detail)

    def _ask(self, snapshot: Snapshot, request: QueryRequest, timeout: float) -> tuple[str, Any]:
        worker = self._acquire(timeout)
        deadline = time.monotonic() + timeout
        try:
            worker.conn.send((snapshot.path, request))
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not worker.conn.poll(left):
                    self._replace(worker)
                    raise timed_out(timeout)
                answer: tuple[str, Any] = worker.conn.recv()
                if answer[0] != "fetch":
                    break
                # A SERVICE call relayed from the worker: made here, to an allow-listed peer.
                fetched = (
                    self._fetch(answer[1], left)
                    if self._fetch is not None
                    else PeerResponse(403, "text/plain", b"federation is not available")
                )
                worker.conn.send(("fetched", fetched))
        except (EOFError, OSError):
            self._replace(worker)
            raise QueryFailed(
                "the process running the query stopped (the query may have used up its memory); "
                "it was replaced"
            ) from None
        worker.snapshot = snapshot.path
        if self._recycle_bytes and resident_bytes(worker.process.pid) > self._recycle_bytes:
            # The heap a big query grew is not given back to the system: start afresh.
            self._replace(worker)
        else:
            self._idle.put(worker)
        return answer

    def _acquire(self, timeout: float) -> _Worker:
        """An idle, live worker (one that died while idle is replaced). Raises QueryCapacity."""
        deadline = time.monotonic() + timeout + (START_SECONDS if not self._live else 0)
        while True:
            if self._refused is not None:
                raise QueryFailed(
                    f"no SPARQL worker runs: {self._refused}; the registry will not run "
                    "requesters' queries in processes that have the network (query_isolation)"
                )
            left = deadline - time.monotonic()
            try:
                worker = self._idle.get(timeout=max(0.0, min(left, 0.5)))
            except queue.Empty:
                if left <= 0.5:
                    raise busy(timeout) from None
                continue
            if worker.process.poll() is None:
                return worker
            self._replace(worker)

    def _in_use(self) -> set[str]:
        with self._lock:
            return {w.snapshot for w in self._live if w.snapshot}

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
        worker = _start_worker(self._memory_bytes, self._isolation)
        hello = worker.conn.recv() if worker.conn.poll(START_SECONDS) else None
        if hello != ("ready", None):
            if isinstance(hello, tuple) and hello[0] == "refused":
                self._refused = str(hello[1])
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
        self._snapshots.close()


def resident_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


# --- a worker process ------------------------------------------------------------------------


def serve_queries(
    fd: int, memory_bytes: int, refused: str | None = None, relay: bool = False
) -> None:
    """A worker process: answer ``(snapshot path, QueryRequest)`` messages on the connection
    ``fd`` until the registry closes it, using at most ``memory_bytes`` of heap. ``refused``
    says why the worker could not leave the network: it then tells the registry and stops.
    With ``relay``, ``SERVICE`` calls go through the registry (registry.query.peer_relay)."""
    if refused is not None:
        Connection(fd).send(("refused", refused))
        return
    # An allocation past the limit aborts this process (measured: a sort over a cross product
    # grew to 6 GB in 100 s without it); the registry answers 502 and starts another worker.
    # A platform that will not cap the heap refuses; the time limit still applies.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    conn = Connection(fd)
    sending = threading.Lock()

    def send(message: tuple[str, Any]) -> None:
        with sending:
            conn.send(message)

    def exchange(asked: PeerRequest) -> PeerResponse:
        send(("fetch", asked))
        # During a query only this thread reads: the query thread waits for the answer.
        reply: tuple[str, PeerResponse] = conn.recv()
        return reply[1]

    if relay:
        start_relay(exchange)
    start_big_stack_thread(lambda: _serve(conn, send), "fdi-sparql-worker").join()


def _serve(conn: Any, send: Callable[[tuple[str, Any]], None]) -> None:
    opened: tuple[str, ox.Store] | None = None
    send(("ready", None))
    while True:
        try:
            path, request = conn.recv()
        except (EOFError, OSError):  # the registry closed the connection
            return
        try:
            if opened is None or opened[0] != path:
                opened = None  # let the old snapshot go before opening the new one
                opened = (path, ox.Store.read_only(path))
            send(("answer", execute(opened[1], request)))
        except RegistryError as e:
            send(("error", (type(e).__name__, e.detail)))
        except Exception as e:  # noqa: BLE001 - reported to the requester
            log.exception("a query failed unexpectedly")  # on the worker's standard error
            send(("error", ("QueryFailed", f"the query failed: {type(e).__name__}: {e}")))
