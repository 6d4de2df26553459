"""Change feeds: Linked Data Event Streams (LDES, https://w3id.org/ldes/specification) of the
record changes in one audience graph, derived from the journal.

Two kinds of stream:

* ``{base}feed/public``: every change to the public graph (registry.kernel.access), for anyone;
* ``{base}feed/shared/{uid}``: every change to the copies shared with one organisation
  (``{base}graph/shared/{uid}``, registry.markets.sharing), for that organisation alone.

Each **member** is a version object: ``dct:isVersionOf`` the record (``ldes:versionOfPath``),
``prov:generatedAtTime`` its journal entry's time (``ldes:timestampPath``), typed
``as:Create``, ``as:Update`` or ``as:Delete``, with ``fdi:journalSequence`` its entry; the
record's triples in that graph after the change are the member's named graph (a ``Delete``'s is
empty: the record left the graph). Members are ordered by journal sequence, then by their order
in the entry, so a follower that applies them in order (each one replacing the triples of its
record) holds exactly what the graph holds.

Members are cut into **pages** of ``feed_page_size``, numbered from 0 (``{stream}/{n}``): a
page's content depends only on the journal before it, so a full page never changes (served
``immutable``; an erasure of personal data leaves the erased values out of every page) and
links to the next with ``tree:relation``; the last page fills up as changes come.
**Retention** (``feed_retention_days``, an ``ldes:DurationAgoPolicy``) drops whole pages whose
newest member is older than that (410 Gone), never the last page.

The feed reads the journal once, then only its new entries; it keeps, per graph, one small
tuple per member in memory, and reads a page's entries again to serve it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.clock import utcnow
from registry.base.errors import Gone, NotFound
from registry.base.rdf import Term
from registry.base.vocab import AS, DCT, FDI, LDES, PROV, RDF, TREE, XSD
from registry.kernel import access

PREFIXES = {
    "ldes": LDES.iri,
    "tree": TREE.iri,
    "as": AS.iri,
    "dct": DCT.iri,
    "prov": PROV.iri,
    "fdi": FDI.iri,
    "xsd": XSD.iri,
}

_KINDS = {"create": AS.Create, "update": AS.Update, "delete": AS.Delete}


@dataclass(frozen=True)
class Member:
    """One change of one record in one graph: the ``index``-th of its stream in entry ``seq``."""

    seq: int
    position: int
    iri: str
    kind: str  # create, update or delete
    time: str


@dataclass(frozen=True)
class Page:
    """One page of a stream, as served: its quads, whether it can never change, and the
    records whose content it shows."""

    quads: list[ox.Quad]
    full: bool
    records: list[str]


class Feed:
    """The members of every stream, kept in step with the journal on each read."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.base = registry.settings.base_iri
        self._lock = threading.Lock()
        self._scanned = 0
        self._members: dict[str, list[Member]] = {}
        self._present: dict[str, set[str]] = {}
        self.clock: Callable[[], dt.datetime] = utcnow  # what "now" is to retention

    # --- streams ---------------------------------------------------------------------------

    def public(self) -> Stream:
        return Stream(self, access.public_graph(self.base).value, self.base + "feed/public")

    def shared(self, organisation: str) -> Stream:
        """The stream of copies shared with ``organisation`` (an organisation IRI)."""
        graph = access.shared_graph(self.base, organisation).value
        slug = graph.rsplit("/", 1)[-1]
        return Stream(self, graph, f"{self.base}feed/shared/{slug}")

    # --- following the journal -------------------------------------------------------------

    def members(self, graph: str) -> list[Member]:
        """The members of the stream of ``graph`` so far (a snapshot)."""
        with self._lock:
            for entry in self.registry.journal.entries(self._scanned):
                self._add(entry.seq, entry.time, entry.payload)
                self._scanned = entry.seq
            return list(self._members.get(graph, ()))

    def _add(self, seq: int, time: str, payload: dict[str, Any]) -> None:
        counts: dict[str, int] = {}
        for graph, iri, nt in changes(payload):
            if not _streamed(self.base, graph):
                continue
            present = self._present.setdefault(graph, set())
            if not nt.strip():
                if iri not in present:
                    continue  # nothing left the graph
                kind = "delete"
                present.discard(iri)
            else:
                kind = "update" if iri in present else "create"
                present.add(iri)
            position = counts.get(graph, 0)
            counts[graph] = position + 1
            self._members.setdefault(graph, []).append(Member(seq, position, iri, kind, time))


