"""Fair shares of the SPARQL workers: one requester's queries cannot take every worker.

Each requester (an organisation, or an anonymous client address) may have
``query_slots_per_requester`` queries running at once. A further query from the same requester
waits for one of its own to end, in a queue with a deadline (``query_timeout``), and is then
refused with 503; up to :data:`MAX_WAITING` may wait, and one more is refused at once (a
waiting query holds a thread of the server's pool, which a flood of them must not use up); other
requesters' queries go straight to the free workers. Measured before: two anonymous runaway
queries held both workers and every other query waited 10 s.

>>> share = FairShare(1)
>>> with share.slot("a", 1.0):
...     share.running("a")
1
>>> share.running("a")
0
>>> with share.slot("a", 1.0), share.slot("b", 1.0):  # another requester is not held up
...     share.running("b")
1
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from registry.base.errors import QueryCapacity

MAX_WAITING = 4  # queries one requester may have waiting for its share


class FairShare:
    """At most ``per_requester`` queries running for any one requester."""

    def __init__(self, per_requester: int) -> None:
        self._limit = max(1, per_requester)
        self._running: Counter[str] = Counter()
        self._waiting: Counter[str] = Counter()
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, requester: str, timeout: float) -> Iterator[None]:
        """Hold one of ``requester``'s slots, waiting up to ``timeout`` seconds for one. Raises
        QueryCapacity (503) when the requester's own queries keep every slot that long."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._running[requester] >= self._limit:
                if self._waiting[requester] >= MAX_WAITING:
                    raise self._refusal(timeout, "more are already waiting")
                self._waiting[requester] += 1
                try:
                    while self._running[requester] >= self._limit:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise self._refusal(timeout, f"this one waited {timeout:g} s")
                        self._changed.wait(left)
                finally:
                    self._waiting[requester] -= 1
                    if not self._waiting[requester]:
                        del self._waiting[requester]
            self._running[requester] += 1
        try:
            yield
        finally:
            with self._changed:
                self._running[requester] -= 1
                if not self._running[requester]:
                    del self._running[requester]
                self._changed.notify_all()

    def _refusal(self, timeout: float, why: str) -> QueryCapacity:
        queries = "query" if self._limit == 1 else "queries"
        return QueryCapacity(
            f"you already have {self._limit} SPARQL {queries} running and {why}; "
            "try again when one has ended",
            limit=timeout,
        )

    def running(self, requester: str) -> int:
        with self._changed:
            return self._running[requester]
