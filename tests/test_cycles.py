"""The collector pause around big submissions (registry.base.cycles): shared by overlapping blocks,
and never kept up for good by a stream of them."""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from registry.base import cycles


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def cyclic_garbage() -> weakref.ref[Node]:
    return weakref.ref(Node())


def test_overlapping_blocks_share_one_pause_and_the_collector_comes_back() -> None:
    with cycles.collector_paused():
        with cycles.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_garbage_made_in_a_short_pause_waits_for_the_pause_to_end() -> None:
    with cycles.collector_paused():
        garbage = cyclic_garbage()
        with cycles.collector_paused():
            assert garbage() is not None
    gc.collect()
    assert garbage() is None


def test_a_stream_of_overlapping_blocks_cannot_keep_cyclic_garbage_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An anonymous client sending big bodies back to back kept the collector off.
    monkeypatch.setattr(cycles, "MAX_PAUSE", 0.05)
    with cycles.collector_paused():
        garbage = cyclic_garbage()
        time.sleep(0.1)  # the behaviour: MAX_PAUSE runs out
        with cycles.collector_paused():  # starts after MAX_PAUSE: a young collection first
            assert garbage() is None
            assert not gc.isenabled()
    assert gc.isenabled()