def changes(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(graph, record IRI, N-Triples after the change) for each graph an entry changes, in
    the order the index applies them (``registry.kernel.changes.payload_changes``): a record
    moved out of a graph leaves it empty there."""
    out = []
    for r in payload.get("records", []):
        if "movedFrom" in r and r["movedFrom"] != r["graph"]:
            out.append((r["movedFrom"], r["iri"], ""))
        out.append((r["graph"], r["iri"], r["nt"]))
    for c in payload.get("copies", []):
        out.append((c["graph"], c["iri"], c["nt"]))
    return out


def _streamed(base: str, graph: str) -> bool:
    return graph == base + "graph/public" or graph.startswith(base + "graph/shared/")


class Stream:
    """One event stream: its members cut into pages."""

    def __init__(self, feed: Feed, graph: str, iri: str) -> None:
        self.feed = feed
        self.graph = graph
        self.iri = iri
        self.node = ox.NamedNode(iri)

    @property
    def settings(self) -> Any:
        return self.feed.registry.settings

    def page_iri(self, number: int) -> ox.NamedNode:
        return ox.NamedNode(f"{self.iri}/{number}")

    def first_page(self, members: list[Member], now: dt.datetime | None = None) -> int:
        """The oldest page retention keeps (the last page is always kept)."""
        size = self.settings.feed_page_size
        last = max(0, (len(members) - 1) // size) if members else 0
        days = self.settings.feed_retention_days
        if days <= 0:
            return 0
        cutoff = (now or self.feed.clock()) - dt.timedelta(days=days)
        for number in range(last):
            newest = members[min(len(members), (number + 1) * size) - 1]
            if _parse_time(newest.time) >= cutoff:
                return number
        return last

    def description(self) -> list[ox.Quad]:
        """The stream itself: its paths, retention and view (the first page kept)."""
        members = self.feed.members(self.graph)
        return self._about(self.page_iri(self.first_page(members)))

    def _about(self, view: ox.NamedNode | None) -> list[ox.Quad]:
        """The stream's description; with its ``view`` on the stream itself only, since the
        view moves with retention and a full page must never change."""
        s = self.node
        quads = [
            _q(s, RDF.type, LDES.EventStream),
            _q(s, LDES.versionOfPath, DCT.isVersionOf),
            _q(s, LDES.timestampPath, PROV.generatedAtTime),
        ]
        if view is not None:
            quads += [_q(s, TREE.view, view), _q(view, RDF.type, TREE.Node)]
        days = self.settings.feed_retention_days
        if days > 0:
            policy = ox.NamedNode(self.iri + "#retention")
            quads += [
                _q(s, LDES.retentionPolicy, policy),
                _q(policy, RDF.type, LDES.DurationAgoPolicy),
                _q(policy, TREE.value, ox.Literal(f"P{days}D", datatype=XSD.duration)),
            ]
        return quads

    def page(self, number: int) -> Page:
        """Page ``number``. Raises Gone for a page retention dropped, NotFound for one
        not yet begun."""
        members = self.feed.members(self.graph)
        size = self.settings.feed_page_size
        first = self.first_page(members)
        last = max(0, (len(members) - 1) // size) if members else 0
        if number > last:
            raise NotFound(f"{self.iri}/{number} has not begun (the newest page is {last})")
        if number < first:
            raise Gone(f"{self.iri}/{number} is past retention; start at {first}")
        chosen = members[number * size : (number + 1) * size]
        full = len(chosen) == size
        node = self.page_iri(number)
        quads = self._about(None)
        quads.append(_q(node, RDF.type, TREE.Node))
        if full:
            relation = ox.NamedNode(f"{node.value}#next")
            quads += [
                _q(node, TREE.relation, relation),
                _q(relation, RDF.type, TREE.Relation),
                _q(relation, TREE.node, self.page_iri(number + 1)),
            ]
        entries: dict[int, dict[str, Any]] = {}
        for m in chosen:
            if m.seq not in entries:
                entries[m.seq] = self.feed.registry.journal.entry(m.seq).payload
            quads += self._member(node, m, entries[m.seq])
        shown = sorted({m.iri for m in chosen if m.kind != "delete"})
        return Page(quads, full, shown)

    def _member(self, page: ox.NamedNode, m: Member, payload: dict[str, Any]) -> list[ox.Quad]:
        version = ox.NamedNode(f"{page.value}#{m.seq}.{m.position}")
        quads = [
            _q(self.node, TREE.member, version),
            _q(version, RDF.type, _KINDS[m.kind]),
            _q(version, DCT.isVersionOf, ox.NamedNode(m.iri)),
            _q(version, PROV.generatedAtTime, ox.Literal(m.time, datatype=XSD.dateTime)),
            _q(version, FDI.journalSequence, ox.Literal(str(m.seq), datatype=XSD.integer)),
        ]
        nt = next(
            (t for g, iri, t in reversed(changes(payload)) if g == self.graph and iri == m.iri),
            "",
        )
        if nt.strip():
            # Personal values are sealed in the journal: opened here, or left out once erased
            # (registry.store.personal), the one change a full page can see.
            for t in self.feed.registry.sealer.triples(nt, m.seq):
                quads.append(ox.Quad(t.subject, t.predicate, t.object, version))
        return quads


def _q(s: ox.NamedNode, p: ox.NamedNode, o: Term) -> ox.Quad:
    return ox.Quad(s, p, o, ox.DefaultGraph())


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def serialise(quads: list[ox.Quad], media: str) -> bytes:
    """``quads`` as TriG or N-Quads."""
    if media == "application/n-quads":
        return rdf.serialize(quads, ox.RdfFormat.N_QUADS)
    return rdf.serialize(quads, ox.RdfFormat.TRIG, prefixes=PREFIXES)
