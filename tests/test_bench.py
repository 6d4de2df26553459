"""The benchmark runs end to end (speed itself is never asserted: see docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.measure import repeat
from bench.report import Row, merge

ROOT = Path(__file__).resolve().parent.parent


def _bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--quick", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        timeout=600,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def _published() -> dict[str, bytes]:
    return {p: (ROOT / p).read_bytes() for p in ("bench/results.json", "docs/performance.md")}


def test_item_8_quick_benchmark_writes_to_its_scratch_folder_and_finds_its_peers(
    tmp_path: Path,
) -> None:
    """Issue 11 item 8: without --publish the published results stay as they are, and the
    peers beside the interpreter are found with that interpreter's folder off PATH (a virtual
    environment used without activating it)."""
    before = _published()
    bare = {**os.environ, "PATH": "/usr/bin:/bin"}
    _bench(tmp_path, "--sizes", "200", env=bare)
    assert _published() == before
    results, markdown = tmp_path / "out" / "results.json", tmp_path / "out" / "performance.md"
    document = json.loads(results.read_text())
    scenarios = {row["scenario"].split()[0] for row in document["rows"]}
    assert scenarios == {"1", "2", "3", "4", "5", "6"}
    assert [r["measure"] for r in document["rows"] if "not measured" in r["measure"]] == []
    assert document["machine"]["oxigraph_cli"] is True
    assert document["machine"]["cores"] and document["command"].startswith("python -m bench")
    assert "<!-- bench:results:start -->" in markdown.read_text()
    assert "Measured in" not in markdown.read_text()  # one run: the usual header


def test_quick_benchmark_keeps_other_sizes_and_budgets(tmp_path: Path) -> None:
    results, markdown = tmp_path / "results.json", tmp_path / "performance.md"
    files = ("--json", str(results), "--markdown", str(markdown))
    _bench(tmp_path, "--sizes", "200", *files)
    # A second size kept beside the first; over --rdflib-limit and --budget-above.
    _bench(
        tmp_path,
        "--sizes",
        "120",
        "--keep-other-sizes",
        "--rdflib-limit",
        "100",
        "--budget-above",
        "100",
        "--budget",
        "0.001",
        *files,
    )
    document = json.loads(results.read_text())
    assert document["sizes"] == [120, 200] and list(document["raw"]) == ["120", "200"]
    assert [run["sizes"] for run in document["runs"]] == [[200], [120]]
    assert {row["run_size"] for row in document["rows"]} == {120, 200}
    skipped = [r for r in document["rows"] if r["measure"] == "rdflib-endpoint not measured"]
    assert [r["size"] for r in skipped] == [120]
    sparql = document["raw"]["120"]["sparql"]["registry"]
    assert sparql["budget_s"] == 0.001 and sparql["latency"]["lookup by MPAN"]["n"] == 3
    assert all(n >= 4 for n in sparql["requests"].values())  # one request per client at least
    text = markdown.read_text()
    assert "Measured in 2 runs" in text and "budget 0.001 s: n=" in text


def test_repeat_stops_at_its_budget_with_a_minimum() -> None:
    assert len(repeat(lambda: None, 30, warmup=0).values) == 30
    assert len(repeat(lambda: None, 30, warmup=0, budget=0.0).values) == 3
    assert len(repeat(lambda: None, 2, warmup=0, budget=0.0).values) == 2


def test_merge_gives_rows_of_an_older_file_to_their_run() -> None:
    """A results file from before rows named their run: each size's rows start with its bulk
    registration, and a sample's row (size 1,000) belongs to the size around it."""
    machine = {"cpu": "x", "load_average_at_start": [0.0, 0.0, 0.0]}

    def row(scenario: str, size: int) -> dict[str, object]:
        return {"scenario": scenario, "size": size, "measure": "m", "unit": "s", "registry": 1.0}

    previous = {
        "command": "python -m bench --sizes 1000,10000",
        "started": "earlier",
        "elapsed_s": 1.0,
        "machine": machine,
        "sizes": [1000, 10000],
        "rows": [
            row("1 bulk registration", 1000),
            row("3 validation", 1000),
            row("1 bulk registration", 10000),
            row("3 validation", 1000),  # the 10,000 run's 1,000-asset pySHACL sample
            row("4 /sparql", 10000),
        ],
        "raw": {"1000": {"a": 1}, "10000": {"b": 2}},
    }
    meta = {"command": "now", "started": "now", "elapsed_s": 2.0, "machine": machine}
    new = [Row("1 bulk registration", 1000, "m", "s", 2.0, run_size=1000)]
    rows, merged, raw = merge(previous, new, {**meta, "sizes": [1000]}, {"1000": {"c": 3}})
    assert [(r.run_size, r.size, r.registry) for r in rows] == [
        (1000, 1000, 2.0),
        (10000, 10000, 1.0),
        (10000, 1000, 1.0),
        (10000, 10000, 1.0),
    ]
    assert raw == {"1000": {"c": 3}, "10000": {"b": 2}}
    assert [(run["command"], run["sizes"]) for run in merged["runs"]] == [
        ("python -m bench --sizes 1000,10000", [10000]),
        ("now", [1000]),
    ]


def test_the_replicas_benchmark_measures_every_row(tmp_path: Path) -> None:
    """python -m bench.replicas: writes on SQLite, PostgreSQL and three replicas; reads on one
    and two replicas (Debian's PostgreSQL, started for the run)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.replicas", "--seconds", "1", "--clients", "2"]
        + ["--out", str(tmp_path)],
        cwd=ROOT,
        timeout=600,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    results = json.loads((tmp_path / "replicas.json").read_text())
    rows = ["writes_sqlite", "writes_postgres", "writes_postgres_3_replicas"]
    rows += ["reads_1_replica", "reads_2_replicas"]
    for row in rows:
        assert results[row]["requests"] > 0 and results[row]["failures"] == [], row
    assert [results[r]["servers"] for r in rows] == [1, 1, 3, 1, 2]
    assert (
        "| Reads (GET an asset) | 2 replicas, PostgreSQL |"
        in (tmp_path / "replicas.md").read_text()
    )
