"""Search as a person types it: a name, company number, LEI, MPAN or postcode, read for what
it is and looked up over the dataset the requester may see. No web framework here."""

from __future__ import annotations

import re
from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.identity import Principal
from registry.base.labels import PREFIXES, value
from registry.base.vocab import FDI
from registry.kernel.core import Registry

# ?key is bound through substitutions; ?record is what was found.
BY_KEY = {
    "MPAN": "{ ?record fdi:mpanCore ?key } UNION { ?record fdi:exportMpanCore ?key }",
    "company number": "?record fdi:companyNumber ?key",
    "LEI": "?record fdi:lei ?key",
    "postcode": "?record fdi:postcode ?code "
    'FILTER(STRSTARTS(UCASE(REPLACE(?code, " ", "")), ?key))',
    "name": "?record rdfs:label|rov:legalName ?name FILTER(CONTAINS(LCASE(?name), ?key))",
}
FOUND = (
    PREFIXES
    + """SELECT DISTINCT ?record ?type ?label ?key WHERE {{
  {pattern} .
  ?record a ?type .
  FILTER(?type IN (fdi:FlexibleAsset, fdi:Organisation))
  OPTIONAL {{ ?record rdfs:label|rov:legalName ?label }}
}} ORDER BY ?label LIMIT 50"""
)
_MPAN = re.compile(r"^\d{13}$")
_LEI = re.compile(r"^[A-Z0-9]{18}\d{2}$")
_COMPANY = re.compile(r"^([A-Z]{2}\d{6}|\d{8})$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?(\d[A-Z]{2})?$")


def kind_of_search(text: str) -> str:
    """Which key a search text is: MPAN, LEI, company number, postcode (whole or its outward
    code), else a name.

    >>> [kind_of_search(t) for t in ("2143967712809", "SC492543", "cf10 1ep", "Octopus")]
    ['MPAN', 'company number', 'postcode', 'name']
    """
    squeezed = text.replace(" ", "").upper()
    if _MPAN.match(squeezed):
        return "MPAN"
    if _LEI.match(squeezed):
        return "LEI"
    if _COMPANY.match(squeezed):
        return "company number"
    if _POSTCODE.match(squeezed):
        return "postcode"
    return "name"


def search(registry: Registry, principal: Principal | None, text: str) -> dict[str, Any]:
    """Records whose natural key or name matches ``text`` (up to 50): each with its IRI, kind
    (asset or organisation) and label; what the text was read as."""
    text = text.strip()
    kind = kind_of_search(text)
    squeezed = text.replace(" ", "").upper()
    key = {"name": text.lower(), "postcode": squeezed}.get(kind, squeezed)
    found = _found(registry, principal, kind, key)
    if not found and kind != "name":  # "EV1" or "12345678" may also be part of a name
        found = _found(registry, principal, "name", text.lower())
    return {"text": text, "as": kind, "results": found}


def _found(
    registry: Registry, principal: Principal | None, kind: str, key: str
) -> list[dict[str, Any]]:
    rows = rdf.solutions(
        registry.index.query(
            FOUND.format(pattern=BY_KEY[kind]),
            registry.dataset_for(principal),
            substitutions={ox.Variable("key"): ox.Literal(key)},
        )
    )
    return [
        {
            "iri": row["record"].value,
            "kind": "asset" if row["type"] == FDI.FlexibleAsset else "organisation",
            "label": value(row["label"]) or row["record"].value,
        }
        for row in rows
    ]
