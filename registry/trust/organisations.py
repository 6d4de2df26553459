"""Organisations: applications with KYC evidence, verification, and the organisation lifecycle.

One organisation, one ID. The natural key is the legal identifier, normalised (Companies House
number upper case without spaces, digits zero-padded to 8; LEI upper case): applying again with
the same identifier, in any spelling, is refused with a pointer to the existing record. The
check and the insert happen under the registry's one write lock, so racing applications cannot
both pass it.

Lifecycle (``fdi:organisationStatus``, and the register's status)::

    applied ──verify──▶ verified ⇄ suspended        (reinstate: suspended → verified)
       └──reject──▶ rejected      verified, suspended ──revoke──▶ revoked

Suspension and revocation cascade to the organisation's memberships and revoke its
certificates; a reinstatement reactivates the memberships its suspension suspended (new
certificates must be asked for). Nothing is ever deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.activities import activity
from registry.base.errors import (
    DuplicateOrganisation,
    InvalidTransition,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.vocab import DCAT, DCT, FDI, FOAF, RDF, ROV, VCARD, sparql_prefixes
from registry.kernel.lifecycle import (
    check_version,
    content,
    objects,
    owned,
    record_of,
    replace,
    require_status,
    restatus,
    text,
    timestamp,
)
from registry.shacl.validation import check
from registry.submissions.formats import SUBMISSION_BASE, Parsed
from registry.submissions.records import assign_iris, rename
from registry.trust import certificates, membership_view, memberships, people, schemes
from registry.trust.ca import CertificateAuthority, csr_common_name, fingerprint, load_csr
from registry.trust.legal_identifiers import normalise_company_number, normalise_lei
from registry.trust.organisation_view import ORGANISATION, organisation

if TYPE_CHECKING:
    from registry.kernel.core import Registry, Transaction

ASSURANCE_LEVELS = {n: FDI[n] for n in ("SelfAsserted", "DocumentsChecked", "IndependentlyAudited")}
ORGANISATION_BY_IDENTIFIER = (
    sparql_prefixes("fdi")
    + """SELECT DISTINCT ?org ?key ?value
