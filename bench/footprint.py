"""``python -m bench.footprint DATA_DIR [ASSETS]``: the registry's RSS after the benchmark's
``/sparql`` phase, on a registry a run left in ``bench/out/n<ASSETS>/registry``.

The same query mix, counts and 20 s budgets as ``python -m bench`` (``bench.reads``), against the
registry's server alone, then the resident memory of the server and its query workers (what the
benchmark's footprint row reads) and the peak while the queries ran. For re-measuring memory
after a change without registering a million assets again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import reads, writes
from bench.measure import peak_rss

MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__)
        return 2
    data = Path(args[0])
    size = int(args[1]) if len(args) > 1 else 1_000_000
    server = reads.registry_server(data, writes.BASE, data.parent / "footprint.log")
    server.start(timeout=600)
    try:
        with peak_rss(server.process.pid, every=0.5) as peak:
            found = reads.sparql_comparison(
                [reads.Endpoint("registry", server, "/sparql")],
                reads.query_mix(size),
                30,
                200,
                budget=20 if size > 100_000 else None,
            )["registry"]
        after = server.rss_bytes()
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "rss_after_queries_mib": round(after / MIB),
                "rss_peak_mib": round(peak.rss_bytes / MIB),
                "latency_ms": found["latency"],
                "per_s": found["per_s"],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
