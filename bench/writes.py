"""Scenarios 1 and 2: bulk registration against a raw bulk load, and one asset over HTTP.

Bulk registration goes through ``Registry.register`` in chunks, the path ``fdi load`` and bulk
jobs take: parse, normalise, validate every record (with the stored records the cross-record
rules need), mint IRIs, journal (fsync'd, hash-chained, receipts signed), index. The peer is
what Oxigraph alone does with the same triples: ``Store.bulk_load`` of the ``fdi demo`` file
into an empty on-disk store, the fastest way in.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from bench.measure import Clock, Sample, clock
from registry.assembly import Registry
from registry.base.settings import Settings
from registry.operations.demo import generate, local_iri
from registry.operations.demo_files import chunks, resolve_references
from registry.submissions.csvformat import asset_triples
from registry.submissions.formats import Parsed

CHUNK = 2000  # records per registration (one journal entry each)
# The ``fdi`` command, run with this interpreter (so it works before ``pip install`` too).
FDI = [sys.executable, "-c", "from api.cli import main; main()"]
BASE = "http://localhost:8000/"


def demo_file(size: int, workdir: Path) -> Path:
    """The demo registry of ``size`` assets as N-Triples, written once by ``fdi demo``."""
    out = workdir / f"demo-{size}.nt"
    if not out.exists():
        tmp = out.with_suffix(".part.nt")
        subprocess.run(
            [*FDI, "demo", "--assets", str(size), "--out", str(tmp)],
            check=True,
            capture_output=True,
        )
        tmp.rename(out)
    return out


def raw_bulk_load(data: Path, workdir: Path) -> dict[str, Any]:
    """Oxigraph's own bulk load of the demo file into an empty on-disk store."""
    location = workdir / f"raw-{uuid.uuid4().hex[:8]}"
    store = ox.Store(str(location))
    with clock() as took:
        store.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES)
        store.flush()
    triples = len(store)
    del store
    return {
        "triples": triples,
        "wall_s": took.wall,
        "cpu_s": took.cpu,
        "triples_per_s": triples / took.wall,
    }


def register_demo(size: int, data_dir: Path) -> dict[str, Any]:
    """Register the demo (organisations, assets, rights) through validation; figures.

    The clock runs only inside ``Registry.register``: making the demo's rows and their triples
    (about a tenth of the whole) is input preparation, as reading the file is for the peer.
    """
    registry = Registry(Settings(data_dir=data_dir, base_iri=BASE))
    demo = generate(size)
    minted: dict[str, str] = {}
    records = 0
    inside = Clock()

    def register(triples: list[ox.Triple]) -> None:
        nonlocal records
        with clock() as took:
            registration = registry.register(Parsed("bench", "turtle", triples), actor="bench")
        inside.wall += took.wall
        inside.cpu += took.cpu
        minted.update(registration.ids)
        records += len(registration.ids)

    with clock() as whole:
        register([t for o in demo.organisations for t in o.triples()])
        for rows in chunks(demo.asset_rows, CHUNK):
            register([t for row in rows for t in asset_triples(local_iri(row["id"]), row)])
        for rights in chunks(demo.rights(), CHUNK):
            register(resolve_references([t for r in rights for t in r.triples()], minted))
    triples = sum(
        1 for _ in registry.index.store.quads_for_pattern(None, None, None, registry.public_graph)
    )
    registry.close()
    return {
        "records": records,
        "triples": triples,
        "wall_s": inside.wall,
        "cpu_s": inside.cpu,
        "wall_with_input_s": whole.wall,
        "triples_per_s": triples / inside.wall,
        "assets_per_s": size / inside.wall,
    }


def new_assets(size: int, count: int) -> list[bytes]:
    """Demo assets ``size + 1`` to ``size + count`` (not yet registered), one Turtle each.

    The demo's rows come from one random stream, so the first ``size`` are made too (about
    13 s for 1,000,000) but dropped as they come: only ``count`` rows are kept.
    """
    rows = islice(generate(size + count).asset_rows, size, None)
    return [
        ox.serialize(asset_triples(local_iri(row["id"]), row), format=ox.RdfFormat.TURTLE)
        for row in rows
    ]


def http_registrations(url: str, bodies: list[bytes], headers: dict[str, str]) -> Sample:
    """POST each body to ``/submissions`` (as the FSP ``headers`` present); the latencies."""
    sample = Sample()
    with httpx.Client(timeout=60) as client:
        for body in bodies:
            response = client.post(
                url + "/submissions",
                content=body,
                headers={**headers, "Content-Type": "text/turtle"},
            )
            if response.status_code != 201:
                raise RuntimeError(
                    f"/submissions answered {response.status_code}: {response.text[:300]}"
                )
            sample.values.append(response.elapsed.total_seconds())
    return sample


def oxigraph_inserts(url: str, bodies: list[bytes]) -> Sample:
    """The same records as SPARQL INSERT DATA to ``oxigraph serve`` (what a bare store does)."""
    sample = Sample()
    with httpx.Client(timeout=60) as client:
        for body in bodies:
            triples = ox.parse(body, format=ox.RdfFormat.TURTLE)
            update = "INSERT DATA { " + " ".join(f"{t} ." for t in triples) + " }"
            response = client.post(
                url + "/update",
                content=update.encode(),
                headers={"Content-Type": "application/sparql-update"},
            )
            if response.status_code >= 300:
                raise RuntimeError(f"oxigraph /update answered {response.status_code}")
            sample.values.append(response.elapsed.total_seconds())
    return sample
