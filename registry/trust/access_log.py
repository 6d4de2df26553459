"""Reads of an FSP's data by other organisations: recorded, summarised to the FSP, listable.

BUC.2 step 6a: an FSP is told when a market operator reads data of an asset it operates. A
read of an asset's records is reported to the record's owner *and* the asset's current
operator (``registry.trust.control.parties``), so after a switch the new operator hears of it. Every
such read is journaled as an audit event (``Registry.audit``); the FSP lists them
(:func:`reads_of`) and receives a digest notification of the reads since the last one
(:func:`send_digests`, sent every ``digest_interval`` seconds by :class:`DigestSender` while the
server runs) rather than one message per read.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

import pyoxigraph as ox

from registry.base.activities import activity
from registry.base.identity import Principal
from registry.base.iris import is_record, under
from registry.base.media import GRAPH_FORMATS
from registry.kernel import audit as audit_trail
from registry.kernel.core import Registry
from registry.trust.control import parties

DIGEST_TYPE = "AccessDigest"
log = logging.getLogger(__name__)


def read_record(
    registry: Registry, iri: str, principal: Principal, request_id: str | None = None
) -> list[ox.Triple]:
    """A record as ``principal`` may see it; a read of another organisation's record is
    journaled as an audit event. Raises NotFound."""
    triples = registry.record(iri, principal)
    told = sorted(parties(registry, iri) - {principal.organisation})
    if principal.organisation and told:
        with registry.transaction(principal.actor, "audit") as tx:
            for party in told:
                tx.event(audit_trail.event(principal, "read", iri, party, request_id))
    return triples


def audit_query_reads(
    registry: Registry,
    principal: Principal,
    body: bytes,
    media_type: str,
    request_id: str | None = None,
) -> int:
    """Journal, in one entry, a read of every other organisation's record that a SPARQL answer
    shows ``principal``; returns how many records. Anonymous requesters see public data only."""
    if not principal.organisation:
        return 0
    return audit_reads(
        registry, principal, _record_iris(registry.settings.base_iri, body, media_type), request_id
    )


def audit_reads(
    registry: Registry, principal: Principal, iris: Any, request_id: str | None = None
) -> int:
    """Journal, in one entry, a read by ``principal`` of each of ``iris`` that is another
    organisation's record (a SPARQL answer, a page of a change feed); returns how many."""
    if not principal.organisation:
        return 0
    owners: dict[str, list[str]] = {}
    for iri in iris:
        told = sorted(parties(registry, iri) - {principal.organisation})
        if told:
            owners[iri] = told
    if owners:
        with registry.transaction(principal.actor, "audit") as tx:
            for iri, told in sorted(owners.items()):
                for owner in told:
                    tx.event(audit_trail.event(principal, "read", iri, owner, request_id))
    return len(owners)


def _record_iris(base: str, body: bytes, media_type: str) -> set[str]:
    """The registry records (not their fragments) named in a serialised SPARQL answer."""
    if media_type in GRAPH_FORMATS:
        terms = (
            term.value
            for t in ox.parse(body, format=GRAPH_FORMATS[media_type])
            for term in (t.subject, t.object)
            if isinstance(term, ox.NamedNode)
        )
        return {iri.split("#", 1)[0] for iri in terms if is_record(base, iri)}
    pattern = re.compile(re.escape(under(base)) + r"[A-Za-z0-9._~-]+/[A-Za-z0-9._~-]+")
    return set(pattern.findall(body.decode("utf-8", errors="replace")))


def reads_of(
    registry: Registry, owner: str, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Who read ``owner``'s records, what and when, oldest first (``after``: last id seen)."""
    rows = registry.journal.read(
        "SELECT id, time, organisation, target, request_id FROM audit "
        "WHERE owner = ? AND action = 'read' "
        "AND organisation IS NOT NULL AND organisation != owner "
        "AND id > ? ORDER BY id LIMIT ?",
        (owner, after, limit),
    )
    return [
        {"id": i, "time": t, "reader": reader, "record": target, "requestId": rid}
        for i, t, reader, target, rid in rows
    ]


def send_digests(registry: Registry) -> int:
    """Notify each owner whose data was read since its last digest; returns how many digests."""
    owners = [
        row[0]
        for row in registry.journal.read(
            "SELECT DISTINCT owner FROM audit WHERE action = 'read' AND owner IS NOT NULL"
        )
    ]
    sent = 0
    for owner in owners:
        # The last digest is read under the write lock: replicas sharing a journal each run
        # rounds, and only the first sends a digest for the same reads.
        with registry.transaction("registry", "access-digest") as tx:
            after = _last_digested(registry, owner)
            reads = reads_of(registry, owner, after=after, limit=100_000)
            if not reads:
                continue
            readers: dict[str, int] = {}
            for r in reads:
                readers[r["reader"]] = readers.get(r["reader"], 0) + 1
            tx.notify(
                owner,
                activity(
                    "Announce",
                    fdiType=DIGEST_TYPE,
                    summary=f"{len(reads)} read(s) of your data by {len(readers)} organisation(s)",
                    readers=readers,
                    records=sorted({r["record"] for r in reads}),
                    **{"from": reads[0]["time"]},
                    until=reads[-1]["time"],
                    auditUpTo=reads[-1]["id"],
                ),
            )
        sent += 1
    return sent


def _last_digested(registry: Registry, owner: str) -> int:
    last = 0
    for (body,) in registry.journal.read(
        "SELECT body FROM notification WHERE recipient = ? AND body LIKE ? "
        "ORDER BY id DESC LIMIT 1",
        (owner, f'%"{DIGEST_TYPE}"%'),
    ):
        last = int(json.loads(body).get("auditUpTo", 0))
    return last


class DigestSender:
    """Sends the read digests (:func:`send_digests`) every ``interval`` seconds in a background
    thread, for as long as the registry runs.

    Delivery survives a restart: what was last digested is read from the journal (each digest
    carries the last audit id it covers, committed with the notification), so reads recorded
    before a crash or a stop are digested by the first round after the next start, once."""

    def __init__(self, registry: Registry, interval: float) -> None:
        self.registry = registry
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, daemon=True, name="read-digests")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                send_digests(self.registry)
            except Exception:  # a failed round is retried at the next one; say why meanwhile
                log.exception("sending read digests failed; retrying in %s s", self.interval)