WHERE { ?org ?key ?value ; a fdi:Organisation }
"""
)


@dataclass
class Application:
    """What an organisation gives when it applies: its KYC evidence, its first administrator
    (the contact point unless named) and, optionally, a CSR for that administrator's first
    client certificate, issued when the organisation is verified."""

    legal_name: str
    contact_email: str
    company_number: str | None = None
    lei: str | None = None
    registered_address: str | None = None
    website: str | None = None
    contact_name: str | None = None
    administrator_name: str | None = None
    administrator_email: str | None = None
    csr: str | None = None


def apply(registry: Registry, application: Application, principal: Principal) -> dict[str, Any]:
    """Register an application. Raises ValidationFailed (the evidence breaks the organisation
    shapes), UnusableInput (a bad CSR) or DuplicateOrganisation (pointing at the existing ID)."""
    number = (
        normalise_company_number(application.company_number) if application.company_number else None
    )
    lei = normalise_lei(application.lei) if application.lei else None
    csr = load_csr(application.csr) if application.csr else None
    subject = ox.NamedNode(SUBMISSION_BASE + "#application")
    parsed = Parsed(
        "application",
        "json",
        _evidence(subject, application, number, lei),
        {subject: "application"},
    )
    report, _, split = check(parsed, registry.shapes, related=lambda _: [], on=registry.today())
    if not report.conforms:
        raise ValidationFailed(
            f"{len(report.violations)} rule(s) broken in the application", report
        )
    base = registry.settings.base_iri
    with registry.transaction(principal.actor, "organisation-application") as tx:
        existing = find_by_identifier(registry, number, lei)
        if existing:
            tx.event(
                {
                    "refused": "duplicate application",
                    "existing": existing,
                    "companyNumber": number,
                    "lei": lei,
                }
            )
        else:
            renaming = assign_iris(split.records, base)
            org = renaming[subject]
            triples = rename(split.records[0].triples, renaming) + [
                ox.Triple(org, FDI.organisationStatus, FDI.Applied),
                ox.Triple(org, DCT.created, timestamp()),
            ]
            tx.put(org, ORGANISATION, triples, status="applied", owner=org.value)
            people.stage_user(
                tx,
                registry,
                org.value,
                application.administrator_name or application.contact_name,
                application.administrator_email or application.contact_email,
                [people.ADMINISTRATOR],
                csr=application.csr if csr else None,
            )
            tx.notify(
                schemes.operator_iri(base),
                _activity(
                    "Offer",
                    org.value,
                    org.value,
                    f"{application.legal_name} applies to join: verify or reject",
                ),
            )
    if existing:
        info = registry.info(existing)
        raise DuplicateOrganisation(
            f"an organisation with this legal identifier is registered already as {existing} "
            f"(status {info.status if info else 'unknown'}); one organisation has one ID",
            existing=existing,
            status=info.status if info else None,
        )
    view = organisation(registry, org.value)
    if csr is not None:
        view["csrFingerprint"] = fingerprint(csr.public_key())
    return view


def find_by_identifier(registry: Registry, number: str | None, lei: str | None) -> str | None:
    """The organisation already holding this Companies House number or LEI (normalised)."""
    for key, value in ((FDI.companyNumber, number), (FDI.lei, lei)):
        if not value:
            continue
        rows = registry.index.query(
            ORGANISATION_BY_IDENTIFIER,
            None,
            substitutions={ox.Variable("key"): key, ox.Variable("value"): ox.Literal(value)},
        )
        for row in rdf.solutions(rows):
            return rdf.value(row["org"])
    return None


def verify(
    registry: Registry,
    ca: CertificateAuthority,
    principal: Principal,
    org: str,
    level: str,
    note: str | None = None,
    if_match: str | None = None,
) -> dict[str, Any]:
    """The scheme operator verifies an applicant at an assurance level; the administrator's
    first certificate is issued if the application carried a CSR. Raises Forbidden, NotFound,
    UnusableInput (unknown level), InvalidTransition, PreconditionFailed."""
    schemes.require_operator(principal)
    if level not in ASSURANCE_LEVELS:
        raise UnusableInput(
            f"unknown assurance level {level!r}; use one of {', '.join(ASSURANCE_LEVELS)}"
        )
    record_of(registry, org, ORGANISATION, "organisation")
    with registry.transaction(principal.actor, "organisation-verify") as tx:
        info = tx.info(org)
        assert info is not None  # record_of found it
        check_version(info, if_match)
        require_status(info, ("applied",), "verify", "organisation")
        triples = replace(
            content(registry, org), ox.NamedNode(org), FDI.assuranceLevel, [ASSURANCE_LEVELS[level]]
        )
        restatus(tx, info, triples, FDI.organisationStatus, "verified", note)
        for user in owned(registry, org, people.USER):
            _issue_requested(tx, registry, ca, org, user.iri)
        tx.notify(
            org,
            _activity(
                "Accept",
                principal.organisation,
                org,
                "Your organisation is verified. Next: ask to join a scheme.",
            ),
        )
    return organisation(registry, org)


def reject(
    registry: Registry, principal: Principal, org: str, reasons: list[str]
) -> dict[str, Any]:
    """The scheme operator rejects an application, with reasons. Raises Forbidden, NotFound,
    UnusableInput (no reason), InvalidTransition."""
    reason = "; ".join(r.strip() for r in reasons if r and r.strip())
    if not reason:
        raise UnusableInput("give at least one reason for rejecting the application")
    return _transition(registry, principal, org, "reject", ("applied",), "rejected", reason)


def suspend(registry: Registry, principal: Principal, org: str, reason: str) -> dict[str, Any]:
    """Suspend a member: its memberships are suspended and its certificates revoked."""
    return _transition(registry, principal, org, "suspend", ("verified",), "suspended", reason)


def reinstate(
    registry: Registry, principal: Principal, org: str, reason: str | None = None
) -> dict[str, Any]:
    """Reinstate a suspended member (it asks for new certificates)."""
    return _transition(registry, principal, org, "reinstate", ("suspended",), "verified", reason)


def revoke(registry: Registry, principal: Principal, org: str, reason: str) -> dict[str, Any]:
    """Withdraw a member for good: memberships revoked, certificates revoked."""
    return _transition(
        registry, principal, org, "revoke", ("verified", "suspended"), "revoked", reason
    )


def _transition(
    registry: Registry,
    principal: Principal,
    org: str,
    action: str,
    allowed: tuple[str, ...],
    status: str,
    reason: str | None,
) -> dict[str, Any]:
    schemes.require_operator(principal)
    record_of(registry, org, ORGANISATION, "organisation")
    if org == schemes.operator_iri(registry.settings.base_iri) and action != "reinstate":
        raise InvalidTransition(
            "the scheme operator cannot " + action + " itself", status="verified"
        )
    with registry.transaction(principal.actor, f"organisation-{action}") as tx:
        info = tx.info(org)
        assert info is not None  # record_of found it
        require_status(info, allowed, action, "organisation")
        triples = content(registry, org)
        if action in ("suspend", "reinstate", "revoke"):
            changed = memberships.cascade(tx, registry, org, action, reason)
            roles, _ = membership_view.held(registry, org, pending=changed)
            kept = [ox.NamedNode(r) for r in sorted(roles) if r in schemes.DIRECTORY_ROLES]
            triples = replace(triples, ox.NamedNode(org), FDI.marketRole, kept)
        if action in ("suspend", "revoke"):
            certificates.revoke_all(tx, registry, org, f"organisation {status}: {reason}")
        restatus(tx, info, triples, FDI.organisationStatus, status, reason)
        tx.notify(
            org,
            _activity(
                "Update",
                principal.organisation,
                org,
                f"Your organisation is {status}" + (f": {reason}" if reason else ""),
            ),
        )
    return organisation(registry, org)


def _issue_requested(
    tx: Transaction, registry: Registry, ca: CertificateAuthority, org: str, user: str
) -> None:
    triples = content(registry, user)
    node = ox.NamedNode(user)
    pem = text(triples, node, FDI.certificateRequest)
    if pem is None:
        return
    csr = load_csr(pem)
    roles = [rdf.value(t) for t in objects(triples, node, FDI.userRole)]
    name = csr_common_name(csr) or text(triples, node, VCARD.fn) or "administrator"
    certificates.issue(
        tx,
        registry,
        ca,
        organisation=org,
        public_key=csr.public_key(),
        name=name,
        roles=roles,
        scopes=[],
        days=registry.settings.certificate_days,
        user=user,
    )
    tx.put(node, people.USER, replace(triples, node, FDI.certificateRequest, []))


def _evidence(
    subject: ox.NamedNode, a: Application, number: str | None, lei: str | None
) -> list[ox.Triple]:
    contact = ox.BlankNode()
    triples = [
        ox.Triple(subject, RDF.type, ORGANISATION),
        ox.Triple(subject, ROV.legalName, ox.Literal(a.legal_name.strip())),
        ox.Triple(subject, DCAT.contactPoint, contact),
        ox.Triple(contact, VCARD.hasEmail, _iri(people.mailto(a.contact_email))),
    ]
    optional: list[tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, rdf.Term | None]] = [
        (subject, FDI.companyNumber, ox.Literal(number) if number else None),
        (subject, FDI.lei, ox.Literal(lei) if lei else None),
        (
            subject,
            FDI.registeredAddress,
            ox.Literal(a.registered_address.strip()) if a.registered_address else None,
        ),
        (subject, FOAF.homepage, _iri(a.website.strip()) if a.website else None),
        (contact, VCARD.fn, ox.Literal(a.contact_name.strip()) if a.contact_name else None),
    ]
    return triples + [ox.Triple(s, p, o) for s, p, o in optional if o is not None]


def _iri(value: str) -> ox.NamedNode | ox.Literal:
    """An IRI if the value is one (else a literal, which the shapes then refuse with a message)."""
    try:
        return (
            ox.NamedNode(value)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:\S+$", value)
            else ox.Literal(value)
        )
    except ValueError:
        return ox.Literal(value)


def _activity(kind: str, actor: str | None, obj: str, summary: str) -> dict[str, Any]:
    return activity(kind, actor=actor, object=obj, summary=summary)
