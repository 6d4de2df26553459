"""The scheme operator: the organisation the registry creates for itself on first start.

It is verified (independently audited), holds the ``SchemeOperator`` role in an active
membership of the FDI scheme with every scope, and has one administrator,
``{base}id/user/scheme-operator-admin``. ``fdi ca admin-cert`` issues that administrator's
certificate (roles ``Administrator`` and ``SchemeOperator``), with which the operator verifies
applicants, grants memberships and suspends members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import iris
from registry.base.identity import SCHEME_OPERATOR
from registry.base.vocab import DCAT, DCT, FDI, ORG, PROV, RDF, ROV, VCARD
from registry.kernel.lifecycle import date_literal, now, timestamp
from registry.trust import certificates, membership_view, people, schemes
from registry.trust.ca import CertificateAuthority, load_csr, new_key_and_csr
from registry.trust.legal_identifiers import normalise_company_number

if TYPE_CHECKING:
    from registry.kernel.core import Registry, Transaction

ACTOR = "registry"


def admin_user_iri(base: str) -> str:
    return iris.user(base, "scheme-operator-admin")


def ensure_scheme_operator(registry: Registry) -> str:
    """Create the scheme, its agreement, and the scheme operator with its membership and
    administrator, unless they exist. Returns the operator's IRI."""
    base = registry.settings.base_iri
    so = schemes.operator_iri(base)
    if registry.info(so) is not None and registry.info(schemes.FDI_SCHEME.iri) is not None:
        return so
    with registry.transaction(ACTOR, "bootstrap") as tx:
        schemes.ensure_scheme(registry, tx)
        if tx.info(so) is not None:
            return so
        settings = registry.settings
        org = ox.NamedNode(so)
        contact = ox.NamedNode(so + "#contactPoint")
        tx.put(
            org,
            FDI.Organisation,
            [
                ox.Triple(org, RDF.type, FDI.Organisation),
                ox.Triple(org, ROV.legalName, ox.Literal(settings.operator_name)),
                ox.Triple(
                    org,
                    FDI.companyNumber,
                    ox.Literal(normalise_company_number(settings.operator_company_number)),
                ),
                ox.Triple(org, DCAT.contactPoint, contact),
                ox.Triple(contact, VCARD.fn, ox.Literal("Scheme operator")),
                ox.Triple(
                    contact, VCARD.hasEmail, ox.NamedNode(people.mailto(settings.operator_email))
                ),
                ox.Triple(org, FDI.organisationStatus, FDI.Verified),
                ox.Triple(org, FDI.assuranceLevel, FDI.IndependentlyAudited),
                ox.Triple(org, DCT.created, timestamp()),
            ],
            status="verified",
            owner=so,
        )
        admin = people.stage_user(
            tx,
            registry,
            so,
            "Scheme operator administrator",
            settings.operator_email,
            [people.ADMINISTRATOR],
            iri=ox.NamedNode(admin_user_iri(base)),
        )
        _membership(registry, tx, org, admin)
    return so


def _membership(
    registry: Registry, tx: Transaction, org: ox.NamedNode, admin: ox.NamedNode
) -> None:
    s = schemes.FDI_SCHEME
    base = registry.settings.base_iri
    iri = ox.NamedNode(iris.membership(base, "scheme-operator"))
    acceptance = ox.NamedNode(iri.value + "#acceptance")
    tx.put(
        iri,
        membership_view.MEMBERSHIP,
        [
            ox.Triple(iri, RDF.type, membership_view.MEMBERSHIP),
            ox.Triple(iri, ORG.member, org),
            ox.Triple(iri, ORG.organization, ox.NamedNode(s.iri)),
            ox.Triple(iri, ORG.role, ox.NamedNode(SCHEME_OPERATOR)),
            *(ox.Triple(iri, FDI.grantedScope, ox.NamedNode(c)) for c in s.scopes),
            ox.Triple(iri, FDI.validFrom, date_literal(now().date())),
            ox.Triple(iri, FDI.membershipStatus, FDI.Active),
            ox.Triple(iri, FDI.acceptance, acceptance),
            ox.Triple(acceptance, RDF.type, FDI.AgreementAcceptance),
            ox.Triple(acceptance, FDI.acceptedAgreement, ox.NamedNode(s.agreement_iri(base))),
            ox.Triple(
                acceptance, FDI.documentDigest, ox.Literal(s.agreement_digest(s.current_version))
            ),
            ox.Triple(acceptance, PROV.wasAssociatedWith, admin),
            ox.Triple(acceptance, PROV.endedAtTime, timestamp()),
            ox.Triple(iri, DCT.created, timestamp()),
        ],
        graph=registry.public_graph,
        status="active",
        owner=org.value,
    )


def admin_certificate(
    registry: Registry,
    ca: CertificateAuthority,
    csr_pem: str | None = None,
    days: int | None = None,
) -> tuple[bytes | None, certificates.Issued]:
    """Issue the scheme operator administrator's certificate (for a new key unless a CSR is
    given). Returns the new private key (PEM) or None, and the certificate."""
    ensure_scheme_operator(registry)
    base = registry.settings.base_iri
    key = None
    if csr_pem is None:
        key, csr_bytes = new_key_and_csr("Scheme operator administrator")
        csr_pem = csr_bytes.decode()
    csr = load_csr(csr_pem)
    with registry.transaction(ACTOR, "certificate-issue") as tx:
        issued = certificates.issue(
            tx,
            registry,
            ca,
            organisation=schemes.operator_iri(base),
            public_key=csr.public_key(),
            name="Scheme operator administrator",
            roles=[people.ADMINISTRATOR, SCHEME_OPERATOR],
            scopes=list(schemes.FDI_SCHEME.scopes),
            days=days or registry.settings.certificate_days,
            user=admin_user_iri(base),
        )
    return key, issued
