"""What a feature plugs into the kernel.

The kernel (:mod:`registry.kernel.core`) journals and indexes records and knows no feature.
A feature that keeps something in step with every write gives a :class:`Feature`: the tables
it owns in the journal's database, a check before each transaction commits (to add copies of
records to it), and the rows it derives from each committed entry (in the entry's own database
transaction, when it is committed and when the journal is replayed). Two questions the kernel
asks belong to features too: how a requester stands to a record (owner, operator, ...) and which
rules version is in force. :mod:`registry.assembly` puts the FDI registry's features together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base.identity import Principal
from registry.store.journal import Entry

if TYPE_CHECKING:
    from registry.kernel.core import Registry
    from registry.kernel.transaction import Transaction
    from registry.shacl.validation import Shapes

# The triples behind each record's N-Triples in an entry being committed, by (graph, IRI);
# None when an entry is replayed from the journal (a feature that needs them parses the text).
Known = dict[tuple[str, str], list[ox.Triple]] | None


@dataclass(frozen=True)
class Feature:
    """One feature's part in every write. Every hook is optional."""

    name: str
    # The tables it keeps in the journal's database (CREATE TABLE IF NOT EXISTS ...), created
    # when a registry opens, before ``start``.
    schema: str = ""
    # Once when a registry opens, under the journal's lock, before the index catches up:
    # create the feature's tables and bring them up to the journal's head.
    start: Callable[[Registry], None] | None = None
    # In every write transaction, just before it commits: add what follows from its records
    # (copies of them in other audience graphs) to the same transaction.
    before_commit: Callable[[Transaction], None] | None = None
    # For every entry, in the entry's own database transaction: the feature's derived rows.
    derive: Callable[[sqlite3.Connection, Entry, Known], None] | None = None


def owner_only(registry: Registry, principal: Principal, iri: str) -> set[str]:
    """How a requester stands to a record when no feature says more: its owner or nobody."""
    info = registry.info(iri)
    if info is not None and principal.organisation and info.owner == principal.organisation:
        return {"owner"}
    return {"none"}


@dataclass(frozen=True)
class Features:
    """The features a registry runs with, in the order their hooks run."""

    features: tuple[Feature, ...] = ()
    # How ``principal`` stands to the record ``iri``: a subset of owner, operator, asset-owner,
    # scheme-operator, may-message (registry.trust.control.relations), or {"none"}.
    relations: Callable[[Registry, Principal, str], set[str]] = owner_only
    # The rules version in force at the registry's clock and its shapes (registry.rules.rules);
    # None: the packaged shapes always.
    rules_in_force: Callable[[Registry], tuple[str | None, Shapes]] | None = None

    @property
    def schema(self) -> str:
        """Every feature's tables."""
        return "".join(f.schema for f in self.features)

    def start(self, registry: Registry) -> None:
        for feature in self.features:
            if feature.start is not None:
                feature.start(registry)

    def before_commit(self, tx: Transaction) -> None:
        for feature in self.features:
            if feature.before_commit is not None:
                feature.before_commit(tx)

    def derive(self, db: sqlite3.Connection, entry: Entry, known: Known = None) -> None:
        for feature in self.features:
            if feature.derive is not None:
                feature.derive(db, entry, known)
