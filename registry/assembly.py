"""The FDI registry assembled: the kernel with every feature plugged in.

This is the one place that knows which features the registry runs with. The kernel
(:mod:`registry.kernel.core`) journals and indexes records; each feature below gives what it
keeps in step with every write (:class:`registry.kernel.features.Feature`):

- ``capacity``: the capacity aggregates and record counts (registry.assets.capacity);
- ``jobs``: bulk jobs' events (registry.assets.jobs);
- ``inbox``: notifications queued and acknowledged (registry.messaging.inbox);
- ``directory``: the public listing of each organisation (registry.markets.directory);
- ``sharing``: the copies that data-sharing agreements give (registry.markets.sharing);

and two answers the kernel asks for: how a requester stands to a record
(registry.trust.control.relations) and the rules version in force (registry.rules.rules).
The SPARQL endpoint for requesters' queries is built here too. The app, the ``fdi`` command
and the operations that open a registry (backup, restore) open it through :class:`Registry`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from registry.assets import capacity, jobs
from registry.base.settings import Settings
from registry.kernel import core
from registry.kernel.features import Features
from registry.markets import directory, sharing
from registry.messaging import inbox
from registry.publishing import statistics
from registry.query.sparql_endpoint import SparqlEndpoint
from registry.rules import rules
from registry.shacl.validation import Shapes
from registry.store.journal import Entry
from registry.trust import control

FEATURES = Features(
    features=(capacity.FEATURE, jobs.FEATURE, inbox.FEATURE, directory.FEATURE, sharing.FEATURE),
    relations=control.relations,
    rules_in_force=rules.shapes_in_force,
)


# Every table beside the log: the kernel's and each feature's (fdi journal verify rebuilds them).
SCHEMA = core.KERNEL_SCHEMA + FEATURES.schema


class Registry(core.Registry):
    """The FDI registry: the kernel with :data:`FEATURES` and a SPARQL endpoint."""

    def __init__(self, settings: Settings, shapes: Shapes | None = None) -> None:
        super().__init__(settings, shapes, FEATURES)
        # Requesters' SPARQL: checked, time-limited, in worker processes (sparql_endpoint.py)
        self.sparql = SparqlEndpoint(settings, self.index)
        self.on_close(self.sparql.close)

    def counts(self) -> dict[str, int]:
        """How many records of each type the registry holds (kept by every write: no scan)."""
        return capacity.counts(self)

    def capacity_statistics(self) -> list[dict[str, Any]]:
        """Registered flexible capacity by technology, area and status (assets.capacity)."""
        return capacity.statistics_of(self)

    def summary(self) -> statistics.Summary:
        """The home page's figures, disclosure control applied (registry.publishing.statistics)."""
        return statistics.summary(self)


def derive_tables(db: sqlite3.Connection, entry: Entry) -> None:
    """Every derived table's rows for one journal entry, as a replay writes them (``fdi journal
    verify`` compares a replay with the journal's own tables)."""
    core.derive_tables(db, entry, FEATURES)
