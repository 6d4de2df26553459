"""Scheme memberships as read: the roles and scopes an organisation holds through them, and
each as the API shows it, with the step the organisation takes next (registry.trust.memberships
changes them)."""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import clock, rdf
from registry.base.vocab import FDI, ORG, PROV
from registry.kernel.lifecycle import (
    content,
    first,
    objects,
    owned,
    parse_date,
    record_of,
    status_word,
    text,
    uid,
)

if TYPE_CHECKING:
    from registry.kernel.core import Registry
    from registry.kernel.transaction import RecordInfo

from registry.trust.schemes import (
    FDI_SCHEME,
    Scheme,
    name_of,
    scheme_of,
)

MEMBERSHIP = FDI.SchemeMembership
OPEN = ("requested", "awaiting-acceptance", "active", "suspended")


def held(
    registry: Registry,
    org: str,
    on: dt.date | None = None,
    pending: dict[str, list[ox.Triple]] | None = None,
) -> tuple[set[str], set[str]]:
    """The roles and scopes an organisation holds through memberships active on ``on``."""
    on = on or clock.today()
    roles: set[str] = set()
    scopes: set[str] = set()
    for info in owned(registry, org, MEMBERSHIP):
        given = (pending or {}).get(info.iri)
        terms = _terms(info.iri, given) if given else _stored_terms(registry, info)
        if terms.status != "active":
            continue
        if (terms.start and on < terms.start) or (terms.end and on > terms.end):
            continue
        roles.update(terms.roles)
        scopes.update(terms.scopes)
    return roles, scopes


@dataclass(frozen=True)
class _Terms:
    """What :func:`held` reads of one membership."""

    status: str | None
    start: dt.date | None
    end: dt.date | None
    roles: frozenset[str]
    scopes: frozenset[str]


def _terms(iri: str, triples: list[ox.Triple]) -> _Terms:
    node = ox.NamedNode(iri)
    return _Terms(
        status_word(first(triples, node, FDI.membershipStatus)),
        parse_date(first(triples, node, FDI.validFrom)),
        parse_date(first(triples, node, FDI.validTo)),
        frozenset(rdf.value(t) for t in objects(triples, node, ORG.role)),
        frozenset(rdf.value(t) for t in objects(triples, node, FDI.grantedScope)),
    )


# Each registry's memberships as read, by (IRI, journal sequence of the record's last change):
# every authenticated request reads its organisation's memberships, and reading them from the
# index was about half of authenticating. A change gives the record a new sequence, so an
# entry is never stale; it is kept only once the index has applied that sequence.
_REMEMBERED: weakref.WeakKeyDictionary[Registry, dict[tuple[str, int], _Terms]] = (
    weakref.WeakKeyDictionary()
)
_REMEMBER_AT_MOST = 4096


def _stored_terms(registry: Registry, info: RecordInfo) -> _Terms:
    remembered = _REMEMBERED.get(registry)
    if remembered is None:
        remembered = _REMEMBERED.setdefault(registry, {})
    key = (info.iri, info.seq)
    found = remembered.get(key)
    if found is not None:
        return found
    # Read before the content: the index then holds this version (or a later one).
    applied = registry.applied() >= info.seq
    found = _terms(info.iri, content(registry, info.iri))
    if applied:
        if len(remembered) >= _REMEMBER_AT_MOST:
            remembered.clear()
        remembered[key] = found
    return found


def memberships_of(registry: Registry, org: str) -> list[dict[str, Any]]:
    return [
        view_of(registry, i.iri, content(registry, i.iri), i.status)
        for i in owned(registry, org, MEMBERSHIP)
    ]


def membership(registry: Registry, iri: str) -> dict[str, Any]:
    """Raises NotFound."""
    info = record_of(registry, iri, MEMBERSHIP, "membership")
    return view_of(registry, iri, content(registry, iri), info.status)


def scheme_iri_of(registry: Registry, membership: str) -> str:
    term = first(content(registry, membership), ox.NamedNode(membership), ORG.organization)
    return rdf.value(term) if term is not None else FDI_SCHEME.iri


def accepted_version(triples: list[ox.Triple], node: ox.NamedNode) -> str | None:
    acceptance = first(triples, node, FDI.acceptance)
    agreement = first(triples, acceptance, FDI.acceptedAgreement) if acceptance else None
    return rdf.value(agreement) if agreement is not None else None


def view_of(
    registry: Registry, iri: str, triples: list[ox.Triple], status: str | None
) -> dict[str, Any]:
    node = ox.NamedNode(iri)
    base = registry.settings.base_iri
    s = scheme_of(rdf.value(first(triples, node, ORG.organization) or FDI.FDIScheme))
    acceptance = first(triples, node, FDI.acceptance)
    accepted = None
    if acceptance is not None:
        accepted = {
            "agreement": accepted_version(triples, node),
            "by": text(triples, acceptance, PROV.wasAssociatedWith),
            "at": text(triples, acceptance, PROV.endedAtTime),
            "digest": text(triples, acceptance, FDI.documentDigest),
        }
    return {
        "id": iri,
        "href": f"{base}memberships/{uid(iri)}",
        "organisation": text(triples, node, ORG.member),
        "scheme": s.slug,
        "status": status,
        "requestedRoles": [
            name_of(rdf.value(t)) for t in objects(triples, node, FDI.requestedRole)
        ],
        "roles": sorted(name_of(rdf.value(t)) for t in objects(triples, node, ORG.role)),
        "scopes": sorted(name_of(rdf.value(t)) for t in objects(triples, node, FDI.grantedScope)),
        "validFrom": text(triples, node, FDI.validFrom),
        "validTo": text(triples, node, FDI.validTo),
        "reason": text(triples, node, FDI.statusReason),
        "acceptance": accepted,
        "next": next_step(
            base, iri, s, status, accepted is not None, text(triples, node, ORG.member)
        ),
    }


def next_step(
    base: str, iri: str, s: Scheme, status: str | None, accepted: bool, org: str | None
) -> dict[str, Any]:
    accept = {
        "step": "accept-agreement",
        "method": "POST",
        "href": f"{base}memberships/{uid(iri)}/accept",
        "agreement": s.agreement_iri(base),
        "document": f"{base}schemes/{s.slug}/agreements/{s.current_version}",
    }
    if status == "requested" and not accepted:
        return {
            **accept,
            "description": "Read and accept the scheme's standard agreement (POST "
            '{"agreement": ...} to href) while the scheme operator reviews your request.',
        }
    if status == "requested":
        return {
            "step": "wait-for-grant",
            "description": "Agreement accepted. Wait for the scheme "
            "operator to grant roles and scopes; your inbox will be told.",
        }
    if status == "awaiting-acceptance":
        return {
            **accept,
            "description": "Roles and scopes are granted. The membership becomes "
            "active once you accept the scheme's standard agreement "
            '(POST {"agreement": ...} to href).',
        }
    if status == "active":
        return {
            "step": "request-certificate",
            "method": "POST",
            "description": "The membership is active. Ask for client certificates for your "
            "applications carrying the roles and scopes granted (POST a CSR).",
            "href": f"{base}organisations/{uid(org or '')}/certificates",
        }
    return {
        "step": "contact-scheme-operator",
        "description": f"The membership is {status}; contact the scheme operator.",
    }
