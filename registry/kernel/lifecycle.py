"""Records with a status lifecycle: organisations, scheme memberships, users and certificates.

Such a record is never deleted. Its status is kept twice, in step: in the register
(``RecordInfo.status``, a short word such as ``verified``) for quick checks on every request, and
in its RDF (``fdi:organisationStatus fdi:Verified`` and the like) so that SPARQL sees it. A
change of status is a new version of the whole record, with the reason and the time.

>>> status_term("awaiting-acceptance").value
'https://w3id.org/fdi/ns#AwaitingAcceptance'
>>> status_word(FDI.AwaitingAcceptance)
'awaiting-acceptance'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import rdf
from registry.base.clock import utcnow_seconds
from registry.base.errors import InvalidTransition, NotFound
from registry.base.rdf import Subject, Term
from registry.base.vocab import DCT, FDI, XSD
from registry.kernel.preconditions import check_version as check_version  # status changes take it
from registry.kernel.transaction import RecordInfo

if TYPE_CHECKING:
    from registry.kernel.core import RecordInfo, Registry, Transaction

STATUSES: dict[str, ox.NamedNode] = {
    "applied": FDI.Applied,
    "verified": FDI.Verified,
    "rejected": FDI.Rejected,
    "suspended": FDI.Suspended,
    "revoked": FDI.Revoked,
    "requested": FDI.Requested,
    "awaiting-acceptance": FDI.AwaitingAcceptance,
    "active": FDI.Active,
    "refused": FDI.Refused,
    "removed": FDI.Removed,
    "pending": FDI.Pending,
    "confirmed": FDI.Confirmed,
    "disputed": FDI.Disputed,
}
_WORDS = {term.value: word for word, term in STATUSES.items()}


def status_term(word: str) -> ox.NamedNode:
    return STATUSES[word]


def status_word(term: Term | None) -> str | None:
    return _WORDS.get(term.value) if isinstance(term, ox.NamedNode) else None


now = utcnow_seconds  # what lifecycle dates and xsd:dateTime values are taken from


def timestamp(moment: dt.datetime | None = None) -> ox.Literal:
    """An ``xsd:dateTime`` literal in UTC, to the second."""
    moment = (moment or now()).astimezone(dt.UTC).replace(microsecond=0)
    return ox.Literal(moment.isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)


def date_literal(day: dt.date) -> ox.Literal:
    return ox.Literal(day.isoformat(), datatype=XSD.date)


def parse_date(term: Term | None) -> dt.date | None:
    return dt.date.fromisoformat(term.value) if isinstance(term, ox.Literal) else None


def parse_datetime(term: Term | None) -> dt.datetime | None:
    if not isinstance(term, ox.Literal):
        return None
    return dt.datetime.fromisoformat(term.value.replace("Z", "+00:00"))


def uid(iri: str) -> str:
    """The last path segment of a record IRI (what the API's paths use)."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def content(registry: Registry, iri: str) -> list[ox.Triple]:
    """A record's stored triples, from its own graph whoever may see it. Raises NotFound."""
    info = registry.info(iri)
    if info is None:
        raise NotFound(f"no record {iri}")
    quads = registry.index.record_quads(ox.NamedNode(info.graph), ox.NamedNode(iri))
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def record_of(registry: Registry, iri: str, rtype: ox.NamedNode, what: str) -> RecordInfo:
    """The register entry of a record that must be of ``rtype``. Raises NotFound."""
    info = registry.info(iri)
    if info is None or info.type != rtype.value:
        raise NotFound(f"no {what} {iri}")
    return info


def owned(registry: Registry, owner: str, rtype: ox.NamedNode) -> list[RecordInfo]:
    """The register entries of an owner's records of one type, oldest first."""
    return registry.records(rtype, owner=owner)


def with_status(registry: Registry, rtype: ox.NamedNode, status: str) -> list[RecordInfo]:
    """The register entries of every record of a type in one status, oldest change first."""
    return registry.records(rtype, status=status, order="modified")


def objects(triples: Iterable[ox.Triple], subject: Term, predicate: ox.NamedNode) -> list[Term]:
    return [t.object for t in triples if t.subject == subject and t.predicate == predicate]


def first(triples: Iterable[ox.Triple], subject: Term, predicate: ox.NamedNode) -> Term | None:
    found = objects(triples, subject, predicate)
    return found[0] if found else None


def text(triples: Iterable[ox.Triple], subject: Term, predicate: ox.NamedNode) -> str | None:
    term = first(triples, subject, predicate)
    return rdf.value(term) if term is not None else None


def replace(
    triples: list[ox.Triple], subject: Subject, predicate: ox.NamedNode, values: Iterable[Term]
) -> list[ox.Triple]:
    """The triples with every ``subject predicate *`` replaced by ``values``."""
    kept = [t for t in triples if not (t.subject == subject and t.predicate == predicate)]
    return kept + [ox.Triple(subject, predicate, v) for v in values]


def require_status(info: RecordInfo, allowed: Iterable[str], action: str, what: str) -> None:
    """Raise InvalidTransition unless the record stands in one of the ``allowed`` statuses."""
    allowed = tuple(allowed)
    if info.status not in allowed:
        raise InvalidTransition(
            f"cannot {action} the {what} {info.iri}: it is {info.status}, "
            f"and only a {' or '.join(allowed)} {what} can be",
            status=info.status,
            record=info.iri,
        )


def restatus(
    tx: Transaction,
    info: RecordInfo,
    triples: list[ox.Triple],
    status_property: ox.NamedNode,
    status: str,
    reason: str | None,
) -> list[ox.Triple]:
    """Put a new version of the record in ``status`` (register and RDF), with why and when."""
    subject = ox.NamedNode(info.iri)
    triples = replace(triples, subject, status_property, [status_term(status)])
    triples = replace(triples, subject, FDI.statusReason, [ox.Literal(reason)] if reason else [])
    triples = replace(triples, subject, DCT.modified, [timestamp()])
    tx.put(subject, ox.NamedNode(info.type), triples, graph=ox.NamedNode(info.graph), status=status)
    return triples
