"""How the registry's terms read to people: local names in words, decimals as people write
them, and the small helpers the page views share. No web framework here."""

from __future__ import annotations

import re

import pyoxigraph as ox

from registry.base import rdf
from registry.base.rdf import Term
from registry.base.vocab import XSD, sparql_prefixes

PREFIXES = sparql_prefixes("fdi", "rdfs", "rov", "qudt", "dct")


def number_text(value: str) -> str:
    """A decimal as people write it: ``5.0`` → ``5``, ``2.40`` → ``2.4``, ``1250`` → ``1,250``."""
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.3f}".rstrip("0").rstrip(".")


def values_of(triples: list[ox.Triple], node: ox.NamedNode) -> dict[str, str]:
    return {t.predicate.value: rdf.value(t.object) for t in triples if t.subject == node}


def value(term: Term | None) -> str | None:
    return rdf.value(term) if term is not None else None


def local_name(term: Term | None) -> str | None:
    if term is None:
        return None
    return re.split(r"[#/]", rdf.value(term))[-1]


def words(iri: str | None) -> str | None:
    """The local name of an IRI in words: ``tech:BatteryStorage`` → ``Battery storage``.

    >>> words("https://w3id.org/fdi/technology/EVCharger"), words(None)
    ('EV charger', None)
    """
    if iri is None:
        return None
    local = re.split(r"[#/]", iri)[-1]
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|\d+", local) or [local]
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[0].upper() + text[1:]


XSD_DECIMAL = XSD.decimal
XSD_DATE = XSD.date
