"""The register's rows that authentication relies on, checked against the journal whenever a
registry opens.

Authentication reads the register (a certificate's status and holder, its organisation's
status, memberships, people), so a register edited to reactivate a revoked certificate stops
the registry from starting instead of letting the certificate in (one SQL pass over the
entries' JSON). The full comparison of every derived table is
:func:`registry.operations.derived_state.differences` (``fdi journal verify``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from registry.base.vocab import FDI

# The record types authentication decisions read from the register.
TRUST_TYPES = tuple(
    t.value for t in (FDI.Certificate, FDI.Organisation, FDI.SchemeMembership, FDI.OrganisationUser)
)
# Entries are written with sorted keys and no spaces (journal.py), so this finds the few entries
# holding trust records without parsing every other one (bulk registrations of assets are most
# of a journal): measured 0.25 s over a 74 MB journal, against 1.7 s for SQLite's json_each.
_MENTIONS = re.compile('"type":"(?:' + "|".join(re.escape(t) for t in TRUST_TYPES) + ')"')


def trust_differences(db: sqlite3.Connection) -> list[str]:
    """The register rows authentication relies on that the journal does not vouch for: rows of
    a certificate, organisation, membership or user whose type, status, holder or version is
    not what the journal's latest entry for that record says, or with no entry at all."""
    journaled: dict[str, tuple[Any, ...]] = {}
    for (body,) in db.execute("SELECT body FROM entry ORDER BY seq"):
        if not _MENTIONS.search(body):
            continue
        for r in json.loads(body).get("records", []):
            if r.get("type") in TRUST_TYPES:
                journaled[r["iri"]] = (
                    r["iri"],
                    r["type"],
                    r.get("status"),
                    r.get("owner"),
                    r["version"],
                )
    marks = ", ".join("?" * len(TRUST_TYPES))
    registered = {
        row[0]: row
        for row in db.execute(
            f"SELECT iri, type, status, owner, version FROM record WHERE type IN ({marks})",  # noqa: S608 - placeholders only
            TRUST_TYPES,
        )
    }
    return [
        _describe(iri, registered.get(iri), journaled.get(iri))
        for iri in sorted(journaled.keys() | registered.keys())
        if registered.get(iri) != journaled.get(iri)
    ]


def _describe(iri: str, registered: tuple | None, journaled: tuple | None) -> str:  # type: ignore[type-arg]
    def state(row: tuple | None) -> str:  # type: ignore[type-arg]
        if row is None:
            return "nothing"
        return f"status {row[2]!r}, holder {row[3]!r}, version {row[4]}, type {row[1]}"

    return f"{iri}: the register has {state(registered)}; the journal says {state(journaled)}"
