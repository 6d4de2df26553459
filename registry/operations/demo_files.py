"""The demo written to a file (Turtle, N-Triples or CSV) or loaded into a registry."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import UnsupportedFormat
from registry.base.vocab import FDI, PREFIXES, RECORD_TYPES
from registry.operations.demo import generate, local_iri
from registry.submissions.csvformat import HEADER, asset_triples
from registry.submissions.formats import SUBMISSION_BASE, Parsed
from registry.submissions.records import local_id

if TYPE_CHECKING:
    from registry.kernel.core import Registry

CHUNK = 2000  # assets serialised per write
T = TypeVar("T")
_RDF_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}
# Local IDs are written as ":asset-000001" (pyoxigraph's base_iri would also shorten http IRIs).
_USED = (
    "rdf",
    "rdfs",
    "xsd",
    "fdi",
    "tech",
    "qudt",
    "unit",
    "saref",
    "rov",
    "foaf",
    "dcat",
    "vcard",
)
TURTLE_PREFIXES = {"": SUBMISSION_BASE} | {name: PREFIXES[name] for name in _USED}


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _subject_first(triples: list[ox.Triple]) -> list[ox.Triple]:
    """A record's own triples before its child nodes', so Turtle groups each subject once."""
    subject = triples[0].subject
    return [t for t in triples if t.subject == subject] + [
        t for t in triples if t.subject != subject
    ]


def write_demo(out: Path, assets: int = 5000, seed: int = 1) -> dict[str, int]:
    """Write a demo to ``out``: every record as ``.ttl`` or ``.nt``, or the assets as ``.csv``.

    Records keep their local IRIs (under ``formats.SUBMISSION_BASE``), so the file reads back as
    one submission. Returns the number of records written by kind (the registry's kind names).
    Raises UnsupportedFormat for any other suffix.
    """
    demo = generate(assets, seed)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(demo.asset_rows)
        return {"asset": assets}
    if suffix not in _RDF_FORMATS:
        raise UnsupportedFormat(f"{out.name}: the demo is written as .ttl, .nt or .csv")
    rdf_format = _RDF_FORMATS[suffix]
    turtle = suffix == ".ttl"
    prefixes = TURTLE_PREFIXES if turtle else None
    counts = {"org": len(demo.organisations), "asset": 0, "right-to-operate": 0}
    with out.open("wb") as f:
        orgs = [t for o in demo.organisations for t in o.triples()]
        f.write(rdf.serialize(orgs, rdf_format, prefixes))
        # Each chunk is a complete document (Turtle repeats its prefixes): bounded memory.
        for chunk in chunks(demo.assets_with_rights(), CHUNK):
            triples: list[ox.Triple] = []
            for row, right in chunk:
                asset = asset_triples(local_iri(row["id"]), row)
                triples += _subject_first(asset) if turtle else asset
                if right is not None:
                    triples += right.triples()
                    counts["right-to-operate"] += 1
            counts["asset"] += len(chunk)
            f.write(rdf.serialize(triples, rdf_format, prefixes))
    return counts


def load_demo(
    registry: Registry, assets: int = 5000, seed: int = 1, batch: int = 500
) -> dict[str, int]:
    """Load a demo into ``registry`` as actor ``demo``; returns the records added by kind.

    Organisations go first, then assets and rights to operate in batches of ``batch``; rights
    name their asset and operator by the IRIs the registry minted for them.
    """
    demo = generate(assets, seed)
    minted: dict[str, str] = {}
    counts = dict.fromkeys(RECORD_TYPES.values(), 0)

    def register(triples: list[ox.Triple], kind: str) -> None:
        # The generator's output is checked against the shapes by tests/test_demo.py; loading
        # it unchecked keeps `fdi serve --demo` starting in seconds.
        registration = registry.import_records(Parsed("demo", "turtle", triples), actor="demo")
        minted.update(registration.ids)
        counts[kind] += len(registration.ids)

    register([t for o in demo.organisations for t in o.triples()], "org")
    for rows in chunks(demo.asset_rows, batch):
        register([t for row in rows for t in asset_triples(local_iri(row["id"]), row)], "asset")
    for rights in chunks(demo.rights(), batch):
        triples = [t for right in rights for t in right.triples()]
        register(resolve_references(triples, minted), "right-to-operate")
    return {kind: n for kind, n in counts.items() if n}


def resolve_references(triples: list[ox.Triple], minted: Mapping[str, str]) -> list[ox.Triple]:
    """Point ``fdi:asset`` and ``fdi:operator`` at minted IRIs instead of local ones."""
    out = []
    for t in triples:
        if t.predicate in (FDI.asset, FDI.operator) and isinstance(t.object, ox.NamedNode):
            iri = minted.get(local_id(t.object))
            if iri is not None:
                t = ox.Triple(t.subject, t.predicate, ox.NamedNode(iri))
        out.append(t)
    return out
