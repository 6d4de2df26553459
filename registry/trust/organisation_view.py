"""An organisation's record as the API shows it, with the step it must take next
(registry.trust.organisations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.vocab import DCAT, FDI, FOAF, ROV, VCARD
from registry.kernel.lifecycle import (
    content,
    first,
    objects,
    record_of,
    text,
    uid,
)
from registry.trust import certificates, membership_view, schemes

if TYPE_CHECKING:
    from registry.kernel.core import Registry

ORGANISATION = FDI.Organisation


def organisation(registry: Registry, org: str) -> dict[str, Any]:
    """An organisation's record as the API shows it, with what it must do next. Raises NotFound."""
    info = record_of(registry, org, ORGANISATION, "organisation")
    triples = content(registry, org)
    node = ox.NamedNode(org)
    contact = first(triples, node, DCAT.contactPoint)
    level = first(triples, node, FDI.assuranceLevel)
    joined = membership_view.memberships_of(registry, org)
    admin_certificates = [
        c["href"]
        for c in certificates.certificates_of(registry, org)
        if c["status"] == "active" and "Administrator" in c["roles"]
    ]
    return {
        "id": org,
        "href": f"{registry.settings.base_iri}organisations/{uid(org)}",
        "legalName": text(triples, node, ROV.legalName),
        "companyNumber": text(triples, node, FDI.companyNumber),
        "lei": text(triples, node, FDI.lei),
        "registeredAddress": text(triples, node, FDI.registeredAddress),
        "website": text(triples, node, FOAF.homepage),
        "contactPoint": {
            "name": text(triples, contact, VCARD.fn),
            "email": text(triples, contact, VCARD.hasEmail),
        }
        if contact
        else None,
        "status": info.status,
        "version": info.version,
        "assuranceLevel": rdf.value(level).rsplit("#", 1)[-1] if level else None,
        "reason": text(triples, node, FDI.statusReason),
        "marketRoles": sorted(
            schemes.name_of(rdf.value(t)) for t in objects(triples, node, FDI.marketRole)
        ),
        "memberships": [
            {k: m[k] for k in ("id", "href", "scheme", "status", "roles")} for m in joined
        ],
        "administratorCertificates": admin_certificates,
        "next": next_step(registry, org, info.status, joined, admin_certificates),
    }


def next_step(
    registry: Registry,
    org: str,
    status: str | None,
    joined: list[dict[str, Any]],
    admin_certificates: list[str],
) -> dict[str, Any]:
    base = registry.settings.base_iri
    if status == "applied":
        return {
            "step": "wait-for-verification",
            "description": "The scheme operator is checking "
            "your evidence; you will be told at your contact point and in your inbox.",
        }
    if status == "verified" and not any(m["status"] in membership_view.OPEN for m in joined):
        return {
            "step": "join-scheme",
            "method": "POST",
            "href": f"{base}schemes/fdi/memberships",
            "certificate": admin_certificates[0] if admin_certificates else None,
            "description": "Verified. With your administrator's client certificate, ask to "
            'join the FDI scheme in the roles you need (POST {"roles": [...]} to href).',
        }
    if status == "verified":
        current = next(m for m in joined if m["status"] in membership_view.OPEN)
        step: dict[str, Any] = membership_view.membership(registry, current["id"])["next"]
        return step
    return {
        "step": "contact-scheme-operator",
        "description": f"The organisation is {status}; contact the scheme operator.",
    }
