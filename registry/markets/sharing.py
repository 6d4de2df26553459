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
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import clock, iris, rdf
from registry.base.errors import Forbidden, UnusableInput
from registry.base.identity import FSP, Principal
from registry.base.vocab import FDI, ODRL, PROV, RDF, sparql_prefixes
from registry.kernel import access
from registry.kernel.features import Feature
from registry.kernel.lifecycle import (
    check_version,
    content,
    record_of,
    replace,
    timestamp,
    uid,
)
from registry.markets.agreement_terms import (
    AGREEMENT,
    COLLECTIONS,
    ROLES,
    WITHDRAWN,
    local_name,
    organisation_name,
    terms_of,
)
from registry.markets.shared_copies import SharedCopies
from registry.submissions.formats import Parsed
from registry.submissions.records import split_records
from registry.trust.permissions import SCOPE_AGREEMENTS, require

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry, Transaction

log = logging.getLogger(__name__)
AGREEMENTS_SHARED = (
    sparql_prefixes("fdi")
    + """SELECT ?agreement WHERE { ?agreement a fdi:DataSharingAgreement } ORDER BY ?agreement
"""
)


# --- keeping the copies in step ---------------------------------------------------------------


def keep_shared_copies(tx: Transaction) -> None:
    """Add to ``tx`` the shared copies its changes call for (see the module docstring)."""
    if not tx.records:
        return
    view = SharedCopies(tx)
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


RIGHTS_DATED = (
    sparql_prefixes("fdi")
    + """SELECT DISTINCT ?asset ?day WHERE {
  ?right a fdi:RightToOperate ; fdi:asset ?asset .
  { ?right fdi:validFrom ?day } UNION { ?right fdi:validTo ?day }
}
"""
)
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
    on = on or clock.today()
    start = since or dt.date(1, 1, 1)
    if start >= on:
        return 0
    assets = sorted(
        {
            row["asset"].value
            for row in rdf.solutions(registry.index.query(RIGHTS_DATED, None))
            if start < dt.date.fromisoformat(row["day"].value) <= on
        }
    )
    moved = 0
    for first in range(0, len(assets), CHUNK):
        with registry.transaction("registry", "operator-copies") as tx:
            view = SharedCopies(tx, on)
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
        today = clock.today()
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
        current = tx.info(iri)
        assert current is not None  # record_of found it
        check_version(current, if_match)
        if current.status != WITHDRAWN:
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
    return [describe(registry, r.iri) for r in registry.records(AGREEMENT, owner=org)]


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
    for solution in rdf.solutions(registry.index.query(AGREEMENTS_SHARED, [graph])):
        iri = solution["agreement"].value
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
                records.append(
                    {"id": s, "type": local_name(shared.type), "version": shared.version}
                )
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
        rdf.value(t.object)
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
        if t.predicate == ODRL.target and rdf.value(t.object) not in COLLECTIONS:
            info = registry.info(rdf.value(t.object))
            if info is None:
                raise UnusableInput(
                    f"target {rdf.value(t.object)} is neither a registered record nor a "
                    f"collection ({', '.join(local_name(c) for c in COLLECTIONS)})"
                )
            if info.owner != org:
                raise Forbidden(f"target {rdf.value(t.object)} is not yours to share")
        if t.predicate == ODRL.assignee and rdf.value(t.object) not in ROLES:
            info = registry.info(rdf.value(t.object))
            if info is None or info.type != FDI.Organisation.value:
                raise UnusableInput(
                    f"assignee {rdf.value(t.object)} is neither an organisation in the "
                    "registry nor a market role"
                )


def _holders(registry: Registry, iri: str) -> set[str]:
    prefix = registry.settings.base_iri + "graph/shared/"
    return {
        iris.organisation(registry.settings.base_iri, q.graph_name.value[len(prefix) :])
        for q in registry.index.quads(ox.NamedNode(iri), RDF.type, None, None)
        if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value.startswith(prefix)
    }


# Shared copies change in the same entry as the records they copy.
FEATURE = Feature("sharing", before_commit=keep_shared_copies)
