"""The CSV column set for registering many assets at once (documented in ``docs/csv.md``).

One row is one flexible asset. Values go into the same properties that the JSON form uses, so
the shapes check CSV rows exactly as they check Turtle or JSON; the report names the row and the
column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from registry.base.errors import UnusableInput
from registry.base.vocab import FDI, QUDT, RDF, RDFS, SAREF, TECH, UNIT, XSD

SUBMISSION_BASE = "http://submission.invalid/"

# column -> (property, kind); kinds: str, date, tech, status, kW, kWh
COLUMNS: dict[str, tuple[ox.NamedNode, str]] = {
    "name": (RDFS.label, "str"),
    "technology": (FDI.technology, "tech"),
    "status": (FDI.lifecycleStatus, "status"),
    "mpan": (FDI.mpanCore, "str"),
    "export_mpan": (FDI.exportMpanCore, "str"),
    "gsp_group": (FDI.gspGroup, "str"),
    "postcode": (FDI.postcode, "str"),
    "import_kw": (FDI.importCapacity, "kW"),
    "export_kw": (FDI.exportCapacity, "kW"),
    "energy_kwh": (FDI.energyCapacity, "kWh"),
    "commissioning_date": (FDI.commissioningDate, "date"),
    "decommissioning_date": (FDI.decommissioningDate, "date"),
    "planned_commissioning_date": (FDI.plannedCommissioningDate, "date"),
    "manufacturer": (SAREF.hasManufacturer, "str"),
    "model": (SAREF.hasModel, "str"),
    "serial_number": (FDI.serialNumber, "str"),
}
HEADER = ["id", *COLUMNS]
FIELD_OF_PROPERTY = {prop.value: column for column, (prop, _) in COLUMNS.items()}
_UNITS = {"kW": UNIT.KiloW, "kWh": UNIT["KiloW-HR"]}


def rows_to_triples(
    rows: Iterable[Mapping[str, str | None]], source: str
) -> tuple[list[ox.Triple], dict[ox.NamedNode | ox.BlankNode, str]]:
    """Triples for CSV rows (a ``csv.DictReader``); origins name each record's row.

    Raises UnusableInput for a header without ``technology`` or with unknown columns.
    """
    fieldnames = getattr(rows, "fieldnames", None)
    if fieldnames is not None:
        _check_header(list(fieldnames), source)
    triples: list[ox.Triple] = []
    origins: dict[ox.NamedNode | ox.BlankNode, str] = {}
    for number, row in enumerate(rows, start=2):
        local = (row.get("id") or "").strip() or f"row-{number}"
        subject = ox.NamedNode(SUBMISSION_BASE + local)
        if subject in origins:
            raise UnusableInput(f"{source}: row {number}: id {local!r} is used twice")
        origins[subject] = f"row {number} (id {local})"
        triples.extend(asset_triples(subject, row))
    return triples, origins


def _check_header(fieldnames: list[str], source: str) -> None:
    unknown = [f for f in fieldnames if f not in HEADER]
    if unknown:
        raise UnusableInput(
            f"{source}: row 1: unknown column(s) {', '.join(unknown)}; "
            f"the columns are: {', '.join(HEADER)}"
        )
    if "technology" not in fieldnames:
        raise UnusableInput(f"{source}: row 1: the 'technology' column is required")


def asset_triples(subject: ox.NamedNode, row: Mapping[str, str | None]) -> list[ox.Triple]:
    """The triples of one asset given as a CSV row (also used to write demo data)."""
    out = [ox.Triple(subject, RDF.type, FDI.FlexibleAsset)]
    for column, (prop, kind) in COLUMNS.items():
        raw = row.get(column)
        value = (raw or "").strip()
        if not value:
            continue
        if kind in _UNITS:
            node = ox.NamedNode(f"{subject.value}#{prop.value.rsplit('#', 1)[1]}")
            out.append(ox.Triple(subject, prop, node))
            out.append(ox.Triple(node, QUDT.numericValue, ox.Literal(value, datatype=XSD.decimal)))
            out.append(ox.Triple(node, QUDT.unit, _UNITS[kind]))
        elif kind == "date":
            out.append(ox.Triple(subject, prop, ox.Literal(value, datatype=XSD.date)))
        elif kind == "tech":
            out.append(ox.Triple(subject, prop, TECH[value]))
        elif kind == "status":
            out.append(ox.Triple(subject, prop, FDI[value.capitalize()]))
        else:
            out.append(ox.Triple(subject, prop, ox.Literal(value)))
    return out
