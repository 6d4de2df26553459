"""Normalising values as they come in, and refusing ill-typed literals.

pySHACL accepts ill-typed literals such as ``"9e-05"^^xsd:decimal`` as valid, so the registry
checks lexical forms itself before the shapes run. Postcodes and MPANs are normalised (upper
case, one space before the inward code; no spaces in an MPAN) so that the shapes, the uniqueness
rules and queries all see one spelling.

>>> normalise_postcode(" sw1a1aa ")
'SW1A 1AA'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from registry.base import rdf
from registry.base.rdf import Term
from registry.base.vocab import FDI, QUDT, XSD

_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|INF|NaN)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?")
_BOOLEAN = re.compile(r"true|false|1|0")


def _is_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _is_datetime(text: str) -> bool:
    if "T" not in text:
        return False
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


LEXICAL_CHECKS: dict[str, Callable[[str], bool]] = {
    XSD.decimal.value: lambda t: bool(_DECIMAL.fullmatch(t)),
    XSD.integer.value: lambda t: bool(_INTEGER.fullmatch(t)),
    XSD.double.value: lambda t: bool(_DOUBLE.fullmatch(t)),
    XSD.date.value: _is_date,
    XSD.dateTime.value: _is_datetime,
    XSD.boolean.value: lambda t: bool(_BOOLEAN.fullmatch(t)),
}
_NUMERIC = {XSD.decimal.value, XSD.integer.value, XSD.double.value}
_XSD_DATATYPE_NAMES = {
    XSD.decimal.value: "a decimal number such as 7.5",
    XSD.integer.value: "a whole number",
    XSD.double.value: "a number",
    XSD.date.value: "a date written YYYY-MM-DD",
    XSD.dateTime.value: "a date and time written YYYY-MM-DDThh:mm:ssZ",
    XSD.boolean.value: "true or false",
}


@dataclass(frozen=True)
class IllTyped:
    """A literal whose text is not a value of its datatype."""

    subject: ox.NamedNode | ox.BlankNode
    predicate: ox.NamedNode
    value: str
    expected: str


@dataclass(frozen=True)
class Respelling:
    """A value the registry stores spelled otherwise than given: a postcode, an MPAN core."""

    subject: ox.NamedNode | ox.BlankNode
    predicate: ox.NamedNode
    given: str
    stored: str


_RESPELLED = (FDI.postcode, FDI.mpanCore, FDI.exportMpanCore)


def respellings(triples: list[ox.Triple]) -> list[Respelling]:
    """The postcodes and MPAN cores that ``normalise`` stores in another spelling: with spaces
    removed or moved, in upper case, or as text where a number was given.

    >>> node = ox.NamedNode("http://x/a")
    >>> respellings([ox.Triple(node, FDI.postcode, ox.Literal("sw1a1aa"))])[0].stored
    'SW1A 1AA'
    """
    out = []
    for t in triples:
        if t.predicate in _RESPELLED and isinstance(t.object, ox.Literal):
            stored = _normalise_literal(t.predicate, t.object)
            if stored != t.object:
                given = t.object.value
                if t.object.datatype != XSD.string:
                    given += f" ({_XSD_DATATYPE_NAMES.get(t.object.datatype.value, 'not text')})"
                out.append(Respelling(rdf.node(t.subject), t.predicate, given, stored.value))
    return out


def normalise_postcode(text: str) -> str:
    compact = re.sub(r"\s+", "", text).upper()
    if len(compact) < 5:
        return compact
    return compact[:-3] + " " + compact[-3:]


def normalise(triples: list[ox.Triple]) -> tuple[list[ox.Triple], list[IllTyped]]:
    """Normalised triples, and the ill-typed literals found (which stay as given)."""
    out: list[ox.Triple] = []
    problems: list[IllTyped] = []
    typed: set[ox.Literal] = set()  # well-typed literals of a type a store canonicalises
    for t in triples:
        given = t.object
        if not isinstance(given, ox.Literal):
            out.append(t)
            continue
        predicate = t.predicate
        obj = _normalise_literal(predicate, given)
        datatype = obj.datatype.value
        check = LEXICAL_CHECKS.get(datatype)
        if check is not None:
            if check(obj.value):
                typed.add(obj)
            else:
                problems.append(
                    IllTyped(
                        rdf.node(t.subject), predicate, obj.value, _XSD_DATATYPE_NAMES[datatype]
                    )
                )
        out.append(t if obj is given else ox.Triple(t.subject, predicate, obj))
    if problems:  # the report shows ill-typed values as given
        return out, problems
    return _canonical(out, typed), problems


def _canonical(triples: list[ox.Triple], typed: set[ox.Literal] | None = None) -> list[ox.Triple]:
    """The triples with their (well-typed) numbers, dates and booleans written as Oxigraph
    stores them (``"5.0"^^xsd:decimal`` as ``"5"``, ``"…+00:00"^^xsd:dateTime`` as ``"…Z"``),
    so that what is journaled, hashed for the receipt and served are the same text whichever
    reader (Turtle, rdflib's JSON-LD) parsed the submission. Duplicates that this makes go.

    >>> when = ox.Literal("2026-01-31T08:00:00+00:00", datatype=XSD.dateTime)
    >>> _canonical([ox.Triple(ox.NamedNode("http://x/a"), QUDT.unit, when)])[0].object.value
    '2026-01-31T08:00:00Z'
    """
    if typed is None:
        typed = set()
        for t in triples:
            if isinstance(t.object, ox.Literal) and t.object.datatype.value in LEXICAL_CHECKS:
                typed.add(t.object)
    if not typed:
        return triples
    store, node = ox.Store(), ox.NamedNode("urn:x-fdi:literal")
    graphs = {ox.NamedNode(f"urn:x-fdi:literal:{i}"): lit for i, lit in enumerate(typed)}
    store.extend(ox.Quad(node, node, lit, graph) for graph, lit in graphs.items())
    respelt: dict[Term, Term] = {}
    for q in store:
        given = graphs[q.graph_name]  # (always one of the names above)
        if q.object != given:
            respelt[given] = q.object
    out = [
        t if (new := respelt.get(t.object)) is None else ox.Triple(t.subject, t.predicate, new)
        for t in triples
    ]
    return list(dict.fromkeys(out))


def _normalise_literal(predicate: ox.NamedNode, lit: ox.Literal) -> ox.Literal:
    """The literal as stored (``lit`` itself when nothing changes)."""
    if predicate == FDI.postcode:
        return ox.Literal(normalise_postcode(lit.value))
    if predicate in (FDI.mpanCore, FDI.exportMpanCore):
        return ox.Literal(re.sub(r"\s+", "", lit.value))
    if predicate == QUDT.numericValue and lit.datatype.value in _NUMERIC:
        return ox.Literal(_decimal_text(lit.value), datatype=XSD.decimal)
    if lit.datatype == XSD.string:
        text = lit.value
        stripped = text.strip()
        return lit if stripped == text else ox.Literal(stripped)
    return lit


def _decimal_text(text: str) -> str:
    """A numeric lexical form as an xsd:decimal one; left unchanged if it is not a number."""
    try:
        from decimal import Decimal, InvalidOperation

        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return text
    if not value.is_finite():
        return text
    formatted = format(value, "f")
    if "." in formatted:
        formatted = formatted.rstrip("0").rstrip(".") or "0"
    return formatted
