"""Reads: a record as a requester may see it (its own graph, a copy shared with it, or the
asset it operates now), its versions and history, the graphs a requester may read, and
read-only SPARQL over them.

:class:`Reads` is part of :class:`registry.kernel.core.Registry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.errors import NotFound
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.kernel import access, register
from registry.kernel.authorisation import authorise
from registry.kernel.related import related_records
from registry.kernel.transaction import RecordInfo, now
from registry.query.query import QueryResult, run_query

if TYPE_CHECKING:
    from collections.abc import Callable

    from registry.base.settings import Settings
    from registry.kernel.features import Features
    from registry.store.index_protocol import Index
    from registry.store.journal import Journal
    from registry.store.personal import Sealer


# The record types updated and read under their own authorisation rules.
UPDATE_RULES = {
    FDI.FlexibleAsset.value: "asset.update",
    FDI.RightToOperate.value: "right.update",
}


class Reads:
    """Reading records, versions and history (methods of the registry)."""

    # What the reads use of the registry (registry.kernel.core.Registry sets them).
    settings: Settings
    journal: Journal
    index: Index
    sealer: Sealer
    features: Features
    applied: Callable[[], int]
    reach: Callable[[int, float], bool]

    def relations(self, principal: Principal, iri: str) -> set[str]:
        """How ``principal`` stands to the record ``iri`` (owner, operator, ...), as the
        features tell (registry.kernel.features.Features.relations)."""
        return self.features.relations(self, principal, iri)  # type: ignore[arg-type]  # a Registry

    def history(self, iri: str, principal: Principal | None = None) -> list[dict[str, Any]]:
        """Every version of a record: number, time, who. Raises NotFound."""
        self.record(iri, principal)  # the same visibility as the record itself
        rows = self.journal.read(
            "SELECT version, seq, time, actor FROM version WHERE iri = ? ORDER BY version", (iri,)
        )
        return [{"version": v, "seq": seq, "time": t, "actor": a} for v, seq, t, a in rows]

    def version(
        self,
        iri: str,
        number: int | None = None,
        *,
        as_of: str | None = None,
        principal: Principal | None = None,
    ) -> tuple[int, list[ox.Triple]]:
        """A record as it was: a given version, or the one current at time ``as_of``.

        Raises NotFound (also when the record did not exist yet at ``as_of``)."""
        self.record(iri, principal)
        if number is not None:
            rows = self.journal.read(
                "SELECT version, seq FROM version WHERE iri = ? AND version = ?", (iri, number)
            )
        else:
            rows = self.journal.read(
                "SELECT version, seq FROM version WHERE iri = ? AND time <= ? "
                "ORDER BY version DESC LIMIT 1",
                (iri, as_of or now()),
            )
        if not rows:
            raise NotFound(f"{iri} has no such version")
        version, seq = rows[0]
        entry = self.journal.entry(seq)
        assert entry is not None
        nt = next(r["nt"] for r in entry.payload["records"] if r["iri"] == iri)
        return version, self.sealer.triples(nt, entry.seq)

    def _stored(self, info: RecordInfo) -> list[ox.Triple]:
        quads = self.index.record_quads(ox.NamedNode(info.graph), ox.NamedNode(info.iri))
        return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]

    def _related(
        self, triples: list[ox.Triple], predicates: frozenset[str] | None = None
    ) -> list[ox.Triple]:
        return related_records(self.index, triples, self.settings.base_iri, predicates)

    def related(
        self, triples: list[ox.Triple], predicates: frozenset[str] | None = None
    ) -> list[ox.Triple]:
        """The stored records the cross-record rules need to check ``triples`` (only the
        ``predicates`` the rules read, if given: ``Shapes.related_predicates``)."""
        return self._related(triples, predicates)

    def graph_for(self, record_type: ox.NamedNode, owner: str | None = None) -> ox.NamedNode:
        """The graph (audience partition) a record of this type and owner is stored in."""
        return access.graph_for(self.settings.base_iri, record_type.value, owner)

    def dataset_for(self, principal: Principal | None) -> list[ox.NamedNode]:
        """The graphs ``principal`` may read."""
        return access.dataset_for(self.settings.base_iri, principal or Principal.anonymous())

    def info(self, iri: str) -> RecordInfo | None:
        """The register's entry for a record, or None."""
        rows = self.journal.read(
            "SELECT iri, type, graph, version, status, owner, created, modified, seq "
            "FROM record WHERE iri = ?",
            (iri,),
        )
        return RecordInfo(*rows[0]) if rows else None

    def records(
        self,
        *types: ox.NamedNode,
        owner: str | None = None,
        graph: ox.NamedNode | None = None,
        status: str | None = None,
        order: str = "created",
        limit: int | None = None,
    ) -> list[RecordInfo]:
        """The register's entries for records of ``types`` (any, when none given), held by
        ``owner``, in ``graph``, with ``status``; ordered by ``created`` (default),
        ``modified``, ``newest`` or ``iri`` (registry.kernel.register.ORDERS)."""
        return register.select(
            self.journal.read,
            types=tuple(t.value for t in types),
            owner=owner,
            graph=graph.value if graph is not None else None,
            status=status,
            order=order,
            limit=limit,
        )

    def record_iris(
        self,
        *types: ox.NamedNode,
        owner: str | None = None,
        graph: ox.NamedNode | None = None,
        status: str | None = None,
    ) -> list[str]:
        """The IRIs of the records :meth:`records` would give, in IRI order."""
        return register.select_iris(
            self.journal.read,
            types=tuple(t.value for t in types),
            owner=owner,
            graph=graph.value if graph is not None else None,
            status=status,
        )

    def record(self, iri: str, principal: Principal | None = None) -> list[ox.Triple]:
        """The triples of one record as ``principal`` may see it (its own graph, or a copy
        shared with it). Raises NotFound, also for records the principal may not see."""
        info = self.info(iri)
        if info is None:
            raise NotFound(f"no record {iri}")
        if info.seq > self.applied():  # the shared register is ahead of this replica's index
            self.reach(info.seq, self.settings.catch_up_wait)
        subject = ox.NamedNode(iri)
        principal = principal or Principal.anonymous()
        public = self.graph_for(FDI.Organisation)
        for graph in self.dataset_for(principal):
            quads = self.index.record_quads(graph, subject)
            if quads:
                if graph != public and info.type in UPDATE_RULES:
                    own = access.org_graph(self.settings.base_iri, principal.organisation or "")
                    authorise(
                        principal, "asset.read-private", {"owner" if graph == own else "shared"}
                    )
                return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        # Control follows the operator: after a switch the asset stays in its registrant's
        # graph, and its current operator reads it there.
        if info.type in UPDATE_RULES and principal.authenticated:
            found = self.relations(principal, iri) & {"operator"}
            if found:
                authorise(principal, "asset.read-private", found)
                return self._stored(info)
        raise NotFound(f"no record {iri}")

    def query(self, text: str, principal: Principal | None = None) -> QueryResult:
        """Run a read-only SPARQL query over the dataset ``principal`` may see.

        Raises QueryRefused."""
        return run_query(self.index, text, self.dataset_for(principal))
