"""Data-sharing (assurance) agreements, and the shared copies that enforce them.

An FSP states, as an ODRL agreement (``fdi:DataSharingAgreement``, ``shapes/policy.ttl``), which
organisations (``odrl:assignee`` an organisation IRI) or market roles (``odrl:assignee
fdi:DistributionSystemOperator``) may use which of its records (``odrl:target`` a record IRI, or
a provider collection: ``fdi:ProviderAssets``, ``fdi:ProviderRightsToOperate``,
``fdi:ProviderCommercialInformation``) for which purposes.

Agreements are enforced by copying, never by filtering at read time: each record an agreement
shares with an organisation is copied into that organisation's ``graph/shared/{id}``, and every
read path (``Registry.record``, ``Registry.query``, the catalogue) runs over the requester's few
audience graphs (``registry/kernel/access.py``), so it sees the copies and nothing else.
:func:`keep_shared_copies` runs in every transaction just before it commits, so the copies
change in the same journal entry as whatever changed them:

* a record of an FSP is registered or changed: its copies are rewritten;
* an agreement is made, changed or withdrawn: all of its FSP's records are re-evaluated;
* an organisation gains or loses a role, or is suspended or reinstated (its record's
  ``fdi:marketRole`` or status changes): every agreement naming it or any role is re-evaluated.
* a right to operate is filed, confirmed or ended: its asset is re-evaluated, because control
  follows the operator (``registry.trust.control``): an asset operated today by another organisation
  than its registrant is copied into the operator's shared graph too, so its SPARQL sees what
  REST lets it read, and the copy goes when another operator takes over.

Only an agreement stored by its own assigner (the record's owner) counts, and it shares only
records that the assigner owns; grantees must be verified organisations.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.errors import Forbidden, UnusableInput
from registry.base.identity import FSP, Principal
from registry.base.vocab import FDI, ODRL, PROV, RDF, ROV
from registry.kernel import access
from registry.kernel.features import Feature
from registry.kernel.lifecycle import (
    check_version,
    content,
    objects,
    record_of,
    replace,
    text,
    timestamp,
    uid,
)
from registry.messaging.inbox import activity
from registry.submissions.formats import Parsed
from registry.submissions.records import split_records
from registry.trust.control import CURRENT_RIGHTS
from registry.trust.permissions import SCOPE_AGREEMENTS, require
from registry.trust.schemes import MARKET_ROLES

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry, Transaction

AGREEMENT = FDI.DataSharingAgreement
log = logging.getLogger(__name__)
COLLECTIONS = {
    FDI.ProviderAssets.value: FDI.FlexibleAsset.value,
    FDI.ProviderRightsToOperate.value: FDI.RightToOperate.value,
    FDI.ProviderCommercialInformation.value: FDI.CommercialInformation.value,
}
# The market roles an agreement may name as its assignee (every role but the scheme operator's).
ROLES = frozenset(r.value for n, r in MARKET_ROLES.items() if n != "SchemeOperator")
WITHDRAWN = "withdrawn"
ROLE_HOLDERS = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
SELECT DISTINCT ?role ?org WHERE { ?org a fdi:Organisation ; fdi:marketRole ?role }
"""
AGREEMENTS_SHARED = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
SELECT ?agreement WHERE { ?agreement a fdi:DataSharingAgreement } ORDER BY ?agreement
"""
_AGREEMENTS = "SELECT iri FROM record WHERE type = ? ORDER BY iri"
_OWNED = "SELECT iri FROM record WHERE owner = ? AND graph = ? ORDER BY iri"
_OWN_AGREEMENTS = "SELECT iri FROM record WHERE owner = ? AND type = ?"


@dataclass(frozen=True)
class Terms:
    """What an agreement says, and whether it is in force."""

    iri: str
    assigner: str | None
    assignees: frozenset[str]
    targets: frozenset[str]
    purposes: tuple[str, ...]
    actions: tuple[str, ...]
    in_force: bool

    def covers(self, iri: str, rtype: str, owner: str | None) -> bool:
        """Whether the agreement shares this record (the agreement itself included)."""
        if iri == self.iri:
            return True
        if owner is None or owner != self.assigner:
            return False
        return iri in self.targets or any(COLLECTIONS.get(t) == rtype for t in self.targets)


def terms_of(
    iri: str, triples: Iterable[ox.Triple], owner: str | None, status: str | None
) -> Terms:
    triples = list(triples)
    node = ox.NamedNode(iri)
    rules = objects(triples, node, ODRL.permission)
    constraints = [c for r in rules for c in objects(triples, r, ODRL.constraint)]
    assigner = text(triples, node, ODRL.assigner)
    return Terms(
        iri=iri,
        assigner=assigner,
        assignees=frozenset(t.value for t in objects(triples, node, ODRL.assignee)),
        targets=frozenset(t.value for t in objects(triples, node, ODRL.target)),
        purposes=tuple(
            sorted(
                o.value
                for c in constraints
                if ODRL.purpose in objects(triples, c, ODRL.leftOperand)
                for o in objects(triples, c, ODRL.rightOperand)
            )
        ),
        actions=tuple(sorted({a.value for r in rules for a in objects(triples, r, ODRL.action)})),
        in_force=status != WITHDRAWN and assigner is not None and assigner == owner,
    )


# --- keeping the copies in step ---------------------------------------------------------------


def keep_shared_copies(tx: Transaction) -> None:
    """Add to ``tx`` the shared copies its changes call for (see the module docstring)."""
    if not tx.records:
        return
    view = _View(tx)
    records: set[str] = set()
    for r in tx.records:
        if r["type"] == AGREEMENT.value and r.get("owner"):
            view.reevaluate_owner(r["owner"], records)
        elif r["type"] == FDI.Organisation.value and view.standing_changed(r):
            for terms in view.all_agreements():
                if r["iri"] in terms.assignees or terms.assignees & ROLES:
                    view.reevaluate_owner(terms.assigner or "", records)
        elif r["type"] == FDI.RightToOperate.value:
            records.update(view.assets_of_right(r["iri"]))  # control may move with it
        records.add(r["iri"])
    for iri in sorted(records):
        view.sync(iri)


RIGHTS_DATED = """
PREFIX fdi: <https://w3id.org/fdi/ns#>
SELECT DISTINCT ?asset ?day WHERE {
  ?right a fdi:RightToOperate ; fdi:asset ?asset .
  { ?right fdi:validFrom ?day } UNION { ?right fdi:validTo ?day }
}
"""
_FOLLOWED = "SELECT day FROM operator_copies WHERE name = 'followed'"
_FOLLOWED_TABLE = "CREATE TABLE IF NOT EXISTS operator_copies (name TEXT PRIMARY KEY, day TEXT)"
_FOLLOWED_SET = (
    "INSERT INTO operator_copies VALUES ('followed', ?) "
    "ON CONFLICT (name) DO UPDATE SET day = excluded.day"
)
CHUNK = 200  # assets re-evaluated per journal transaction (the write lock is held meanwhile)


def follow_operators(
    registry: Registry, since: dt.date | None = None, on: dt.date | None = None
) -> int:
    """Move operator copies for the rights that began or ended after ``since`` (ever, when
    None), up to ``on`` (today): a switch dated ahead, or a right that simply ends, changes the
    operator without any write. Returns how many copies were written or removed."""
    on = on or dt.date.today()
    start = since or dt.date(1, 1, 1)
    if start >= on:
        return 0
    assets = sorted(
        {
            row["asset"].value  # type: ignore[index]
            for row in registry.index.query(RIGHTS_DATED, None)
            if start < dt.date.fromisoformat(row["day"].value) <= on  # type: ignore[index]
        }
    )
    moved = 0
    for first in range(0, len(assets), CHUNK):
        with registry.transaction("registry", "operator-copies") as tx:
            view = _View(tx, on)
            for asset in assets[first : first + CHUNK]:
                view.sync(asset)
            moved += len(tx.copies)
    return moved


class OperatorCopies:
    """Runs :func:`follow_operators` once a day (checked hourly, and at start) in a background
    thread, from the last day it handled (kept in the journal database, so days the registry
    was stopped are caught up)."""

    def __init__(self, registry: Registry, interval: float = 3600.0) -> None:
        self.registry = registry
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="operator-copies")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def round(self) -> int:
        journal = self.registry.journal
        journal.write(_FOLLOWED_TABLE)
        rows = journal.read(_FOLLOWED)
        since = dt.date.fromisoformat(rows[0][0]) if rows else None
        today = dt.date.today()
        moved = follow_operators(self.registry, since, today)
        journal.write(_FOLLOWED_SET, (today.isoformat(),))
        return moved

    def _run(self) -> None:
        while True:
            try:
                self.round()
            except Exception:  # retried at the next round; say why meanwhile
                log.exception("moving operator copies failed; retrying in %s s", self.interval)
            if self._stop.wait(self.interval):
                return


class _View:
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
        graph = access.org_graph(self.base, owner).value
        stored = {row[0] for row in self.registry.journal.read(_OWNED, (owner, graph))}
        return stored | {i for i, r in self.pending.items() if r.get("owner") == owner}

    def reevaluate_owner(self, owner: str, into: set[str]) -> None:
        if owner:
            into.update(self.owned(owner))

    def agreements_of(self, owner: str) -> list[Terms]:
        if owner not in self._agreements:
            iris = {
                row[0]
                for row in self.registry.journal.read(_OWN_AGREEMENTS, (owner, AGREEMENT.value))
            }
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
        iris = {row[0] for row in self.registry.journal.read(_AGREEMENTS, (AGREEMENT.value,))}
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
            iri: {t.value for t in objects(self.triples(iri), ox.NamedNode(iri), FDI.marketRole)}
            for iri, r in self.pending.items()
            if r["type"] == FDI.Organisation.value
        }

    def holding(self, role: str) -> set[str]:
        solutions = self.registry.index.query(
            ROLE_HOLDERS,
            [access.public_graph(self.base)],
            {ox.Variable("role"): ox.NamedNode(role)},
        )
        found = {s["org"].value for s in solutions} - set(self._pending_organisations)  # type: ignore[index,union-attr]
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
        found = {t.value for t in objects(self.triples(right), node, FDI.asset)}
        if right in self.pending and self.registry.info(right) is not None:
            found |= {t.value for t in objects(content(self.registry, right), node, FDI.asset)}
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
                by_asset.setdefault(asset.value, {})[iri] = span
        return by_asset, iris

    def operator_of(self, asset: str, on: dt.date | None = None) -> str | None:
        """The organisation operating ``asset`` today once ``tx`` commits: the operator of the
        right then in force (``registry.trust.control``'s rule, over the pending rights too)."""
        rights: dict[str, tuple[str, dt.date, dt.date | None]] = {}
        for row in self.registry.index.query(
            CURRENT_RIGHTS, None, substitutions={ox.Variable("asset"): ox.NamedNode(asset)}
        ):
            rights[row["right"].value] = (  # type: ignore[index]
                row["operator"].value,  # type: ignore[index]
                dt.date.fromisoformat(row["from"].value),  # type: ignore[index]
                dt.date.fromisoformat(row["to"].value) if row["to"] else None,  # type: ignore[index]
            )
        pending, changed = self._pending_rights
        # a right in ``tx`` counts as it will be (below), if it is still about this asset
        rights = {iri: span for iri, span in rights.items() if iri not in changed}
        rights.update(pending.get(asset, {}))
        today = on or dt.date.today()
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
        return {f"{self.base}id/org/{g[len(prefix) :]}" for g in graphs}

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
                    f"for {', '.join(_local(p) for p in terms.purposes) or 'stated purposes'}; "
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


# --- making, withdrawing and listing agreements -------------------------------------------------


def make_agreement(registry: Registry, parsed: Parsed, principal: Principal) -> Registration:
    """An FSP publishes a data-sharing agreement (one ``fdi:DataSharingAgreement`` record).

    The assigner is the FSP itself (filled in when left out). Raises Unauthenticated, Forbidden
    (not an FSP with the agreements-write scope, another assigner, a target it does not own),
    UnusableInput (not one agreement, an unknown target or assignee), ValidationFailed.
    """
    org = require(principal, role=FSP, scope=SCOPE_AGREEMENTS)
    parsed = _with_assigner(parsed, org)
    with registry.transaction(principal.actor, "agreement") as tx:
        _check_parties(registry, parsed, org)
        staged = registry.stage(tx, parsed, org)
        if staged.refusal is not None:
            raise staged.refusal
    return staged.registration(tx)


def withdraw(
    registry: Registry, principal: Principal, iri: str, if_match: str | None = None
) -> dict[str, Any]:
    """The assigner withdraws an agreement: its copies go in the same entry, and each
    organisation that held them is told. Raises NotFound, Forbidden, PreconditionFailed."""
    org = require(principal, scope=SCOPE_AGREEMENTS)
    info = record_of(registry, iri, AGREEMENT, "agreement")
    if info.owner != org:
        raise Forbidden("only the organisation that made an agreement may withdraw it")
    with registry.transaction(principal.actor, "agreement-withdrawal") as tx:
        info = tx.info(iri)
        check_version(info, if_match)
        if info.status != WITHDRAWN:
            node = ox.NamedNode(iri)
            triples = replace(content(registry, iri), node, PROV.invalidatedAtTime, [timestamp()])
            tx.put(node, AGREEMENT, triples, status=WITHDRAWN)
    return describe(registry, iri)


def describe(registry: Registry, iri: str) -> dict[str, Any]:
    """An agreement as the API shows it to its assigner. Raises NotFound."""
    info = record_of(registry, iri, AGREEMENT, "agreement")
    terms = terms_of(iri, content(registry, iri), info.owner, info.status)
    return {
        "id": iri,
        "href": f"{registry.settings.base_iri}agreements/{uid(iri)}",
        "status": info.status,
        "version": info.version,
        "inForce": terms.in_force,
        "assigner": terms.assigner,
        "assignees": sorted(terms.assignees),
        "targets": sorted(terms.targets),
        "purposes": list(terms.purposes),
        "actions": list(terms.actions),
        "sharedWith": sorted(_holders(registry, iri)),
    }


def agreements_of(registry: Registry, principal: Principal) -> list[dict[str, Any]]:
    """The agreements the requester has made. Raises Unauthenticated."""
    org = require(principal)
    rows = registry.journal.read(
        "SELECT iri FROM record WHERE owner = ? AND type = ? ORDER BY created",
        (org, AGREEMENT.value),
    )
    return [describe(registry, row[0]) for row in rows]


def shared_with(registry: Registry, principal: Principal) -> list[dict[str, Any]]:
    """What other organisations share with the requester: each agreement in force, its terms
    and the records shared under it (read from the requester's shared graph). Raises
    Unauthenticated."""
    org = require(principal)
    graph = access.shared_graph(registry.settings.base_iri, org)
    subjects = {
        q.subject.value
        for q in registry.index.quads(None, RDF.type, None, graph)
        if isinstance(q.subject, ox.NamedNode) and "#" not in q.subject.value
    }
    out = []
    for solution in registry.index.query(AGREEMENTS_SHARED, [graph]):
        iri = solution["agreement"].value  # type: ignore[index]
        info = registry.info(iri)
        copy = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in registry.index.record_quads(graph, ox.NamedNode(iri))
        ]
        terms = terms_of(iri, copy, info.owner if info else None, info.status if info else None)
        records = []
        for s in sorted(subjects - {iri}):
            shared = registry.info(s)
            if shared is not None and terms.covers(s, shared.type, shared.owner):
                records.append({"id": s, "type": _local(shared.type), "version": shared.version})
        out.append(
            {
                "agreement": iri,
                "assigner": terms.assigner,
                "assignerName": organisation_name(registry, terms.assigner),
                "purposes": list(terms.purposes),
                "actions": list(terms.actions),
                "targets": sorted(terms.targets),
                "records": records,
            }
        )
    return out


