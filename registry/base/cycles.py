"""Python's cyclic garbage collector paused while a big submission is read and checked.

Reading and validating a submission makes millions of short-lived, acyclic objects (terms,
triples, tuples). Each time enough of them survive a while, Python's cyclic collector walks
every object in the process, holding the interpreter lock: on 5 MB of Turtle that was pauses of
0.3-0.9 s, during which no other thread (the event loop included) ran, and half the time of the
whole check. The objects are freed by reference counting when the request ends; nothing is
lost by not looking for cycles meanwhile, and the collector runs again as soon as the last big
submission in progress is done. Overlapping submissions share one pause; so that a stream of
them cannot keep the collector off for good (cyclic garbage would then grow without bound), a
block that starts when the pause has lasted ``MAX_PAUSE`` seconds first collects the young
objects (everything made since the pause began), and the pause starts again.

>>> import gc
>>> with collector_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_PAUSE = 10.0  # seconds

_lock = threading.Lock()
_holders = 0
_was_enabled = True
_since = 0.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; nested and concurrent blocks share one pause,
    which a block starting after ``MAX_PAUSE`` seconds of it renews with a young collection."""
    global _holders, _was_enabled, _since
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
            _since = time.monotonic()
        elif _was_enabled and time.monotonic() - _since > MAX_PAUSE:
            gc.collect(1)  # what was made during the pause is all still in the young generations
            _since = time.monotonic()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
