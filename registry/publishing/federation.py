"""Federation: finding records by natural key in this registry and in its peers.

Several registries mint IDs under their own IRI bases, so the same meter point or company can
have a record in each. :func:`lookup` finds the records holding a natural key (an asset's MPAN
core, an organisation's Companies House number or LEI) here, over the requester's dataset, and
in every peer registry on the ``federation_peers`` allow-list, through SPARQL 1.1 Federated
Query (``SERVICE <peer>``) against the peer's public endpoint. Equivalent records are linked
explicitly with ``owl:sameAs`` (given when a record is submitted or updated, or added with
:func:`link_same_as`); a lookup reports the links it sees in both directions.

The key and value are put *inside* the ``SERVICE`` group as a ``VALUES`` block: pyoxigraph's
``substitutions`` are not passed on to the service (measured: the peer received the pattern
unbound, which would have asked it for every typed record). Terms are written by pyoxigraph's
N-Triples serialiser, and the peer IRI comes from the allow-list, never from the request.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import NotFound, RegistryError, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import FDI, OWL, sparql_prefixes
from registry.kernel.core import Registration, Registry
from registry.submissions.formats import SUBMISSION_BASE, Parsed
from registry.submissions.normalise import normalise
from registry.trust.legal_identifiers import normalise_company_number

NATURAL_KEYS = {"mpan": FDI.mpanCore, "company_number": FDI.companyNumber, "lei": FDI.lei}

LOCAL_LOOKUP = (
    sparql_prefixes("owl")
    + """
SELECT ?key ?value ?record ?type ?sameAs WHERE {
  ?record ?key ?value ; a ?type .
  OPTIONAL { ?record owl:sameAs ?sameAs }
}
"""
)

# {peer} and {values} are filled by _peer_query with pyoxigraph-serialised terms.
PEER_LOOKUP = (
    sparql_prefixes("owl")
    + """
