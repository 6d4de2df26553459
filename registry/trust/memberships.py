"""Scheme memberships: an organisation asks to join a scheme, the scheme operator grants roles
and scopes for a period, and the membership becomes active once the organisation has accepted
the scheme's standard agreement; it is told at each step what to do next.

Membership lifecycle (``fdi:membershipStatus``)::

    requested ──grant──▶ awaiting-acceptance ──accept──▶ active ⇄ suspended
        │  └──accept (recorded)──grant──────────────────▶ active
        └──refuse──▶ refused          any but refused ──revoke──▶ revoked

Suspending or revoking a membership revokes the certificates that claim its roles or scopes,
and the organisation record's ``fdi:marketRole`` follows the roles of its active memberships.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import clock, rdf
from registry.base.activities import notification
from registry.base.errors import Conflict, NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI, ORG, PROV, RDF, RDFS
from registry.kernel.lifecycle import (
    content,
    date_literal,
    objects,
    owned,
    record_of,
    replace,
    require_status,
    restatus,
    text,
    timestamp,
)
from registry.submissions.records import mint
from registry.trust import certificates
from registry.trust.membership_view import (
    MEMBERSHIP,
    OPEN,
    accepted_version,
    held,
    scheme_iri_of,
    view_of,
)

if TYPE_CHECKING:
    from registry.kernel.core import RecordInfo, Registry, Transaction

from registry.kernel.lifecycle import check_version
from registry.trust.people import require_admin
from registry.trust.schemes import (
    DIRECTORY_ROLES,
    Scheme,
    ensure_scheme,
    name_of,
    operator_iri,
    require_operator,
    scheme_of,
    terms,
)


def request_membership(
    registry: Registry, principal: Principal, s: Scheme, roles: list[str], note: str | None = None
) -> dict[str, Any]:
    """An organisation (its administrator) asks to join a scheme in some roles.

    Raises Unauthenticated/Forbidden, UnusableInput (unknown role), InvalidTransition (the
    organisation is not verified) and Conflict (it has an open membership already).
    """

    org = require_admin(principal, principal.organisation)
    wanted = terms(roles, s.roles, "role")
    if not wanted:
        raise UnusableInput("ask for at least one role: " + ", ".join(name_of(r) for r in s.roles))
    with registry.transaction(principal.actor, "membership-request") as tx:
        require_status(
            tx.info(org) or _missing(org), ("verified",), "join a scheme as", "organisation"
        )
        ensure_scheme(registry, tx, s)
        existing = open_membership(registry, org, s)
        if existing:
            raise Conflict(
                f"{org} has a membership of {s.slug} already ({existing}); "
                "it can be changed, not duplicated",
                existing=existing,
            )
        iri = mint(registry.settings.base_iri, "membership")
        triples = [
            ox.Triple(iri, RDF.type, MEMBERSHIP),
            ox.Triple(iri, ORG.member, ox.NamedNode(org)),
            ox.Triple(iri, ORG.organization, ox.NamedNode(s.iri)),
            *(ox.Triple(iri, FDI.requestedRole, ox.NamedNode(r)) for r in wanted),
            ox.Triple(iri, DCT.created, timestamp()),
        ]
        triples = _put_new(tx, registry, iri, triples, org, note)
        view = view_of(registry, iri.value, triples, "requested")
        tx.notify(
            operator_iri(registry.settings.base_iri),
            notification(
                "Offer",
                principal.organisation,
                iri.value,
                f"{org} asks to join {s.slug} as {', '.join(name_of(r) for r in wanted)}",
            ),
        )
        tx.notify(org, notification("Create", org, iri.value, view["next"]["description"]))
    return view


def _put_new(
    tx: Transaction,
    registry: Registry,
    iri: ox.NamedNode,
    triples: list[ox.Triple],
    org: str,
    note: str | None,
) -> list[ox.Triple]:
    triples = triples + [ox.Triple(iri, FDI.membershipStatus, FDI.Requested)]
    if note:
        triples.append(ox.Triple(iri, RDFS.comment, ox.Literal(note)))
    tx.put(iri, MEMBERSHIP, triples, graph=registry.public_graph, status="requested", owner=org)
    return triples


def grant(
    registry: Registry,
    principal: Principal,
    membership: str,
    roles: list[str],
    scopes: list[str] | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    if_match: str | None = None,
) -> dict[str, Any]:
    """The scheme operator grants roles and scopes for a period. The membership is active at
    once if the organisation has accepted the current agreement, else it awaits acceptance.

    Raises Forbidden, NotFound, UnusableInput, InvalidTransition, PreconditionFailed.
    """

    require_operator(principal)
    info = record_of(registry, membership, MEMBERSHIP, "membership")
    s = scheme_of(scheme_iri_of(registry, membership))
    granted = terms(roles, s.roles, "role")
    if not granted:
        raise UnusableInput("grant at least one role")
    chosen = (
        terms(scopes, s.scopes, "scope")
        if scopes is not None
        else sorted({c for r in granted for c in s.default_scopes.get(r, ())})
    )
    valid_from = valid_from or clock.today()
    if valid_to is not None and valid_to < valid_from:
        raise UnusableInput(f"validTo ({valid_to}) is before validFrom ({valid_from})")
    with registry.transaction(principal.actor, "membership-grant") as tx:
        info = _entry(tx, membership)
        check_version(info, if_match)
        require_status(info, ("requested",), "grant", "membership")
        node = ox.NamedNode(membership)
        triples = replace(
            content(registry, membership), node, ORG.role, [ox.NamedNode(r) for r in granted]
        )
        triples = replace(triples, node, FDI.grantedScope, [ox.NamedNode(c) for c in chosen])
        triples = replace(triples, node, FDI.validFrom, [date_literal(valid_from)])
        triples = replace(triples, node, FDI.validTo, [date_literal(valid_to)] if valid_to else [])
        accepted = accepted_version(triples, node) == s.agreement_iri(registry.settings.base_iri)
        status = "active" if accepted else "awaiting-acceptance"
        triples = restatus(tx, info, triples, FDI.membershipStatus, status, None)
        if status == "active":
            _sync_roles(tx, registry, info.owner, extra=(membership, triples))
        view = view_of(registry, membership, triples, status)
        tx.notify(
            _owner(info),
            notification(
                "Accept",
                operator_iri(registry.settings.base_iri),
                membership,
                view["next"]["description"],
            ),
        )
    return view


def accept_agreement(
    registry: Registry, principal: Principal, membership: str, agreement: str | None = None
) -> dict[str, Any]:
    """The member's administrator accepts the scheme's current standard agreement; who and when
    are recorded. Raises Forbidden, NotFound, Conflict (not the current version),
    InvalidTransition."""

    info = record_of(registry, membership, MEMBERSHIP, "membership")
    require_admin(principal, info.owner, operator_may=False)
    s = scheme_of(scheme_iri_of(registry, membership))
    current = s.agreement_iri(registry.settings.base_iri)
    if agreement not in (None, current, s.current_version):
        raise Conflict(
            f"{agreement} is not the current agreement of {s.slug}; accept {current}",
            existing=current,
        )
    with registry.transaction(principal.actor, "agreement-acceptance") as tx:
        info = _entry(tx, membership)
        require_status(
            info, ("requested", "awaiting-acceptance"), "accept the agreement for", "membership"
        )
        node = ox.NamedNode(membership)
        acceptance = ox.NamedNode(membership + "#acceptance")
        triples = [t for t in content(registry, membership) if t.subject != acceptance]
        triples = replace(triples, node, FDI.acceptance, [acceptance]) + [
            ox.Triple(acceptance, RDF.type, FDI.AgreementAcceptance),
            ox.Triple(acceptance, FDI.acceptedAgreement, ox.NamedNode(current)),
            ox.Triple(
                acceptance, FDI.documentDigest, ox.Literal(s.agreement_digest(s.current_version))
            ),
            ox.Triple(
                acceptance,
                PROV.wasAssociatedWith,
                ox.NamedNode(principal.user or _organisation(principal)),
            ),
            ox.Triple(acceptance, PROV.endedAtTime, timestamp()),
        ]
        status = "active" if info.status == "awaiting-acceptance" else "requested"
        triples = restatus(tx, info, triples, FDI.membershipStatus, status, None)
        if status == "active":
            _sync_roles(tx, registry, info.owner, extra=(membership, triples))
        view = view_of(registry, membership, triples, status)
        tx.notify(
            _owner(info),
            notification("Accept", principal.organisation, current, view["next"]["description"]),
        )
    return view


def refuse(
    registry: Registry, principal: Principal, membership: str, reasons: list[str]
) -> dict[str, Any]:
    """The scheme operator refuses a request to join, with reasons. Raises Forbidden,
    NotFound, UnusableInput (no reason), InvalidTransition."""
    return _transition(
        registry,
        principal,
        membership,
        "refuse",
        ("requested", "awaiting-acceptance"),
        "refused",
        "; ".join(r.strip() for r in reasons if r.strip()) or _no_reason(),
    )


def suspend(
    registry: Registry, principal: Principal, membership: str, reason: str
) -> dict[str, Any]:
    return _transition(registry, principal, membership, "suspend", ("active",), "suspended", reason)


def reinstate(
    registry: Registry, principal: Principal, membership: str, reason: str | None = None
) -> dict[str, Any]:
    return _transition(
        registry, principal, membership, "reinstate", ("suspended",), "active", reason
    )


def revoke(
    registry: Registry, principal: Principal, membership: str, reason: str
) -> dict[str, Any]:
    return _transition(registry, principal, membership, "revoke", OPEN, "revoked", reason)


def _transition(
    registry: Registry,
    principal: Principal,
    membership: str,
    action: str,
    allowed: tuple[str, ...],
    status: str,
    reason: str | None,
) -> dict[str, Any]:
    require_operator(principal)
    record_of(registry, membership, MEMBERSHIP, "membership")
    with registry.transaction(principal.actor, f"membership-{action}") as tx:
        info = _entry(tx, membership)
        require_status(info, allowed, action, "membership")
        triples = restatus(
            tx, info, content(registry, membership), FDI.membershipStatus, status, reason
        )
        if status in ("suspended", "revoked"):
            node = ox.NamedNode(membership)
            claims = {
                rdf.value(t)
                for t in objects(triples, node, ORG.role) + objects(triples, node, FDI.grantedScope)
            }
            certificates.revoke_all(
                tx, registry, _owner(info), f"membership {status}: {reason}", claims=claims
            )
        _sync_roles(tx, registry, info.owner, extra=(membership, triples))
        view = view_of(registry, membership, triples, status)
        tx.notify(
            _owner(info),
            notification(
                "Update",
                operator_iri(registry.settings.base_iri),
                membership,
                f"Your membership is {status}" + (f": {reason}" if reason else ""),
            ),
        )
    return view


def cascade(
    tx: Transaction, registry: Registry, org: str, action: str, reason: str | None
) -> dict[str, list[ox.Triple]]:
    """Follow an organisation's suspension, reinstatement or revocation in its memberships
    (the organisation's own record is the caller's to write). Returns the changed memberships'
    new content, for :func:`held`.

    A reinstatement reactivates only the memberships the organisation's suspension suspended.
    """
    changed: dict[str, list[ox.Triple]] = {}
    for info in owned(registry, org, MEMBERSHIP):
        triples = content(registry, info.iri)
        why = text(triples, ox.NamedNode(info.iri), FDI.statusReason) or ""
        if action == "suspend" and info.status == "active":
            changed[info.iri] = restatus(
                tx, info, triples, FDI.membershipStatus, "suspended", f"{CASCADE_MARK}: {reason}"
            )
        elif action == "reinstate" and info.status == "suspended" and why.startswith(CASCADE_MARK):
            changed[info.iri] = restatus(tx, info, triples, FDI.membershipStatus, "active", None)
        elif action == "revoke" and info.status in OPEN:
            changed[info.iri] = restatus(
                tx,
                info,
                triples,
                FDI.membershipStatus,
                "revoked",
                f"organisation revoked: {reason}",
            )
    return changed


CASCADE_MARK = "organisation suspended"


def open_membership(registry: Registry, org: str, s: Scheme) -> str | None:
    for info in owned(registry, org, MEMBERSHIP):
        if info.status in OPEN and scheme_iri_of(registry, info.iri) == s.iri:
            return info.iri
    return None


def _entry(tx: Transaction, membership: str) -> RecordInfo:
    """The membership's entry in the register, found before the transaction began."""
    info = tx.info(membership)
    assert info is not None
    return info


def _owner(info: RecordInfo) -> str:
    """The organisation a membership is for (its owner)."""
    assert info.owner is not None  # a membership is always its organisation's
    return info.owner


def _organisation(principal: Principal) -> str:
    assert principal.organisation is not None  # require_admin found its administrator
    return principal.organisation


def _sync_roles(
    tx: Transaction, registry: Registry, org: str | None, extra: tuple[str, list[ox.Triple]]
) -> None:
    """Keep the organisation record's fdi:marketRole equal to its active memberships' roles."""
    if not org or registry.info(org) is None:
        return
    roles, _ = held(registry, org, pending={extra[0]: extra[1]})
    roles &= DIRECTORY_ROLES
    node = ox.NamedNode(org)
    triples = content(registry, org)
    if {rdf.value(t) for t in objects(triples, node, FDI.marketRole)} == roles:
        return
    tx.put(
        node,
        FDI.Organisation,
        replace(triples, node, FDI.marketRole, [ox.NamedNode(r) for r in sorted(roles)]),
    )


def _missing(iri: str) -> Any:
    raise NotFound(f"no organisation {iri}")


def _no_reason() -> str:
    raise UnusableInput("give at least one reason")
