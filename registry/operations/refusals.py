"""Refused requests, counted per source: every 4xx leaves a trace the operator can see.

Anonymous 401s are not journaled (anyone can send them, and the journal is the system of
record); floods of them, or of any other 4xx, are still worth knowing about. Each refusal is
counted by source address and status in memory (``GET /refusals``, scheme operator only), and
logged on the ``fdi.refusals`` logger: the first refusal from a source at once, then at most
one line per source per ``interval`` seconds saying how many more there were, so a flood
cannot flood the log. The most recently active ``max_sources`` sources are kept.

>>> clock = iter([0.0, 1.0, 2.0, 70.0]).__next__
>>> refusals = Refusals(interval=60, clock=clock)
>>> [refusals.record("192.0.2.1", 401, "POST /assets") for _ in range(4)]
[True, False, False, True]
>>> refusals.summary()[0]["total"], refusals.summary()[0]["statuses"]
(4, {'401': 4})
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("fdi.refusals")
MAX_REQUESTS_PER_SOURCE = 50  # distinct "METHOD /path" keys kept per source; the rest: (other)


@dataclass
class _Source:
    first: float
    last: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    logged_at: float | None = None
    unlogged: int = 0


class Refusals:
    """Refusal counts per source, with rate-limited logging. Thread-safe."""

    def __init__(
        self,
        interval: float = 60.0,
        max_sources: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = interval
        self.max_sources = max_sources
        self.clock = clock
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, source: str, status: int, request: str) -> bool:
        """Count one refusal; returns whether it was logged."""
        now = self.clock()
        with self._lock:
            seen = self._sources.pop(source, None) or _Source(first=now)
            self._sources[source] = seen  # most recently active last
            while len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
            seen.last = now
            seen.statuses[status] += 1
            # A caller chooses the paths it is refused on: keep the keys per source bounded.
            if request not in seen.requests and len(seen.requests) >= MAX_REQUESTS_PER_SOURCE:
                request = "(other)"
            seen.requests[request] += 1
            if seen.logged_at is not None and now - seen.logged_at < self.interval:
                seen.unlogged += 1
                return False
            more, seen.unlogged, seen.logged_at = seen.unlogged, 0, now
        if more:
            log.warning(
                "refused %s %s from %s, and %d more from it since the last line",
                status,
                request,
                source,
                more,
            )
        else:
            log.warning("refused %s %s from %s", status, request, source)
        return True

    def summary(self, limit: int = 100) -> list[dict[str, Any]]:
        """The sources with the most refusals, most first."""
        with self._lock:
            sources = sorted(
                self._sources.items(), key=lambda kv: sum(kv[1].statuses.values()), reverse=True
            )[:limit]
            return [
                {
                    "source": name,
                    "total": sum(s.statuses.values()),
                    "statuses": {str(k): v for k, v in sorted(s.statuses.items())},
                    "first": _iso(s.first),
                    "last": _iso(s.last),
                    "requests": dict(s.requests.most_common(5)),
                }
                for name, s in sources
            ]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
