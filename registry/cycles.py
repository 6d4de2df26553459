"""Python's cyclic garbage collector paused while a big submission is read and checked.

Reading and validating a submission makes millions of short-lived, acyclic objects (terms,
triples, tuples). Each time enough of them survive a while, Python's cyclic collector walks
every object in the process, holding the interpreter lock: on 5 MB of Turtle that was pauses of
0.3-0.9 s, during which no other thread (the event loop included) ran, and half the time of the
whole check. The objects are freed by reference counting when the request ends; nothing is
lost by not looking for cycles meanwhile, and the collector runs again as soon as the last big
submission in progress is done.

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
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; nested and concurrent blocks share one pause."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
