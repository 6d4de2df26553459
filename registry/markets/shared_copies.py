"""The shared copies one transaction calls for: the registry as it will be once the transaction
commits, which records each organisation should hold a copy of, and the copies synced
(registry.markets.sharing)."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import clock, rdf
from registry.base.activities import notification as activity
from registry.base.iris import organisation as organisation_iri
from registry.base.vocab import FDI, RDF, sparql_prefixes
from registry.kernel import access
from registry.kernel.lifecycle import (
    content,
    objects,
    text,
)
from registry.markets.agreement_terms import (
    AGREEMENT,
    ROLES,
    Terms,
    local_name,
    organisation_name,
    terms_of,
)
from registry.trust.control import CURRENT_RIGHTS

if TYPE_CHECKING:
    from registry.kernel.core import Transaction


ROLE_HOLDERS = (
    sparql_prefixes("fdi")
    + """SELECT DISTINCT ?role ?org WHERE { ?org a fdi:Organisation ; fdi:marketRole ?role }
"""
)


class SharedCopies:
    """The registry as it will be once ``tx`` commits: its pending records over the stored ones."""

    def __init__(self, tx: Transaction, on: dt.date | None = None) -> None:
        self.tx = tx
        self.on = on  # the day whose operators get the copies (today by default)
        self.registry = tx.registry
        self.base = tx.registry.settings.base_iri
        self.pending = {r["iri"]: r for r in tx.records}
        self._agreements: dict[str, list[Terms]] = {}
        self._grantees: dict[str, frozenset[str]] = {}
        self._infos: dict[str, Any] = {}
        # Copies other code put into ``tx`` before this runs (each record is synced once).
        self.earlier: dict[str, dict[str, bool]] = {}
        for c in tx.copies:
            self.earlier.setdefault(c["iri"], {})[c["graph"]] = bool(c["nt"])

    def info(self, iri: str) -> Any:
        """The register entry as it will be (cached: ``tx.info`` reads the journal database)."""
        if iri not in self._infos:
            self._infos[iri] = self.tx.info(iri)
        return self._infos[iri]

    def triples(self, iri: str) -> list[ox.Triple]:
        if iri in self.pending:
            nt = self.pending[iri]["nt"].encode()
            return [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)
            ]
        return content(self.registry, iri)

    def owned(self, owner: str) -> set[str]:
        graph = access.org_graph(self.base, owner)
        stored = set(self.registry.record_iris(owner=owner, graph=graph))
        return stored | {i for i, r in self.pending.items() if r.get("owner") == owner}

    def reevaluate_owner(self, owner: str, into: set[str]) -> None:
        if owner:
            into.update(self.owned(owner))

    def agreements_of(self, owner: str) -> list[Terms]:
        if owner not in self._agreements:
            iris = set(self.registry.record_iris(AGREEMENT, owner=owner))
            iris |= {
                i
                for i, r in self.pending.items()
                if r["type"] == AGREEMENT.value and r.get("owner") == owner
            }
            found = []
            for iri in sorted(iris):
                info = self.tx.info(iri)
                if info is not None and info.type == AGREEMENT.value:
                    found.append(terms_of(iri, self.triples(iri), info.owner, info.status))
            self._agreements[owner] = found
        return self._agreements[owner]

    def all_agreements(self) -> list[Terms]:
        iris = set(self.registry.record_iris(AGREEMENT))
        iris |= {i for i, r in self.pending.items() if r["type"] == AGREEMENT.value}
        out = []
        for iri in sorted(iris):
            info = self.tx.info(iri)
            if info is not None:
                out.append(terms_of(iri, self.triples(iri), info.owner, info.status))
        return out

    def standing_changed(self, record: dict[str, Any]) -> bool:
        """Whether an organisation's roles or status change in this transaction."""
        stored = self.registry.info(record["iri"])
        if stored is None:
            return False
        node = ox.NamedNode(record["iri"])
        before = set(objects(content(self.registry, record["iri"]), node, FDI.marketRole))
        after = set(objects(self.triples(record["iri"]), node, FDI.marketRole))
        return before != after or stored.status != record.get("status")

    def verified(self, organisation: str) -> bool:
        info = self.info(organisation)
        return (
            info is not None and info.type == FDI.Organisation.value and info.status == "verified"
        )

    @cached_property
    def _pending_organisations(self) -> dict[str, set[str]]:
        return {
            iri: {
                rdf.value(t) for t in objects(self.triples(iri), ox.NamedNode(iri), FDI.marketRole)
            }
            for iri, r in self.pending.items()
            if r["type"] == FDI.Organisation.value
        }

    def holding(self, role: str) -> set[str]:
        solutions = self.registry.index.query(
            ROLE_HOLDERS,
            [access.public_graph(self.base)],
            {ox.Variable("role"): ox.NamedNode(role)},
        )
        found = {s["org"].value for s in rdf.solutions(solutions)} - set(
            self._pending_organisations
        )
        return found | {o for o, roles in self._pending_organisations.items() if role in roles}

    def grantees(self, terms: Terms) -> frozenset[str]:
        if not terms.in_force:
            return frozenset()
        if terms.iri not in self._grantees:
            named = {a for a in terms.assignees if a not in ROLES}
            for role in terms.assignees & ROLES:
                named |= self.holding(role)
            self._grantees[terms.iri] = frozenset(
                o for o in named if o != terms.assigner and self.verified(o)
            )
        return self._grantees[terms.iri]

    def desired(self, iri: str) -> set[str]:
        info = self.info(iri)
        if (
            info is None
            or not info.owner
            or info.graph != access.org_graph(self.base, info.owner).value
        ):
            return set()
        out: set[str] = set()
        for terms in self.agreements_of(info.owner):
            if terms.covers(iri, info.type, info.owner):
                out |= self.grantees(terms)
        new_alone = self.pending.get(iri, {}).get("new") and iri not in self._pending_rights[0]
        if info.type == FDI.FlexibleAsset.value and not new_alone:
            # Control follows the operator: an asset operated today by another organisation
            # than its registrant is copied to the operator, as if shared with it.
            operator = self.operator_of(iri, self.on)
            if operator and operator != info.owner and self.verified(operator):
                out.add(operator)
        return out

    def assets_of_right(self, right: str) -> set[str]:
        """The asset a right to operate is about, as stored and as it will be."""
        node = ox.NamedNode(right)
        found = {rdf.value(t) for t in objects(self.triples(right), node, FDI.asset)}
        stored = right not in self.tx.minted and self.registry.info(right) is not None
        if right in self.pending and stored:
            found |= {rdf.value(t) for t in objects(content(self.registry, right), node, FDI.asset)}
        return found

    @cached_property
    def _pending_rights(
        self,
    ) -> tuple[dict[str, dict[str, tuple[str, dt.date, dt.date | None]]], set[str]]:
        """The rights in ``tx`` by asset (operator, from, to), and every pending right's IRI:
        parsed once, however many assets a bulk chunk holds."""
        by_asset: dict[str, dict[str, tuple[str, dt.date, dt.date | None]]] = {}
        iris = set()
        for iri, record in self.pending.items():
            if record["type"] != FDI.RightToOperate.value:
                continue
            iris.add(iri)
            triples, node = self.triples(iri), ox.NamedNode(iri)
            operator, start = text(triples, node, FDI.operator), text(triples, node, FDI.validFrom)
            if not operator or not start:
                continue
            end = text(triples, node, FDI.validTo)
            span = (
                operator,
                dt.date.fromisoformat(start),
                dt.date.fromisoformat(end) if end else None,
            )
            for asset in objects(triples, node, FDI.asset):
                by_asset.setdefault(rdf.value(asset), {})[iri] = span
        return by_asset, iris

    def operator_of(self, asset: str, on: dt.date | None = None) -> str | None:
        """The organisation operating ``asset`` today once ``tx`` commits: the operator of the
        right then in force (``registry.trust.control``'s rule, over the pending rights too)."""
        rights: dict[str, tuple[str, dt.date, dt.date | None]] = {}
        for row in rdf.solutions(
            self.registry.index.query(
                CURRENT_RIGHTS, None, substitutions={ox.Variable("asset"): ox.NamedNode(asset)}
            )
        ):
            rights[row["right"].value] = (
                row["operator"].value,
                dt.date.fromisoformat(row["from"].value),
                dt.date.fromisoformat(row["to"].value) if row["to"] else None,
            )
        pending, changed = self._pending_rights
        # a right in ``tx`` counts as it will be (below), if it is still about this asset
        rights = {iri: span for iri, span in rights.items() if iri not in changed}
        rights.update(pending.get(asset, {}))
        today = on or clock.today()
        for operator, start, end in sorted(rights.values(), key=lambda r: r[1]):
            if start <= today and (end is None or today < end):
                return operator
        return None

    def current(self, iri: str) -> set[str]:
        """The organisations holding a copy now (counting copies already made in ``tx``)."""
        prefix = self.base + "graph/shared/"
        graphs = {
            q.graph_name.value
            for q in self.registry.index.quads(ox.NamedNode(iri), RDF.type, None, None)
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(prefix)
        }
        for graph, present in self.earlier.get(iri, {}).items():
            if graph.startswith(prefix):
                (graphs.add if present else graphs.discard)(graph)
        return {organisation_iri(self.base, g[len(prefix) :]) for g in graphs}

    def sync(self, iri: str) -> None:
        desired = self.desired(iri)
        if not desired and self.pending.get(iri, {}).get("new") and iri not in self.earlier:
            return  # a new record nobody is entitled to: no copies to make or remove
        current = self.current(iri)
        changed = iri in self.pending
        triples = self.triples(iri) if desired and (changed or desired - current) else []
        for org in sorted(desired):
            if changed or org not in current:
                self.tx.copy(access.shared_graph(self.base, org), iri, triples)
        for org in sorted(current - desired):
            self.tx.copy(access.shared_graph(self.base, org), iri, [])
        info = self.info(iri)
        if info is not None and info.type == AGREEMENT.value:
            self._tell(iri, desired - current, current - desired)

    def _tell(self, agreement: str, granted: set[str], ended: set[str]) -> None:
        terms = terms_of(agreement, self.triples(agreement), None, None)
        who = terms.assigner
        for org in sorted(granted):
            self.tx.notify(
                org,
                activity(
                    "Announce",
                    who,
                    agreement,
                    f"{organisation_name(self.registry, who)} shares data with you under "
                    f"agreement {agreement} "
                    f"for {', '.join(local_name(p) for p in terms.purposes) or 'stated purposes'}; "
                    "GET /shared-with-me lists it",
                ),
            )
        for org in sorted(ended):
            self.tx.notify(
                org,
                activity(
                    "Undo",
                    who,
                    agreement,
                    f"{organisation_name(self.registry, who)} no longer shares data with you "
                    f"under agreement {agreement}",
                ),
            )
