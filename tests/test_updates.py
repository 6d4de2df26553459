"""Updates with If-Match, full history and reads as of a date."""

import threading
import time

import pytest

from registry.assembly import Registry
from registry.base.errors import Forbidden, PreconditionFailed, PreconditionRequired
from registry.submissions.formats import read_bytes
from tests.test_assets import ASSET, make_fsp, register_asset


def changed(asset: str, capacity: str) -> bytes:
    return (
        ASSET.replace("<#battery-cardiff-1>", f"<{asset}>")
        .replace(
            "fdi:exportCapacity [ qudt:numericValue 5.0",
            f"fdi:exportCapacity [ qudt:numericValue {capacity}",
        )
        .encode()
    )


def test_an_update_needs_if_match(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    with pytest.raises(PreconditionRequired):
        registry.update(asset, read_bytes(changed(asset, "4.0"), "turtle"), fsp, None)


def test_a_stale_if_match_is_refused_and_nothing_changes(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    registry.update(asset, read_bytes(changed(asset, "4.0"), "turtle"), fsp, '"1"')
    with pytest.raises(PreconditionFailed) as caught:
        registry.update(asset, read_bytes(changed(asset, "3.0"), "turtle"), fsp, '"1"')
    assert caught.value.extra["current"] == '"2"'
    assert registry.info(asset).version == 2


def test_only_the_owner_updates(registry):
    owner, other = make_fsp(registry, "00000001"), make_fsp(registry, "00000002")
    asset = register_asset(registry, owner)
    with pytest.raises(Forbidden):
        registry.update(asset, read_bytes(changed(asset, "4.0"), "turtle"), other, '"1"')


def test_simultaneous_updates_never_silently_lose_one(disk_settings):
    registry = Registry(disk_settings)
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    outcomes = []
    barrier = threading.Barrier(8)

    def update(capacity: str) -> None:
        barrier.wait()
        try:
            registry.update(asset, read_bytes(changed(asset, capacity), "turtle"), fsp, '"1"')
            outcomes.append("updated")
        except PreconditionFailed:
            outcomes.append("stale")

    threads = [threading.Thread(target=update, args=(f"{n}.5",)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale"] * 7 + ["updated"]
    assert registry.info(asset).version == 2
    registry.close()


def test_every_version_is_kept_and_readable_as_of_a_time(registry):
    fsp = make_fsp(registry, "00000001")
    asset = register_asset(registry, fsp)
    time.sleep(0.01)  # the two versions get different times (the clock has a resolution)
    between = registry.history(asset, fsp)[0]["time"]
    registry.update(asset, read_bytes(changed(asset, "4.0"), "turtle"), fsp, '"1"')
    history = registry.history(asset, fsp)
    assert [h["version"] for h in history] == [1, 2]
    version, old = registry.version(asset, as_of=between, principal=fsp)
    assert version == 1
    assert any(t.object.value == "5.0" or t.object.value == "5" for t in old)
    _, new = registry.version(asset, 2, principal=fsp)
    assert any(t.object.value == "4" or t.object.value == "4.0" for t in new)
    current = registry.record(asset, fsp)
    assert sorted(map(str, current)) == sorted(map(str, new))