SELECT ?record ?type ?sameAs WHERE {{
  SERVICE {peer} {{
    {values}
    ?record ?key ?value ; a ?type .
    OPTIONAL {{ ?record owl:sameAs ?sameAs }}
  }}
}}
"""
)


@dataclass
class Match:
    """A record holding the natural key: where it is (``local`` or a peer's endpoint), its IRI,
    type and the records it says it is the same as."""

    source: str
    record: str
    type: str
    same_as: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "record": self.record,
            "type": self.type,
            "sameAs": self.same_as,
        }


def peers(registry: Registry) -> list[str]:
    """The peer registries' SPARQL endpoints (the ``federation_peers`` allow-list)."""
    return [p.strip() for p in registry.settings.federation_peers.split(",") if p.strip()]


def lookup(
    registry: Registry, key: str, value: str, principal: Principal | None = None
) -> dict[str, Any]:
    """The records holding ``key`` = ``value`` here and at each peer, with the ``owl:sameAs``
    links between them. A peer that fails or does not answer within ``query_timeout`` is
    reported, not fatal. Raises UnusableInput for an unknown key or an empty value."""
    predicate, literal = _natural_key(key, value)
    graphs = registry.dataset_for(principal)
    substitutions: dict[ox.Variable, rdf.Term] = {
        ox.Variable("key"): predicate,
        ox.Variable("value"): literal,
    }
    matches = _matches("local", registry.index.query(LOCAL_LOOKUP, graphs, substitutions))
    statuses = []
    # Peers are asked in parallel; one that hangs is left behind (not waited for) at the limit.
    pool = ThreadPoolExecutor(max_workers=max(1, len(peers(registry))))
    futures = {
        peer: pool.submit(_ask, registry, _peer_query(peer, predicate, literal), graphs)
        for peer in peers(registry)
    }
    for peer, future in futures.items():
        try:
            matches += _matches(peer, future.result(timeout=registry.settings.query_timeout))
            statuses.append({"endpoint": peer, "status": "answered"})
        except FutureTimeout:
            statuses.append({"endpoint": peer, "status": "no answer in time"})
        except (OSError, RuntimeError, SyntaxError, ValueError, RegistryError) as e:
            statuses.append({"endpoint": peer, "status": f"failed: {e}"})
    pool.shutdown(wait=False, cancel_futures=True)
    return {
        "key": key,
        "value": literal.value,
        "matches": [m.as_dict() for m in matches],
        "equivalent": _equivalences(matches),
        "peers": statuses,
    }


def _ask(registry: Registry, text: str, graphs: list[ox.NamedNode]) -> list[ox.QuerySolution]:
    return list(rdf.solutions(registry.index.query(text, graphs)))


def _natural_key(key: str, value: str) -> tuple[ox.NamedNode, ox.Literal]:
    predicate = NATURAL_KEYS.get(key)
    if predicate is None or not value.strip():
        raise UnusableInput(f"look records up by one of {', '.join(NATURAL_KEYS)} with a value")
    # The same spelling rules as submissions (MPAN digits, company number padding).
    if predicate == FDI.companyNumber:
        return predicate, ox.Literal(normalise_company_number(value))
    if predicate == FDI.lei:
        return predicate, ox.Literal(value.strip().upper())
    (triple,), _ = normalise(
        [ox.Triple(ox.NamedNode(SUBMISSION_BASE), predicate, ox.Literal(value.strip()))]
    )
    assert isinstance(triple.object, ox.Literal)  # normalising keeps a literal a literal
    return predicate, triple.object


def _peer_query(peer: str, predicate: ox.NamedNode, literal: ox.Literal) -> str:
    values = f"VALUES (?key ?value) {{ ({predicate} {literal}) }}"
    return PEER_LOOKUP.format(peer=ox.NamedNode(peer), values=values)


def _matches(source: str, solutions: Any) -> list[Match]:
    found: dict[str, Match] = {}
    for row in solutions:
        record = row["record"].value
        match = found.setdefault(record, Match(source, record, row["type"].value))
        same = row["sameAs"]
        if same is not None and same.value not in match.same_as:
            match.same_as.append(same.value)
    return list(found.values())


def _equivalences(matches: list[Match]) -> list[list[str]]:
    """Groups of records linked by ``owl:sameAs`` (in either direction)."""
    groups: list[set[str]] = []
    for m in matches:
        for other in m.same_as:
            pair = {m.record, other}
            joined = [g for g in groups if g & pair]
            merged = pair.union(*joined)
            groups = [g for g in groups if not g & pair] + [merged]
    return [sorted(g) for g in groups]


def link_same_as(
    registry: Registry, iri: str, other: str, principal: Principal, if_match: str | None
) -> Registration:
    """Add ``iri owl:sameAs other`` to a record, as its next version (the owner, or the scheme
    operator). Raises NotFound, Forbidden, PreconditionRequired, PreconditionFailed,
    UnusableInput (``other`` not an absolute IRI, or the record itself), ValidationFailed."""
    if not other.startswith(("http://", "https://")) or other == iri:
        raise UnusableInput("sameAs must be the absolute IRI of another record")
    triples = registry.record(iri, principal)
    if not triples:
        raise NotFound(f"no record {iri}")
    node = ox.NamedNode(iri)
    # Fragment nodes go back to local IDs so that the update re-mints them under the record.
    local = {t.subject for t in triples if t.subject != node} | {
        t.object
        for t in triples
        if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(iri + "#")
    }
    renaming = {
        n: ox.NamedNode(SUBMISSION_BASE + "#" + rdf.value(n).split("#", 1)[1]) for n in local
    }
    content = [
        ox.Triple(
            renaming.get(t.subject, t.subject),
            t.predicate,
            renaming.get(t.object, t.object) if isinstance(t.object, ox.NamedNode) else t.object,
        )
        for t in triples
    ]
    content.append(ox.Triple(node, OWL.sameAs, ox.NamedNode(other)))
    parsed = Parsed("sameAs link", "turtle", list(dict.fromkeys(content)))
    return registry.update(iri, parsed, principal, if_match)
