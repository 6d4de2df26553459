"""``python -m bench.replicas``: the journal on PostgreSQL against SQLite, and replicas.

    python -m bench.replicas                  # 20 s per measurement, 8 clients
    python -m bench.replicas --seconds 5 --clients 4   # a smoke run

Three measurements, each over HTTP with ``--clients`` concurrent clients for ``--seconds``:

1. **Write throughput**: each client POSTs new assets (one Turtle asset per request, as an FSP
   with a real certificate forwarded by the proxy) to one ``fdi serve`` whose journal is a
   SQLite file, then to one whose journal is in PostgreSQL, then spread over three replicas
   sharing that PostgreSQL journal. Every server keeps its index on disk (embedded Oxigraph).
2. **Read throughput**: each client GETs stored assets (Turtle) from one replica, then from
   two replicas (clients alternate), over the PostgreSQL journal.

PostgreSQL is Debian's, started in a temporary directory for the run (``tests/postgres.py``;
``fsync`` on, as in production). The results go to ``--out`` (default ``bench/out``) as
``replicas.json`` and ``replicas.md``; docs/performance.md quotes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.measure import Server, free_port, machine
from bench.onboarding import PROXY_ENV, onboard_fsp
from bench.writes import FDI, new_assets

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    from tests import postgres  # the throw-away cluster the tests use

    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="fdi-bench-replicas-"))
    # More than three runs write on this machine; a run that writes them all stops early
    # (its rate is still measured), never fails (an exhausted iterator's error says nothing).
    bodies = iter(new_assets(0, int(args.seconds * 600)))
    results: dict[str, Any] = {
        "command": "python -m bench.replicas " + " ".join(sys.argv[1:] if argv is None else argv),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "clients": args.clients,
        "seconds": args.seconds,
    }
    started: list[Deployment] = []  # stopped whatever happens

    def deploy(directory: Path, url: str, count: int, reuse: bool = False) -> Deployment:
        started.append(_deployment(directory, url, count, reuse))
        return started[-1]

    try:
        with postgres.cluster() as cluster:
            sqlite = deploy(scratch / "sqlite", "", 1)
            results["writes_sqlite"] = _measure(sqlite, _writer(bodies), args)
            _stop(sqlite)
            url = cluster.database()
            single = deploy(scratch / "pg", url, 1)
            stored: list[str] = []
            results["writes_postgres"] = _measure(single, _writer(bodies, stored), args)
            _stop(single)
            three = deploy(scratch / "pg", url, 3, reuse=True)
            results["writes_postgres_3_replicas"] = _measure(three, _writer(bodies), args)
            results["reads_1_replica"] = _measure((three[0][:1], three[1]), _reader(stored), args)
            results["reads_2_replicas"] = _measure((three[0][:2], three[1]), _reader(stored), args)
            for deployment in started:
                _stop(deployment)
    finally:
        for deployment in started:
            _stop(deployment)
        shutil.rmtree(scratch, ignore_errors=True)
    (args.out / "replicas.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "replicas.md").write_text(table(results))
    print(table(results))
    return 0


Deployment = tuple[list[tuple[Server, str]], dict[str, str]]


def _deployment(directory: Path, url: str, count: int, reuse: bool = False) -> Deployment:
    """``count`` servers (own data directory and on-disk index each) over the journal at
    ``url`` (SQLite in the first data directory if empty); the FSP's headers."""
    base_iri = "http://registry.bench/"
    first = directory / "r0"
    headers_file = directory / "headers.json"
    if reuse:
        headers = json.loads(headers_file.read_text())
    else:
        headers = onboard_fsp(first, base_iri, journal_url=url)
        headers_file.write_text(json.dumps(headers))
    servers = []
    for i in range(count):
        data = directory / f"r{i}"
        if i and not data.exists():  # the same CA and keys on every replica
            shutil.copytree(first, data, ignore=shutil.ignore_patterns("index", "journal.*"))
        port = free_port()
        env = {**_environ(), **PROXY_ENV, "FDI_BASE_IRI": base_iri, "FDI_JOURNAL_URL": url}
        argv = [*FDI, "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
        log = directory / f"server-{i}.log"
        server = Server(f"replica {i}", argv, f"http://127.0.0.1:{port}", "/ns", log, env)
        servers.append((server.start(), server.url))
    return [(s, u) for s, u in servers], headers


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("FDI_")}


def _stop(deployment: Deployment) -> None:
    for server, _ in deployment[0]:
        server.stop()


Work = Callable[[httpx.Client, str, dict[str, str]], None]


class _Exhausted(Exception):
    """Every prepared body was written: the run ends there."""


def _writer(bodies: Any, created: list[str] | None = None) -> Work:
    """POST a new asset; its IRI is added to ``created``."""
    lock = threading.Lock()

    def write(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
        with lock:
            body = next(bodies, None)
        if body is None:
            raise _Exhausted
        answer = client.post(
            url + "/assets", content=body, headers={**headers, "Content-Type": "text/turtle"}
        )
        if answer.status_code != 201:
            raise RuntimeError(f"/assets answered {answer.status_code}: {answer.text[:300]}")
        if created is not None:
            created.append(answer.headers["location"])

    return write


def _reader(paths: list[str]) -> Work:
    turn = itertools.count()

    def read(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
        iri = paths[next(turn) % len(paths)]
        path = "/" + iri.split("/", 3)[3]
        answer = client.get(url + path, headers={**headers, "Accept": "text/turtle"})
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")

    return read


def _measure(deployment: Deployment, work: Work, args: argparse.Namespace) -> dict[str, Any]:
    """Requests per second with ``args.clients`` clients over the deployment's servers."""
    servers, headers = deployment
    counts = [0] * args.clients
    failures: list[str] = []
    stop = time.perf_counter() + args.seconds

    def client(i: int) -> None:
        url = servers[i % len(servers)][1]
        with httpx.Client(timeout=60) as http:
            while time.perf_counter() < stop:
                try:
                    work(http, url, headers)
                except _Exhausted:
                    return
                except Exception as e:  # noqa: BLE001 - reported with the results
                    failures.append(f"{type(e).__name__}: {e}")
                    return
                counts[i] += 1

    begin = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - begin
    return {
        "servers": len(servers),
        "requests": sum(counts),
        "seconds": took,
        "per_s": sum(counts) / took,
        "failures": failures[:3],
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        ("Writes (POST /assets)", "1 server, journal in SQLite", "writes_sqlite"),
        ("Writes (POST /assets)", "1 server, journal in PostgreSQL", "writes_postgres"),
        ("Writes (POST /assets)", "3 replicas, PostgreSQL", "writes_postgres_3_replicas"),
        ("Reads (GET an asset)", "1 replica, PostgreSQL", "reads_1_replica"),
        ("Reads (GET an asset)", "2 replicas, PostgreSQL", "reads_2_replicas"),
    ]
    lines = [
        f"{results['clients']} clients, {results['seconds']:.0f} s each; "
        f"`{results['command'].strip()}`, {results['started']}.",
        "",
        "| Measurement | Deployment | Requests/s | Requests |",
        "|---|---|---:|---:|",
    ]
    for what, where, key in rows:
        r = results.get(key)
        if r:
            failed = f" (failed: {r['failures'][0][:80]})" if r["failures"] else ""
            lines.append(f"| {what} | {where} | {r['per_s']:.1f}{failed} | {r['requests']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
