"""The results table: rows of (scenario, size, measure, registry, peer, ratio, target), written as
JSON (``bench/results.json``) and as a markdown section of ``docs/performance.md``.

The markdown section sits between two markers, so the hand-written analysis around it survives
a new run.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
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


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        START,
        f"Measured {meta['started']} with `{meta['command']}` ({meta['elapsed_s']:.0f} s in all).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; Python {m['python']}, "
        f"pyoxigraph {m['pyoxigraph']}, pySHACL {m['pyshacl']}. Load average when the run "
        f"started: {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])} (a shared machine: "
        "wall times include other programs' use of the cores).",
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
