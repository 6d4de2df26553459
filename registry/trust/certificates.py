"""Client certificates as registry records: issued, listed, revoked, and the revocation list.

Each certificate the CA signs is recorded (``fdi:Certificate``, ID ``{base}id/certificate/{serial}``
with the serial in lower-case hex) in the holder's own graph, with the claims it carries and its
status (``active`` or ``revoked``), so that a request can be checked against the register on
every call and the CRL at ``/ca/crl`` is the list of revoked records. Who may be given which
claims is decided in ``registry.trust.authentication``.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from registry.base import iris, rdf
from registry.base.activities import activity
from registry.base.clock import utcnow
from registry.base.errors import NotFound
from registry.base.vocab import DCT, FDI, RDF, RDFS
from registry.kernel.lifecycle import (
    content,
    objects,
    owned,
    parse_datetime,
    record_of,
    restatus,
    text,
    timestamp,
    with_status,
)
from registry.trust.ca import CertificateAuthority, fingerprint
from registry.trust.schemes import name_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry, Transaction

CERTIFICATE = FDI.Certificate


@dataclass(frozen=True)
class Issued:
    """A certificate just issued."""

    iri: str
    serial: str
    pem: str
    organisation: str
    user: str | None
    roles: list[str]
    scopes: list[str]
    not_before: str
    not_after: str
    key_fingerprint: str


def certificate_iri(base: str, serial: str) -> str:
    return iris.certificate(base, serial)


def issue(
    tx: Transaction,
    registry: Registry,
    ca: CertificateAuthority,
    *,
    organisation: str,
    public_key: CertificatePublicKeyTypes,
    name: str,
    roles: list[str],
    scopes: list[str],
    days: int,
    user: str | None = None,
) -> Issued:
    """Sign a client certificate for ``public_key`` and record it in ``tx`` (no checks: the
    caller has decided the holder may have these claims)."""
    base = registry.settings.base_iri
    not_after = utcnow() + dt.timedelta(days=days)
    uris = [organisation] + ([user] if user else [])
    cert = ca.sign_client(public_key, name, uris, roles, scopes, not_after, base + "ca/crl")
    serial = format(cert.serial_number, "x")
    iri = ox.NamedNode(certificate_iri(base, serial))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    triples = [
        ox.Triple(iri, RDF.type, CERTIFICATE),
        ox.Triple(iri, RDFS.label, ox.Literal(name)),
        ox.Triple(iri, FDI.holder, ox.NamedNode(organisation)),
        ox.Triple(iri, FDI.certificateSerial, ox.Literal(serial)),
        ox.Triple(iri, FDI.notBefore, timestamp(cert.not_valid_before_utc)),
        ox.Triple(iri, FDI.notAfter, timestamp(cert.not_valid_after_utc)),
        ox.Triple(iri, FDI.certificateStatus, FDI.Active),
        ox.Triple(iri, FDI.certificatePem, ox.Literal(pem)),
        ox.Triple(iri, DCT.created, timestamp()),
        *(ox.Triple(iri, FDI.certifiedRole, ox.NamedNode(r)) for r in sorted(roles)),
        *(ox.Triple(iri, FDI.certifiedScope, ox.NamedNode(s)) for s in sorted(scopes)),
    ]
    if user:
        triples.append(ox.Triple(iri, FDI.certifiedUser, ox.NamedNode(user)))
    tx.put(iri, CERTIFICATE, triples, status="active", owner=organisation)
    tx.notify(
        organisation,
        activity(
            "Create",
            object=iri.value,
            summary=f"Certificate {serial} issued for {name}, valid until "
            f"{cert.not_valid_after_utc.date().isoformat()}",
        ),
    )
    return Issued(
        iri.value,
        serial,
        pem,
        organisation,
        user,
        sorted(roles),
        sorted(scopes),
        timestamp(cert.not_valid_before_utc).value,
        timestamp(cert.not_valid_after_utc).value,
        fingerprint(public_key),
    )


def revoke_all(
    tx: Transaction,
    registry: Registry,
    organisation: str,
    reason: str,
    *,
    user: str | None = None,
    claims: set[str] | None = None,
) -> list[str]:
    """Revoke an organisation's active certificates (only a person's, with ``user``; only those
    claiming one of ``claims``, when given). Returns the revoked serials."""
    revoked = []
    for info in owned(registry, organisation, CERTIFICATE):
        if info.status != "active":
            continue
        triples = content(registry, info.iri)
        node = ox.NamedNode(info.iri)
        if user is not None and text(triples, node, FDI.certifiedUser) != user:
            continue
        carried = {
            rdf.value(t)
            for t in objects(triples, node, FDI.certifiedRole)
            + objects(triples, node, FDI.certifiedScope)
        }
        if claims is not None and not carried & claims:
            continue
        restatus(tx, info, triples, FDI.certificateStatus, "revoked", reason)
        revoked.append(text(triples, node, FDI.certificateSerial) or "")
    return revoked


def revoke_one(tx: Transaction, registry: Registry, iri: str, reason: str) -> None:
    info = tx.info(iri)
    if info is not None and info.status == "active":
        restatus(tx, info, content(registry, iri), FDI.certificateStatus, "revoked", reason)


def describe(registry: Registry, iri: str) -> dict[str, Any]:
    """A certificate record as the API shows it. Raises NotFound."""

    info = record_of(registry, iri, CERTIFICATE, "certificate")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    serial = text(triples, node, FDI.certificateSerial) or ""
    return {
        "id": iri,
        "serial": serial,
        "name": text(triples, node, RDFS.label),
        "organisation": text(triples, node, FDI.holder),
        "user": text(triples, node, FDI.certifiedUser),
        "roles": sorted(name_of(rdf.value(t)) for t in objects(triples, node, FDI.certifiedRole)),
        "scopes": sorted(name_of(rdf.value(t)) for t in objects(triples, node, FDI.certifiedScope)),
        "notBefore": text(triples, node, FDI.notBefore),
        "notAfter": text(triples, node, FDI.notAfter),
        "status": info.status,
        "reason": text(triples, node, FDI.statusReason),
        "href": f"{registry.settings.base_iri}certificates/{serial}",
    }


def certificates_of(registry: Registry, organisation: str) -> list[dict[str, Any]]:
    return [describe(registry, i.iri) for i in owned(registry, organisation, CERTIFICATE)]


def pem(registry: Registry, serial: str) -> str:
    """The PEM of an issued certificate (public, like the certificate itself). Raises NotFound."""
    iri = certificate_iri(registry.settings.base_iri, serial)
    record_of(registry, iri, CERTIFICATE, "certificate")
    found = text(content(registry, iri), ox.NamedNode(iri), FDI.certificatePem)
    if found is None:
        raise NotFound(f"no certificate {serial}")
    return found


_crl_cache: dict[tuple[int, int, int], tuple[dt.datetime, bytes]] = {}
_crl_lock = threading.Lock()


def revocation_list(registry: Registry, ca: CertificateAuthority) -> bytes:
    """The CA's current CRL (DER), remade when the journal has moved on or after an hour."""
    key = (id(registry), id(ca), registry.journal.last()[0])
    with _crl_lock:
        cached = _crl_cache.get(key)
        if cached and utcnow() - cached[0] < dt.timedelta(hours=1):
            return cached[1]
        revoked = []
        for info in with_status(registry, CERTIFICATE, "revoked"):
            serial = info.iri.rsplit("/", 1)[-1]
            when = parse_datetime(ox.Literal(info.modified)) or utcnow()
            revoked.append((int(serial, 16), when))
        der = ca.crl(revoked).public_bytes(serialization.Encoding.DER)
        _crl_cache.clear()
        _crl_cache[key] = (utcnow(), der)
        return der


def is_revoked_in(crl_der: bytes, cert: x509.Certificate) -> bool:
    """Whether a DER CRL lists ``cert`` (what a relying party does with ``/ca/crl``)."""
    crl = x509.load_der_x509_crl(crl_der)
    return crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
