"""The benchmark runs end to end (speed itself is never asserted: see docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_writes_valid_json(tmp_path: Path) -> None:
    results, markdown = tmp_path / "results.json", tmp_path / "performance.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "200",
            "--quick",
            "--out",
            str(tmp_path / "out"),
            "--json",
            str(results),
            "--markdown",
            str(markdown),
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
        capture_output=True,
    )
    document = json.loads(results.read_text())
    scenarios = {row["scenario"].split()[0] for row in document["rows"]}
    assert scenarios == {"1", "2", "3", "4", "5", "6"}
    assert document["machine"]["cores"] and document["command"].startswith("python -m bench")
    assert "<!-- bench:results:start -->" in markdown.read_text()
