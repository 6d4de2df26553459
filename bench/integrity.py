"""What receipts, journal verification, backup and restore cost.

    python bench/integrity.py [--assets 20000] [--small 5000]

1. Receipt cost per write: the canonical hashes and the signature, timed inside real
   registrations (one asset per submission, and batches of 500 demo assets).
2. ``fdi journal verify``, ``fdi backup`` and ``fdi restore`` (index rebuilt) on an on-disk
   registry holding the demo assets plus ``--small`` one-record entries.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from registry.assembly import Registry
from registry.base.settings import Settings
from registry.base.vocab import FDI
from registry.operations.demo_files import load_demo
from registry.proof import receipts

BASE = "http://bench.example/"


class Timed:
    """Wrap a function and add up the time spent in it."""

    def __init__(self, fn):
        self.fn, self.total, self.calls = fn, 0.0, 0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.total += time.perf_counter() - started
            self.calls += 1


def fdi(*args: str) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-c", "from api.cli import main; main()", *args]
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    args = parser.parse_args()
    hashes, issue = Timed(receipts.record_hashes), Timed(receipts.issue)
    receipts.record_hashes, receipts.issue = (
        hashes,
        issue,
    )  # registry.kernel.core calls them by module
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        registry = Registry(Settings(data_dir=data, base_iri=BASE))
        started = time.perf_counter()
        load_demo(registry, assets=args.assets)
        demo_s = time.perf_counter() - started
        demo_hash, demo_sign, demo_writes = hashes.total, issue.total, issue.calls
        hashes.total = issue.total = 0.0
        issue.calls = 0
        started = time.perf_counter()
        for i in range(args.small):
            iri = ox.NamedNode(f"{BASE}id/asset/small-{i}")
            with registry.transaction("bench", "register") as tx:
                tx.put(iri, FDI.FlexibleAsset, [ox.Triple(iri, FDI.mpanCore, ox.Literal(str(i)))])
        small_s = time.perf_counter() - started
        entries = registry.journal.last()[0]
        registry.close()
        size = (data / "journal.sqlite").stat().st_size
        print(
            f"demo: {args.assets} assets in {demo_writes} writes, {demo_s:.1f} s; receipts "
            f"{demo_hash:.2f} s hashing + {demo_sign:.2f} s signing "
            f"({(demo_hash + demo_sign) / demo_s:.1%} of the time)"
        )
        print(
            f"small writes: {args.small} in {small_s:.1f} s ({small_s / args.small * 1e3:.2f} ms "
            f"each); receipt {(hashes.total + issue.total) / args.small * 1e3:.3f} ms each "
            f"(hash {hashes.total / args.small * 1e3:.3f}, "
            f"sign+store {issue.total / args.small * 1e3:.3f})"
        )
        print(f"journal: {entries} entries, {size / 1e6:.1f} MB")
        print(f"fdi journal verify: {fdi('journal', 'verify', '--data-dir', str(data)):.2f} s")
        backup = fdi("backup", str(Path(tmp) / "b"), "--data-dir", str(data))
        print(f"fdi backup:         {backup:.2f} s")
        restore = fdi("restore", str(Path(tmp) / "b"), "--data-dir", str(Path(tmp) / "r"))
        print(f"fdi restore:        {restore:.2f} s (index rebuilt from the journal)")


if __name__ == "__main__":
    main()
