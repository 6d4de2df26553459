"""Registered flexible capacity, kept current with every journal entry so it is never counted.

Market operators and the home page ask constantly how much flexible capacity is registered, by
technology, licence area (GSP group) and lifecycle status. Counting that over the index means
reading every asset (seconds at a million assets), so the registry keeps the answer instead: a
small aggregate table in the journal database, changed in the same SQLite transaction as the
entry that changes an asset (like the register of records), so it can never disagree with the
journal and is rebuilt from it (:func:`rebuild`). Each asset's own contribution is kept too, so
a new version of an asset moves its capacity rather than counting it twice.

Only current asset records in the register status ``registered`` count. Powers are in kW and
energies in kWh, whatever unit the record gave.

>>> import sqlite3
>>> db = sqlite3.connect(":memory:")  # the journal's database, whose register is indexed too
>>> db.executescript("CREATE TABLE record (type TEXT, graph TEXT);" + SCHEMA) and None
>>> a = ox.NamedNode("http://r/id/asset/1")
>>> triples = [ox.Triple(a, FDI.technology, TECH.HeatPump),
...            ox.Triple(a, FDI.gspGroup, ox.Literal("_C"))]
>>> apply_record(db, {"iri": a.value, "type": ASSET, "status": "registered"}, triples)
>>> [tuple(r) for r in db.execute("SELECT technology, area, status, assets FROM capacity")]
[('HeatPump', '_C', '', 1)]
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.vocab import FDI, QUDT, RECORD_TYPES, TECH, UNIT
from registry.kernel.features import Feature, Known
from registry.store.journal import Entry

if TYPE_CHECKING:
    from registry.kernel.core import Registry
from registry.base import rdf
from registry.base.rdf import Term

SCHEMA = """
CREATE TABLE IF NOT EXISTS capacity (
    technology TEXT NOT NULL,
    area       TEXT NOT NULL,
    status     TEXT NOT NULL,
    assets     INTEGER NOT NULL,
    import_kw  REAL NOT NULL,
    export_kw  REAL NOT NULL,
    energy_kwh REAL NOT NULL,
    PRIMARY KEY (technology, area, status)
);
CREATE TABLE IF NOT EXISTS asset_capacity (
    iri        TEXT PRIMARY KEY,
    technology TEXT NOT NULL,
    area       TEXT NOT NULL,
    status     TEXT NOT NULL,
    import_kw  REAL NOT NULL,
    export_kw  REAL NOT NULL,
    energy_kwh REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS record_count (
    type TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
);
-- The home page's sample records: one of each type, found without reading the register.
CREATE INDEX IF NOT EXISTS record_type_graph ON record (type, graph);
CREATE TABLE IF NOT EXISTS aggregate_state (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
"""

ASSET = FDI.FlexibleAsset.value
_FACTORS = {  # to kW or kWh
    UNIT.KiloW.value: 1.0,
    UNIT.MegaW.value: 1000.0,
    UNIT.W.value: 0.001,
    UNIT["KiloW-HR"].value: 1.0,
    UNIT["MegaW-HR"].value: 1000.0,
}
_TECHNOLOGY, _GSP, _LIFECYCLE = FDI.technology, FDI.gspGroup, FDI.lifecycleStatus
_IMPORT, _EXPORT, _ENERGY = FDI.importCapacity, FDI.exportCapacity, FDI.energyCapacity
_VALUE, _UNIT = QUDT.numericValue, QUDT.unit


@dataclass(frozen=True)
class Contribution:
    """One asset's share of the aggregate."""

    technology: str
    area: str
    status: str
    import_kw: float
    export_kw: float
    energy_kwh: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.technology, self.area, self.status)


def contribution(triples: Iterable[ox.Triple]) -> Contribution:
    """What an asset record (its own triples and its quantity nodes') adds to the aggregate."""
    own: dict[ox.NamedNode, Term] = {}
    nodes: dict[Term, dict[ox.NamedNode, Term]] = {}
    triples = list(triples)
    subject = triples[0].subject if triples else None
    for t in triples:
        if t.subject == subject:
            own.setdefault(t.predicate, t.object)
        else:
            nodes.setdefault(t.subject, {}).setdefault(t.predicate, t.object)

    def amount(predicate: ox.NamedNode) -> float:
        node = nodes.get(own[predicate]) if predicate in own else None
        if not node or _VALUE not in node:
            return 0.0
        try:
            value = float(rdf.value(node[_VALUE]))
        except ValueError:
            return 0.0
        return value * _FACTORS.get(getattr(node.get(_UNIT), "value", ""), 1.0)

    return Contribution(
        _local(own.get(_TECHNOLOGY), TECH.iri),
        getattr(own.get(_GSP), "value", ""),
        _local(own.get(_LIFECYCLE), FDI.iri),
        amount(_IMPORT),
        amount(_EXPORT),
        amount(_ENERGY),
    )


def _local(term: Term | None, namespace: str) -> str:
    if term is None:
        return ""
    return rdf.value(term).removeprefix(namespace)


def apply_record(
    db: sqlite3.Connection, record: dict[str, Any], triples: list[ox.Triple] | None = None
) -> None:
    """Move one journaled record's capacity into the aggregate (a no-op for other types)."""
    batch = _Batch()
    batch.move(db, record, triples)
    batch.write(db)


_INSERT_CONTRIBUTION = "INSERT INTO asset_capacity VALUES (?, ?, ?, ?, ?, ?, ?)"


class _Batch:
    """The aggregate changes of one journal entry, written with one statement per table: a bulk
    chunk of thousands of new assets touches only tens of (technology, area, status) rows."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str, str], list[float]] = {}
        self.rows: list[tuple[Any, ...]] = []

    def move(
        self, db: sqlite3.Connection, record: dict[str, Any], triples: list[ox.Triple] | None
    ) -> None:
        if record.get("type") != ASSET:
            return
        iri = record["iri"]
        if not record.get("new"):  # a freshly minted IRI has no contribution yet
            old = db.execute(
                "SELECT technology, area, status, import_kw, export_kw, energy_kwh "
                "FROM asset_capacity WHERE iri = ?",
                (iri,),
            ).fetchone()
            if old is not None:
                self._add(Contribution(*old), -1)
                db.execute("DELETE FROM asset_capacity WHERE iri = ?", (iri,))
        if record.get("status") not in (None, "registered"):
            return
        if triples is None:
            triples = [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in ox.parse(record["nt"].encode(), format=ox.RdfFormat.N_TRIPLES)
            ]
        if not triples:
            return
        new = contribution(triples)
        self._add(new, 1)
        row = (iri, *new.key, new.import_kw, new.export_kw, new.energy_kwh)
        if record.get("new"):
            self.rows.append(row)  # distinct fresh IRIs: inserted together
        else:  # now, so that a later version of the same record in the entry finds it
            db.execute(_INSERT_CONTRIBUTION, row)

    def _add(self, c: Contribution, sign: int) -> None:
        total = self.totals.setdefault(c.key, [0, 0.0, 0.0, 0.0])
        total[0] += sign
        total[1] += sign * c.import_kw
        total[2] += sign * c.export_kw
        total[3] += sign * c.energy_kwh

    def write(self, db: sqlite3.Connection) -> None:
        db.executemany(_INSERT_CONTRIBUTION, self.rows)
        db.executemany(
            "INSERT INTO capacity VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (technology, area, status) DO UPDATE SET "
            "assets = capacity.assets + excluded.assets, "
            "import_kw = capacity.import_kw + excluded.import_kw, "
            "export_kw = capacity.export_kw + excluded.export_kw, "
            "energy_kwh = capacity.energy_kwh + excluded.energy_kwh",
            [(*key, *total) for key, total in self.totals.items()],
        )


def derive(
    db: sqlite3.Connection,
    payload: dict[str, Any],
    seq: int,
    known: dict[tuple[str, str], list[ox.Triple]] | None = None,
) -> None:
    """Keep the aggregates in step with one journal entry (called in the entry's transaction).

    ``known`` gives the triples behind records' N-Triples, when the caller has them already.
    """
    known = known or {}
    records = payload.get("records", [])
    created = Counter(r["type"] for r in records if r.get("new"))
    db.executemany(
        "INSERT INTO record_count VALUES (?, ?) "
        "ON CONFLICT (type) DO UPDATE SET n = record_count.n + excluded.n",
        created.items(),
    )
    batch = _Batch()
    for r in records:
        batch.move(db, r, known.get((r.get("graph", ""), r["iri"])))
    batch.write(db)
    db.execute(
        "INSERT INTO aggregate_state VALUES ('capacity', ?) "
        "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
        (seq,),
    )


def ensure(db: sqlite3.Connection, entries: Iterable[Any]) -> int:
    """Create the tables; if the journal has entries they have not seen (a journal from before
    this table existed), rebuild them from the journal. Returns the entries replayed."""
    db.executescript(SCHEMA)
    row = db.execute("SELECT seq FROM aggregate_state WHERE name = 'capacity'").fetchone()
    head = db.execute("SELECT COALESCE(MAX(seq), 0) FROM entry").fetchone()[0]
    if (row[0] if row else 0) >= head:
        return 0
    return rebuild(db, entries)


def rebuild(db: sqlite3.Connection, entries: Iterable[Any]) -> int:
    """Recompute the aggregates from every journal entry (``entries``: Entry objects, in order)."""
    count = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for table in ("capacity", "asset_capacity", "record_count", "aggregate_state"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        for entry in entries:
            derive(db, entry.payload, entry.seq)
            count += 1
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return count


def statistics(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Aggregate rows as dicts (technology, area, status, assets, kW and kWh)."""
    return [
        {
            "technology": t,
            "area": a,
            "status": s,
            "assets": n,
            "importKW": round(i, 3),
            "exportKW": round(e, 3),
            "energyKWh": round(k, 3),
        }
        for t, a, s, n, i, e, k in rows
        if n
    ]


STATISTICS = (
    "SELECT technology, area, status, assets, import_kw, export_kw, energy_kwh FROM capacity "
    "WHERE assets > 0 ORDER BY technology, area, status"
)
RECORD_COUNTS = "SELECT type, n FROM record_count"


def _start(registry: Registry) -> None:
    ensure(registry.journal.database, registry.journal.entries())


def _derive(db: sqlite3.Connection, entry: Entry, known: Known) -> None:
    derive(db, entry.payload, entry.seq, known)


# The aggregates live in the journal's database, derived like the register.
FEATURE = Feature("capacity", schema=SCHEMA, start=_start, derive=_derive)


def counts(registry: Registry) -> dict[str, int]:
    """How many records of each type the registry holds (kept by every write: no scan)."""
    found = dict(registry.journal.read(RECORD_COUNTS))
    return {kind: found.get(rtype.value, 0) for rtype, kind in RECORD_TYPES.items()}


def statistics_of(registry: Registry) -> list[dict[str, Any]]:
    """Registered flexible capacity (assets, import and export kW, energy kWh) by technology,
    area (GSP group) and lifecycle status; kept current by every write in the journal
    database, so answering never reads the assets."""
    return statistics(registry.journal.read(STATISTICS))
