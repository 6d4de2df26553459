"""Authentication: who a client certificate speaks for, now; and which certificates an
organisation may be given.

On every request the certificate is checked against the registry, not only against its own
signature: it must be one the registry's CA issued and recorded, not revoked, within its
validity, held by an organisation that is verified now. The principal's roles and scopes are
those the certificate claims *and* the holder still holds (through active scheme memberships,
and, for a person's certificate, their user roles), so a withdrawn role stops working at once
even before its certificates are revoked.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from registry.base.clock import utcnow
from registry.base.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.kernel.lifecycle import record_of
from registry.trust import certificates, membership_view, people, schemes
from registry.trust.ca import (
    CertificateAuthority,
    Claims,
    claims_of,
    csr_common_name,
    load_certificate,
    load_csr,
)

if TYPE_CHECKING:
    from registry.kernel.core import Registry

ALL_ROLES = tuple(r.value for r in schemes.MARKET_ROLES.values()) + people.USER_ROLES


def authenticate(
    registry: Registry, ca: CertificateAuthority, certificate: str | bytes
) -> Principal:
    """The principal a client certificate (PEM or DER) speaks for. Raises Unauthenticated."""
    base = registry.settings.base_iri
    claims = issued_claims(ca, certificate, base)
    now = utcnow()
    if not claims.not_before <= now <= claims.not_after:
        raise Unauthenticated(
            f"certificate {claims.serial} is not valid now (valid until {claims.not_after})"
        )
    info = registry.info(certificates.certificate_iri(base, claims.serial))
    if (
        info is None
        or info.type != certificates.CERTIFICATE.value
        or info.owner != claims.organisation
    ):
        raise Unauthenticated(f"certificate {claims.serial} is not in the registry's register")
    if info.status != "active":
        raise Unauthenticated(f"certificate {claims.serial} has been {info.status}")
    org = registry.info(claims.organisation or "")
    if org is None or org.status != "verified":
        raise Unauthenticated(
            f"the organisation {claims.organisation} is {org.status if org else 'unknown'}"
        )
    roles, scopes = held_now(registry, org.iri, claims.user)
    return Principal(
        org.iri,
        frozenset(claims.roles & roles),
        frozenset(claims.scopes & scopes),
        user=claims.user,
        certificate_serial=claims.serial,
    )


@lru_cache(maxsize=1024)
def issued_claims(ca: CertificateAuthority, certificate: str | bytes, base_iri: str) -> Claims:
    """What a certificate the CA issued claims. Remembered for the same certificate text (a
    client presents the same one on every request): parsing it and checking the CA's signature
    were a fifth of authenticating; what may change (validity now, the register's status of the
    certificate and its holder, the roles held) is checked on every request by
    :func:`authenticate`. Raises Unauthenticated (nothing is remembered then)."""
    try:
        cert = load_certificate(certificate)
    except UnusableInput as e:
        raise Unauthenticated(e.detail) from None
    if not ca.issued(cert):
        raise Unauthenticated("the client certificate was not issued by this registry's CA")
    return claims_of(cert, base_iri)


def held_now(registry: Registry, org: str, user: str | None = None) -> tuple[set[str], set[str]]:
    """The roles and scopes an organisation (and one of its people) holds today."""
    roles, scopes = membership_view.held(registry, org)
    if user:
        roles |= people.roles_held(registry, user, org)
    return roles, scopes


def request_certificate(
    registry: Registry,
    ca: CertificateAuthority,
    principal: Principal,
    org: str,
    csr_pem: str,
    *,
    name: str | None = None,
    user: str | None = None,
    roles: list[str] | None = None,
    scopes: list[str] | None = None,
    days: int | None = None,
) -> certificates.Issued:
    """An administrator asks for a client certificate for one of the organisation's
    applications (or, with ``user``, one of its people). Claims default to everything held now.

    Raises Unauthenticated, Forbidden (claims not held), NotFound, UnusableInput (bad CSR, no
    claims), InvalidTransition (organisation not verified).
    """
    people.require_admin(principal, org)
    info = record_of(registry, org, FDI.Organisation, "organisation")
    if info.status != "verified":
        raise InvalidTransition(
            f"{org} is {info.status}; only a verified organisation holds certificates",
            status=info.status,
        )
    csr = load_csr(csr_pem)
    if user:
        person = registry.info(user)
        if person is None or person.type != people.USER.value or person.owner != org:
            raise NotFound(f"{user} is not a user of {org}")
        if person.status != "active":
            raise InvalidTransition(f"{user} is {person.status}", status=person.status)
    holdable, scopes_held = held_now(registry, org, user)
    wanted = schemes.terms(roles, ALL_ROLES, "role") if roles is not None else sorted(holdable)
    wanted_scopes = (
        schemes.terms(scopes, schemes.FDI_SCHEME.scopes, "scope")
        if scopes is not None
        else sorted(scopes_held)
    )
    missing = [schemes.name_of(r) for r in wanted if r not in holdable]
    missing += [schemes.name_of(s) for s in wanted_scopes if s not in scopes_held]
    if missing:
        raise Forbidden(
            f"{org} does not hold {', '.join(missing)} now: only roles and scopes granted "
            "in an active membership (or a person's user roles) can be certified"
        )
    if not wanted and not wanted_scopes:
        raise UnusableInput(
            "nothing to certify: the organisation holds no role yet. Join a scheme, "
            "accept its agreement, and ask again once the membership is active"
        )
    limit = registry.settings.certificate_days
    if days is not None and (not isinstance(days, int) or days < 1):
        raise UnusableInput(f"days must be a whole number of days from 1 to {limit}")
    days = min(days or limit, limit)
    label = name or csr_common_name(csr) or "application"
    with registry.transaction(principal.actor, "certificate-issue") as tx:
        return certificates.issue(
            tx,
            registry,
            ca,
            organisation=org,
            public_key=csr.public_key(),
            name=label,
            roles=wanted,
            scopes=wanted_scopes,
            days=days,
            user=user,
        )


def revoke_certificate(
    registry: Registry, principal: Principal, serial: str, reason: str | None = None
) -> dict[str, Any]:
    """The holder's administrator (or the scheme operator) revokes one certificate, e.g. when
    its key may be compromised. Raises Unauthenticated, Forbidden, NotFound, InvalidTransition."""
    iri = certificates.certificate_iri(registry.settings.base_iri, serial)
    info = record_of(registry, iri, certificates.CERTIFICATE, "certificate")
    people.require_admin(principal, info.owner)
    with registry.transaction(principal.actor, "certificate-revoke") as tx:
        current = tx.info(iri)
        if current is None or current.status != "active":
            raise InvalidTransition(
                f"certificate {serial} is {current.status if current else 'unknown'}",
                status=current.status if current else None,
            )
        certificates.revoke_one(tx, registry, iri, reason or f"revoked by {principal.actor}")
    return certificates.describe(registry, iri)