def _with_assigner(parsed: Parsed, org: str) -> Parsed:
    split = split_records(parsed.triples, parsed.origins)
    agreements = [r for r in split.records if r.type == AGREEMENT]
    if len(split.records) != 1 or len(agreements) != 1:
        raise UnusableInput("send exactly one DataSharingAgreement record")
    subject = agreements[0].subject
    given = {
        t.object.value
        for t in parsed.triples
        if t.subject == subject and t.predicate == ODRL.assigner
    }
    if given - {org}:
        raise Forbidden(
            "the assigner of an agreement must be your own organisation", assigner=sorted(given)
        )
    extra = [] if given else [ox.Triple(subject, ODRL.assigner, ox.NamedNode(org))]
    return Parsed(parsed.source, parsed.format, parsed.triples + extra, parsed.origins)


def _check_parties(registry: Registry, parsed: Parsed, org: str) -> None:
    for t in parsed.triples:
        if t.predicate == ODRL.target and t.object.value not in COLLECTIONS:
            info = registry.info(t.object.value)
            if info is None:
                raise UnusableInput(
                    f"target {t.object.value} is neither a registered record nor a "
                    f"collection ({', '.join(_local(c) for c in COLLECTIONS)})"
                )
            if info.owner != org:
                raise Forbidden(f"target {t.object.value} is not yours to share")
        if t.predicate == ODRL.assignee and t.object.value not in ROLES:
            info = registry.info(t.object.value)
            if info is None or info.type != FDI.Organisation.value:
                raise UnusableInput(
                    f"assignee {t.object.value} is neither an organisation in the "
                    "registry nor a market role"
                )


def _holders(registry: Registry, iri: str) -> set[str]:
    prefix = registry.settings.base_iri + "graph/shared/"
    return {
        f"{registry.settings.base_iri}id/org/{q.graph_name.value[len(prefix) :]}"
        for q in registry.index.quads(ox.NamedNode(iri), RDF.type, None, None)
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(prefix)
    }


def organisation_name(registry: Registry, org: str | None) -> str | None:
    """An organisation's legal name, or its IRI when the registry does not know it."""
    if org is None or registry.info(org) is None:
        return org
    return text(content(registry, org), ox.NamedNode(org), ROV.legalName) or org


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


# Shared copies change in the same entry as the records they copy.
FEATURE = Feature("sharing", before_commit=keep_shared_copies)
