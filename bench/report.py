"""The results table: rows of (scenario, size, measure, registry, peer, ratio, target), written as
JSON (``bench/results.json``) and as a markdown section of ``docs/performance.md``.

The markdown section sits between two markers, so the hand-written analysis around it survives
a new run. A run can keep the sizes of an earlier run that it does not measure again
(:func:`merge`, ``python -m bench --keep-other-sizes``): each row says which size's run it came
from (``run_size``), and ``runs`` which command measured each size, and when.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


@dataclass
class Row:
    scenario: str
    size: int
    measure: str
    unit: str
    registry: float | None
    peer: str = ""
    peer_value: float | None = None
    ratio: float | None = None  # registry / peer, in the unit's own sense
    target: str = ""
    met: bool | None = None
    note: str = ""
    run_size: int | None = None  # the size whose run measured it (``size`` can be a sample's)


def ratio(registry: float | None, peer: float | None) -> float | None:
    if registry is None or peer is None or peer == 0 or math.isnan(registry) or math.isnan(peer):
        return None
    return registry / peer


def _number(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit in ("ms", "s"):
        return f"{value:,.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:,.3g} {unit}"


def _machine(m: dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; Python {m['python']}, "
        f"pyoxigraph {m['pyoxigraph']}, pySHACL {m['pyshacl']}"
    )


def _load(m: dict[str, Any]) -> str:
    return ", ".join(f"{x:.1f}" for x in m["load_average_at_start"])


def _sizes(sizes: list[int]) -> str:
    named = [f"{s:,}" for s in sizes]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def _header(meta: dict[str, Any]) -> list[str]:
    runs = meta.get("runs") or []
    if len(runs) <= 1:
        m = meta["machine"]
        return [
            f"Measured {meta['started']} with `{meta['command']}` "
            f"({meta['elapsed_s']:.0f} s in all).",
            "",
            f"Machine: {_machine(m)}. Load average when the run started: {_load(m)} (a shared "
            "machine: wall times include other programs' use of the cores).",
        ]
    machines = {_machine(run["machine"]) for run in runs}
    lines = [f"Measured in {len(runs)} runs; each size's figures come from one of them:", ""]
    for run in runs:
        where = "" if len(machines) == 1 else f" on {_machine(run['machine'])}"
        lines.append(
            f"- {_sizes(run['sizes'])} assets: measured {run['started']} with "
            f"`{run['command']}` ({run['elapsed_s']:.0f} s in all){where}; load average when "
            f"the run started: {_load(run['machine'])}."
        )
    lines.append("")
    if len(machines) == 1:
        lines.append(
            f"Machine: {machines.pop()} (a shared machine: wall times include other programs' "
            "use of the cores)."
        )
    else:
        lines.append(
            "The runs were on different machines (above): compare sizes with care. Wall times "
            "include other programs' use of the cores."
        )
    return lines


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        START,
        *_header(meta),
        "",
        "| scenario | assets | measure | registry | peer | peer value | ratio | target | met |",
        "|---|---:|---|---:|---|---:|---:|---|:-:|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        ratio_text = "–" if r.ratio is None else f"{r.ratio:.2f}x"
        lines.append(
            f"| {r.scenario} | {r.size:,} | {r.measure}{' (' + r.note + ')' if r.note else ''} | "
            f"{_number(r.registry, r.unit)} | {r.peer} | {_number(r.peer_value, r.unit)} | "
            f"{ratio_text} | {r.target} | {met} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def read_previous(path: Path) -> dict[str, Any] | None:
    """An earlier ``results.json``; None if there is none. Raises ValueError if it is not one."""
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
        raise ValueError(f"{path} has no rows: not a benchmark result")
    return document


def _run_of(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("command", "started", "elapsed_s", "machine", "sizes")}


def merge(
    previous: dict[str, Any] | None,
    rows: list[Row],
    meta: dict[str, Any],
    raw: dict[str, Any],
) -> tuple[list[Row], dict[str, Any], dict[str, Any]]:
    """This run's rows, meta and raw details, plus those of ``previous`` (an earlier
    ``results.json``) for the sizes this run did not measure; rows and details by size.

    ``meta["runs"]`` lists each run that still has sizes in the result (its command, start,
    time, machine and those sizes); ``meta["sizes"]`` becomes every size in the result.
    Rows of a file written before rows said their run (``run_size``) are given to the size
    of the bulk registration row that starts each size's rows.
    """
    measured = list(meta["sizes"])
    runs = [{**_run_of(meta), "sizes": measured}]
    if not previous:
        return rows, {**meta, "runs": runs}, raw
    known = {f.name for f in fields(Row)}
    old_sizes = previous.get("sizes", [])
    kept: list[Row] = []
    current = None
    for r in previous["rows"]:
        run = r.get("run_size")
        if run is None:
            if current is None or (r["size"] in old_sizes and r["scenario"].startswith("1 ")):
                current = r["size"]
            run = current
        if run not in measured:
            kept.append(Row(**{**{k: v for k, v in r.items() if k in known}, "run_size": run}))
    kept_sizes = {r.run_size for r in kept}
    earlier = previous.get("runs") or [_run_of(previous)]
    for run in earlier:
        sizes = [s for s in run["sizes"] if s in kept_sizes]
        if sizes:
            runs.insert(-1, {**run, "sizes": sizes})
    every = sorted(kept_sizes | set(measured))
    merged = sorted(kept + rows, key=lambda r: every.index(r.run_size))
    old_raw = previous.get("raw", {})
    details = {str(s): raw[str(s)] if s in measured else old_raw.get(str(s), {}) for s in every}
    return merged, {**meta, "sizes": every, "runs": runs}, details


def write(
    rows: list[Row], meta: dict[str, Any], raw: dict[str, Any], json_path: Path, markdown_path: Path
) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    document = _clean({**meta, "rows": [asdict(r) for r in rows], "raw": raw})
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    section = markdown(rows, meta)
    text = markdown_path.read_text() if markdown_path.exists() else ""
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = f"# Performance\n\n{section}\n"
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(text)


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become null, tuples lists, paths strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
