"""``python -m bench``: the registry's speed and size, side by side with the alternatives.

    python -m bench                      # 10,000 assets (a few minutes)
    python -m bench --sizes 10000,100000
    python -m bench --sizes 1000000 --keep-other-sizes   # about an hour; keeps 10k/100k rows
    python -m bench --million            # adds 1,000,000 assets to --sizes
    python -m bench --sizes 200 --quick  # a smoke run (fewer repetitions, small samples)
    python -m bench --sizes 10000,100000 --publish   # update the published results

Data comes from ``fdi demo``; each size runs every scenario and the results (medians, 95th
percentiles, ratios to the peer measured in the same run) go to ``results.json`` and
``performance.md`` in the scratch folder (``--out``, default ``bench/out``); ``--publish``
writes them to the published ``bench/results.json`` and ``docs/performance.md`` instead.
The peers, ``oxigraph`` (the server) and ``rdflib-endpoint``, come with the test and bench
extras and are found beside the interpreter that runs the benchmark (so an unactivated virtual
environment's own), then on ``PATH``; a missing peer is reported, not fatal, and
rdflib-endpoint is skipped (and reported so) above ``--rdflib-limit`` assets.

Time budgets: above ``--budget-above`` assets (default 100,000, so 10,000 and 100,000 keep
their fixed counts), each SPARQL measurement of each endpoint stops after ``--budget`` seconds
(default 20) as well as after its count: latencies once at least 3 were timed, throughput once
every client has sent one. The JSON records how many requests were measured, and the table's
note says ``n=...`` where a budget cut a measurement short.

The registry's server gets a 600 s per-query limit (``FDI_QUERY_TIMEOUT``; the default 10 s
would stop the 1,000,000-asset aggregates).

``--keep-other-sizes`` merges: the sizes in the existing ``--json`` file that this run does not
measure keep their rows and details, and the markdown says which command and date each size's
figures came from. Without it, the files hold this run only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from bench import reads, validation, writes
from bench.measure import Server, disk_bytes, free_port, machine, peer_command, repeat
from bench.onboarding import onboard_fsp
from bench.report import Row, merge, ratio, read_previous, write
from registry.assembly import Registry
from registry.base.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
MILLION = 1_000_000


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # A termination signal unwinds like an exception, so the servers started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([MILLION] if args.million else [])
    sizes = list(dict.fromkeys(sizes))
    previous = None
    if args.keep_other_sizes:
        # Read before the run: a file that cannot be merged should stop it now, not in an hour.
        try:
            previous = read_previous(args.json)
        except ValueError as e:
            print(f"--keep-other-sizes: {e}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes,
    }
    begin = time.perf_counter()
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    for size in sizes:
        print(f"== {size:,} assets", flush=True)
        found, details = run_size(size, args)
        for row in found:
            row.run_size = size
        rows += found
        raw[str(size)] = details
    meta["elapsed_s"] = time.perf_counter() - begin
    rows, meta, raw = merge(previous, rows, meta, raw)
    if previous:
        kept = [s for s in meta["sizes"] if s not in sizes]
        print(f"kept from {args.json}: {', '.join(f'{s:,}' for s in kept) or 'no sizes'}")
    write(rows, meta, raw, args.json, args.markdown)
    print(f"wrote {args.json} and {args.markdown}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="10000", help="comma-separated asset counts")
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 assets")
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "out",
        help="working directory for data, stores and server logs",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="write the results to the published bench/results.json and docs/performance.md "
        "(default: results.json and performance.md in --out)",
    )
    parser.add_argument("--json", type=Path, help="where the results go as JSON")
    parser.add_argument("--markdown", type=Path, help="the markdown page the results go into")
    parser.add_argument(
        "--rdflib-limit",
        type=int,
        default=100_000,
        help="largest size rdflib-endpoint is run at (it parses into memory)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=20.0,
        help="seconds after which one SPARQL measurement stops early (above --budget-above)",
    )
    parser.add_argument(
        "--budget-above",
        type=int,
        default=100_000,
        help="sizes above this get the --budget (smaller ones keep their fixed counts)",
    )
    parser.add_argument(
        "--keep-other-sizes",
        action="store_true",
        help="keep the rows and details of sizes in the existing --json file this run does "
        "not measure (e.g. add 1,000,000 to an earlier 10,000 and 100,000)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=1000,
        help="assets in the sample pySHACL validates whole (it is superlinear)",
    )
    args = parser.parse_args(argv)
    published = {
        "json": ROOT / "bench" / "results.json",
        "markdown": ROOT / "docs" / "performance.md",
    }
    scratch = {"json": args.out / "results.json", "markdown": args.out / "performance.md"}
    for name in ("json", "markdown"):
        if getattr(args, name) is None:
            setattr(args, name, (published if args.publish else scratch)[name])
    return args


def run_size(size: int, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    quick = args.quick
    reps = 5 if quick else 30
    work = args.out / f"n{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "servers.log"
    details: dict[str, Any] = {}
    rows: list[Row] = []

    def step(name: str) -> None:
        print(f"   {name}", flush=True)

    step("demo data (fdi demo)")
    data = writes.demo_file(size, args.out)
    step("1. raw bulk load, then bulk registration")
    raw = details["raw_bulk_load"] = writes.raw_bulk_load(data, work)
    for store in work.glob("raw-*"):  # only its time is needed (about 2 GB at 1,000,000)
        shutil.rmtree(store, ignore_errors=True)
    data_dir = work / "registry"
    bulk = details["bulk_registration"] = writes.register_demo(size, data_dir)
    rows.append(
        Row(
            "1 bulk registration",
            size,
            "throughput",
            "triples/s",
            bulk["triples_per_s"],
            "raw pyoxigraph bulk_load",
            raw["triples_per_s"],
            ratio(bulk["triples_per_s"], raw["triples_per_s"]),
            "≥ 0.5x",
            _at_least(ratio(bulk["triples_per_s"], raw["triples_per_s"]), 0.5),
            f"{bulk['assets_per_s']:,.0f} assets/s",
        )
    )
    million_s = bulk["wall_s"] if size == MILLION else MILLION / bulk["assets_per_s"]
    rows.append(
        Row(
            "1 bulk registration",
            size,
            "1,000,000 assets" + ("" if size == MILLION else ", projected"),
            "s",
            million_s,
            "raw bulk_load",
            MILLION / size * raw["wall_s"],
            None,
            "≤ 300 s",
            million_s <= 300,
        )
    )

    new = writes.new_assets(size, 2 * reps)
    registry = Registry(Settings(data_dir=data_dir, base_iri=writes.BASE))
    step("3. validation: one submission, revalidation, pySHACL on a sample")
    compiled = validation.one_submission(registry, new[:reps], "compiled")
    naive_one = validation.one_submission(registry, new[: max(3, reps // 3)], "pyshacl")
    details["one_submission"] = {"compiled": compiled.ms(), "pyshacl": naive_one.ms()}
    rows.append(
        Row(
            "3 validation",
            size,
            "one asset, p50",
            "ms",
            compiled.median * 1000,
            "pySHACL (same check)",
            naive_one.median * 1000,
            ratio(compiled.median, naive_one.median),
            "≤ 10 ms",
            compiled.median <= 0.010,
        )
    )
    rows.append(
        Row(
            "3 validation",
            size,
            "one asset, p95",
            "ms",
            compiled.p95 * 1000,
            "pySHACL (same check)",
            naive_one.p95 * 1000,
            ratio(compiled.p95, naive_one.p95),
        )
    )
    cores = os.cpu_count() or 1
    # The worker processes first: above PRELOAD_LIMIT quads the engine keeps every record it
    # read until the run ends (about 1 GB per 100,000 assets in one process), and this process
    # may not hand that memory back before the workers would need theirs.
    shared = validation.revalidate(registry, workers=cores) if cores > 1 else None
    alone = validation.revalidate(registry)
    shared = shared or alone
    details["revalidation"] = {"one process": alone, f"{cores} processes": shared}
    fastest = min(alone, shared, key=lambda r: r["wall_s"])
    projected = fastest["wall_s"] * MILLION / size
    for reval in {id(r): r for r in (alone, shared)}.values():
        rows.append(
            Row(
                "3 validation",
                size,
                f"revalidate every record, {reval['workers']} process(es)",
                "s",
                reval["wall_s"],
                note=(f"{reval['cpu_s']:.1f} s CPU; " if reval["workers"] == 1 else "")
                + f"{reval['violations']} violations; "
                f"peak RSS {reval['peak_rss_bytes'] / MIB:,.0f} MiB",
            )
        )
    rows.append(
        Row(
            "3 validation",
            size,
            "revalidate 1,000,000 assets" + ("" if size == MILLION else ", projected"),
            "s",
            projected,
            target="≤ 300 s",
            met=projected <= 300,
            note=f"from the faster: {fastest['workers']} process(es)",
        )
    )
    sample = min(size, 100 if quick else args.naive_sample)
    naive = details["naive_peer"] = validation.naive_peer(registry, sample)
    rows.append(
        Row(
            "3 validation",
            sample,
            "whole graph (sample), compiled vs pySHACL",
            "s",
            naive["compiled_wall_s"],
            "pySHACL whole graph",
            naive["pyshacl_wall_s"],
            ratio(naive["compiled_wall_s"], naive["pyshacl_wall_s"]),
            "identical verdicts",
            naive["identical"],
            f"{naive['results']} results",
        )
    )

    step("5. capacity statistics")
    stats = repeat(registry.capacity_statistics, reps)
    scan = repeat(
        lambda: list(registry.index.query(reads.AGGREGATE, [registry.public_graph])),
        3 if not quick else 1,
    )
    details["capacity_statistics"] = {"kept": stats.ms(), "sparql_scan": scan.ms()}
    rows.append(
        Row(
            "5 capacity statistics",
            size,
            "in-process, p50",
            "ms",
            stats.median * 1000,
            "SPARQL aggregate over the index",
            scan.median * 1000,
            ratio(stats.median, scan.median),
            "≤ 50 ms",
            stats.median <= 0.050,
        )
    )
    dump = work / "public.nt"
    registry.index.store.dump(
        output=str(dump), format=ox.RdfFormat.N_TRIPLES, from_graph=registry.public_graph
    )
    registry.close()

    step("4. SPARQL: registry, oxigraph serve, rdflib-endpoint")
    rows += _sparql(size, args, work, data_dir, dump, log, details, reps)
    step("2. one asset over HTTP")
    rows += _http_registration(size, data_dir, log, new[reps:], details)
    step("6. footprint and cold start")
    rows += _footprint(size, work, data_dir, log, details, quick)
    return rows, details


def _sparql(
    size: int,
    args: argparse.Namespace,
    work: Path,
    data_dir: Path,
    dump: Path,
    log: Path,
    details: dict[str, Any],
    reps: int,
) -> list[Row]:
    servers: list[Server] = [reads.registry_server(data_dir, writes.BASE, log)]
    paths = ["/sparql"]
    location = reads.oxigraph_location(dump, work)
    oxigraph = reads.oxigraph_server(location, log) if location else None
    if oxigraph:
        servers.append(oxigraph)
        paths.append("/query")
    skipped: dict[str, str] = {}
    if not oxigraph:
        skipped["oxigraph serve"] = "the oxigraph command is not installed"
    rdflib = None
    if size > args.rdflib_limit:
        skipped["rdflib-endpoint"] = (
            f"skipped: over --rdflib-limit, {args.rdflib_limit:,} assets; it parses the whole "
            "graph into memory"
        )
    else:
        rdflib = reads.rdflib_server(dump, log)
        if not rdflib:
            skipped["rdflib-endpoint"] = "the rdflib-endpoint command is not installed"
    if rdflib:
        servers.append(rdflib)
        paths.append("/")
    details["skipped_peers"] = skipped
    budget = args.budget if size > args.budget_above and args.budget > 0 else None
    endpoints = []
    try:
        for server, path in zip(servers, paths, strict=True):
            server.start(timeout=3600)
            endpoints.append(reads.Endpoint(server.name, server, path))
        details["server_start_s"] = {s.name: s.started_in for s in servers}
        found = details["sparql"] = reads.sparql_comparison(
            endpoints, reads.query_mix(size), reps, 40 if args.quick else 200, budget
        )
        http_stats = reads.statistics_over_http(servers[0], reps)
        details["statistics_http"] = http_stats.ms()
        details["http_floor"] = reads.http_floor(servers[0], reps).ms()
    finally:
        for server in servers:
            server.stop()
    details["disk_bytes"] = {"registry": disk_bytes(data_dir)}
    if location:
        details["disk_bytes"]["oxigraph serve"] = disk_bytes(location)
    rows = []
    ours = found["registry"]
    for kind, latency in ours["latency"].items():
        peer = found.get("oxigraph serve", {}).get("latency", {}).get(kind)
        r = ratio(latency["p50_ms"], peer["p50_ms"] if peer else None)
        lookup = kind != "aggregate by technology and area"
        rows.append(
            Row(
                "4 /sparql",
                size,
                f"{kind}, p50",
                "ms",
                latency["p50_ms"],
                "oxigraph serve",
                peer["p50_ms"] if peer else None,
                r,
                "≤ 1.5x" if lookup else "",
                (r <= 1.5 if r is not None else None) if lookup else None,
                f"p95 {latency['p95_ms']:.1f} ms"
                + _budget_note(found, ["registry", "oxigraph serve"], kind, "latency"),
            )
        )
    rows.append(
        Row(
            "4 /sparql",
            size,
            "HTTP floor: GET /whoami, p50",
            "ms",
            details["http_floor"]["p50_ms"],
            note="the registry's HTTP stack alone, no store",
        )
    )
    for name in ("oxigraph serve", "rdflib-endpoint"):
        if name not in found:
            continue
        for kind, rate in ours["per_s"].items():
            r = ratio(rate, found[name]["per_s"][kind])
            target = "≥ 20x" if name == "rdflib-endpoint" else ""
            met = _at_least(r, 20) if target else None
            rows.append(
                Row(
                    "4 /sparql",
                    size,
                    f"{kind}, 4 clients",
                    "req/s",
                    rate,
                    name,
                    found[name]["per_s"][kind],
                    r,
                    target,
                    met,
                    _budget_note(found, ["registry", name], kind, "throughput").removeprefix("; "),
                )
            )
    for name, why in skipped.items():
        rows.append(Row("4 /sparql", size, f"{name} not measured", "", None, name, note=why))
    rows.append(
        Row(
            "5 capacity statistics",
            size,
            "GET /statistics, p50",
            "ms",
            details["statistics_http"]["p50_ms"],
            target="≤ 50 ms",
            met=details["statistics_http"]["p50_ms"] <= 50,
        )
    )
    return rows


def _http_registration(
    size: int, data_dir: Path, log: Path, bodies: list[bytes], details: dict[str, Any]
) -> list[Row]:
    rows = []
    headers = onboard_fsp(data_dir, writes.BASE)
    with reads.registry_server(data_dir, writes.BASE, log) as server:
        ours = writes.http_registrations(server.url, bodies, headers)
    peer = None
    oxigraph = _memory_oxigraph(log)
    if oxigraph:
        with oxigraph:
            peer = writes.oxigraph_inserts(oxigraph.url, bodies)
    details["http_registration"] = {
        "registry": ours.ms(),
        "oxigraph serve insert": peer.ms() if peer else None,
    }
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        mine = ours.median if q == 0.5 else ours.p95
        theirs = None if peer is None else (peer.median if q == 0.5 else peer.p95)
        rows.append(
            Row(
                "2 one asset over HTTP",
                size,
                name,
                "ms",
                mine * 1000,
                "oxigraph serve INSERT DATA",
                None if theirs is None else theirs * 1000,
                ratio(mine, theirs),
                "≤ 3 ms" if q == 0.5 else "",
                mine <= 0.003 if q == 0.5 else None,
                note="validated, journaled, indexed, receipt signed" if q == 0.5 else "",
            )
        )
    return rows


def _memory_oxigraph(log: Path) -> Server | None:
    oxigraph = peer_command("oxigraph")
    if not oxigraph:
        return None
    port = free_port()
    return Server(
        "oxigraph serve (memory)",
        [oxigraph, "serve", "--bind", f"127.0.0.1:{port}"],
        f"http://127.0.0.1:{port}",
        "/query?query=ASK%7B%7D",
        log,
    )


def _footprint(
    size: int, work: Path, data_dir: Path, log: Path, details: dict[str, Any], quick: bool
) -> list[Row]:
    times = 1 if quick else 3
    ours = reads.cold_starts(lambda: reads.registry_server(data_dir, writes.BASE, log), times)
    location = work / "oxigraph-public"
    peer = (
        reads.cold_starts(lambda: reads.oxigraph_server(location, log), times)
        if (location.exists() and peer_command("oxigraph"))
        else None
    )
    details["cold_start"] = {"registry": ours.ms(), "oxigraph serve": peer.ms() if peer else None}
    sparql = details.get("sparql", {})
    rss = sparql.get("registry", {}).get("rss_bytes", 0) / MIB
    peer_rss = sparql.get("oxigraph serve", {}).get("rss_bytes")
    disk = details["disk_bytes"]
    return [
        Row(
            "6 footprint",
            size,
            "server RSS after the queries",
            "MiB",
            rss,
            "oxigraph serve",
            None if peer_rss is None else peer_rss / MIB,
            ratio(rss, None if peer_rss is None else peer_rss / MIB),
            "≤ 1024 MiB",
            rss <= 1024,
            "server and its query workers",
        ),
        Row(
            "6 footprint",
            size,
            "disk",
            "MiB",
            disk["registry"] / MIB,
            "oxigraph serve",
            disk.get("oxigraph serve", 0) / MIB or None,
            ratio(disk["registry"], disk.get("oxigraph serve")),
            "≤ 2x",
            _at_most(ratio(disk["registry"], disk.get("oxigraph serve")), 2),
            "journal + index + keys",
        ),
        Row(
            "6 footprint",
            size,
            "cold start to first answer, p50",
            "s",
            ours.median,
            "oxigraph serve",
            peer.median if peer else None,
            ratio(ours.median, peer.median if peer else None),
            "≤ 2 s",
            ours.median <= 2,
        ),
    ]


def _budget_note(found: dict[str, Any], names: list[str], kind: str, measure: str) -> str:
    """``; budget 20 s: n=5 registry, 7 oxigraph serve (of 30)`` if the time budget cut the
    ``measure`` (latency or throughput) of ``kind`` short on one of the endpoints, else ""."""

    def counts(entry: dict[str, Any]) -> tuple[int, int]:
        done = entry["latency"][kind]["n"] if measure == "latency" else entry["requests"][kind]
        return done, entry["planned"][kind][measure]

    ran = [(name, counts(found[name])) for name in names if name in found]
    if not any(done < planned for _, (done, planned) in ran):
        return ""
    budget = found[names[0]]["budget_s"]
    measured = ", ".join(f"{done} {name}" for name, (done, _) in ran)
    return f"; budget {budget:g} s: n={measured} (of {ran[0][1][1]})"


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


if __name__ == "__main__":
    sys.exit(main())
