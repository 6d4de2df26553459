"""Read-your-writes across replicas: ``FDI-Sequence`` and ``FDI-Min-Sequence``.

Every answer carries ``FDI-Sequence``: the last journal sequence number the answering registry
had applied when it answered; after a write, that includes the write's own entry. A client that
sends the number back as ``FDI-Min-Sequence`` on a read, to any replica, is answered only once
that replica has applied the journal at least that far: it waits up to ``catch_up_wait``
seconds, then answers 503 (``not-caught-up``) with ``Retry-After`` (docs/replicas.md).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Scope

from registry.base.errors import NotCaughtUp, UnusableInput

HEADER = b"fdi-sequence"
WANTED = "fdi-min-sequence"


class Sequence:
    """ASGI middleware: wait for ``FDI-Min-Sequence``; add ``FDI-Sequence`` to every answer."""

    def __init__(self, app: ASGIApp, render_problem: Callable[..., Any]) -> None:
        self.app = app
        self.render_problem = render_problem

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        registry = scope["app"].state.registry
        wanted = next(
            (v for k, v in scope["headers"] if k.decode("latin-1").lower() == WANTED), None
        )
        if wanted is not None:
            error = await _reach(registry, wanted.decode("latin-1"))
            if error is not None:
                response = self.render_problem(Request(scope, receive), error)
                if isinstance(error, NotCaughtUp):  # a bad header is not worth retrying
                    response.headers["Retry-After"] = "1"
                response.headers["FDI-Sequence"] = str(registry.applied())
                await response(scope, receive, send)
                return

        async def send_wrapped(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seq = str(registry.applied()).encode()
                message["headers"] = [*message.get("headers", []), (HEADER, seq)]
            await send(message)

        await self.app(scope, receive, send_wrapped)


_DIGITS = re.compile(r"[0-9]{1,19}")
# At most this many requests wait for catch-up at once (each holds a worker thread); more
# are answered 503 at once, as is a sequence the journal itself has not reached.
_WAITERS = threading.BoundedSemaphore(8)


async def _reach(registry: Any, wanted: str) -> UnusableInput | NotCaughtUp | None:
    if not _DIGITS.fullmatch(wanted.strip()):
        return UnusableInput("FDI-Min-Sequence is a journal sequence number (ASCII digits)")
    seq = int(wanted.strip())
    if registry.applied() >= seq:
        return None
    if _WAITERS.acquire(blocking=False):
        try:
            if await run_in_threadpool(_wait, registry, seq):
                return None
        finally:
            _WAITERS.release()
    return NotCaughtUp(
        f"this replica has applied the journal to {registry.applied()}, not yet {seq}: "
        "retry in a moment",
        applied=registry.applied(),
    )


def _wait(registry: Any, seq: int) -> bool:
    """Wait for ``seq`` only if the journal holds it (one query); a number beyond the journal's
    head will not come within the wait."""
    if registry.journal.last()[0] < seq:
        return False
    return bool(registry.reach(seq, registry.settings.catch_up_wait))
