"""The registry's certificate authority: its key, its certificate, and what it signs.

The CA key and certificate are made on first start and kept under the data directory
(``ca/ca-key.pem``, readable by the owner only, and ``ca/ca.pem``); an in-memory registry gets a
throw-away CA. Client certificates name the organisation as a SAN URI (its registry IRI), and
the person too for a person's certificate (their user IRI). The roles and scopes a certificate
claims are in two non-critical extensions, each a DER ``SEQUENCE OF UTF8String`` of IRIs:

- roles:  OID ``2.25.225566307998675441628966457420771615307.1``
- scopes: OID ``2.25.225566307998675441628966457420771615307.2``

(``2.25`` is the ITU-T X.667 arc of OIDs made from a UUID, which needs no registration.)

>>> decode_strings(encode_strings(["https://w3id.org/fdi/ns#FlexibilityServiceProvider"]))
['https://w3id.org/fdi/ns#FlexibilityServiceProvider']
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.base import iris
from registry.base.clock import utcnow_seconds
from registry.base.errors import UnusableInput

ARC = "2.25.225566307998675441628966457420771615307"
ROLES_OID = x509.ObjectIdentifier(ARC + ".1")
SCOPES_OID = x509.ObjectIdentifier(ARC + ".2")
CA_YEARS = 10


@dataclass(frozen=True)
class Claims:
    """What a client certificate says about its holder."""

    serial: str
    organisation: str | None
    user: str | None
    roles: frozenset[str]
    scopes: frozenset[str]
    not_before: dt.datetime
    not_after: dt.datetime


class CertificateAuthority:
    """A signing key and its self-signed certificate."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        directory: Path | None = None,
    ) -> None:
        self.key = key
        self.certificate = certificate
        self.directory = directory
        self._temp: Path | None = None

    @classmethod
    def open(cls, data_dir: Path | None, name: str = "FDI registry CA") -> CertificateAuthority:
        """Load the CA kept under ``data_dir/ca``, making it on first start (in memory if None)."""
        if data_dir is None:
            return cls(*_new_ca(name))
        directory = Path(data_dir) / "ca"
        key_path, cert_path = directory / "ca-key.pem", directory / "ca.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cls(key, x509.load_pem_x509_certificate(cert_path.read_bytes()), directory)
        key, cert = _new_ca(name)
        directory.mkdir(parents=True, exist_ok=True)
        _write(key_path, private_pem(key), mode=0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return cls(key, cert, directory)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def ca_file(self) -> Path:
        """A file holding the CA certificate (what a TLS server trusts client certificates by)."""
        if self.directory is not None:
            return self.directory / "ca.pem"
        if self._temp is None:
            handle, name = tempfile.mkstemp(prefix="fdi-ca-", suffix=".pem")
            os.write(handle, self.pem)
            os.close(handle)
            self._temp = Path(name)
        return self._temp

    def issued(self, cert: x509.Certificate) -> bool:
        """True if this CA signed ``cert``."""
        if cert.issuer != self.certificate.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def sign_client(
        self,
        public_key: CertificatePublicKeyTypes,
        common_name: str,
        uris: list[str],
        roles: list[str],
        scopes: list[str],
        not_after: dt.datetime,
        crl_url: str,
    ) -> x509.Certificate:
        """A client-authentication certificate for ``public_key`` with the given claims."""
        builder = self._builder(public_key, common_name, not_after).add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]), False
        )
        builder = (
            builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
            .add_extension(
                x509.UnrecognizedExtension(ROLES_OID, encode_strings(sorted(roles))), critical=False
            )
            .add_extension(
                x509.UnrecognizedExtension(SCOPES_OID, encode_strings(sorted(scopes))),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(crl_url)], None, None, None
                        )
                    ]
                ),
                critical=False,
            )
        )
        return builder.sign(self.key, hashes.SHA256())

    def sign_server(self, hosts: list[str], days: int = 397) -> tuple[bytes, bytes]:
        """A new key and a server certificate for ``hosts`` (names or IP addresses), as PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        not_after = utcnow_seconds() + dt.timedelta(days=days)
        cert = (
            self._builder(key.public_key(), hosts[0], not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return private_pem(key), cert.public_bytes(serialization.Encoding.PEM)

    def crl(
        self, revoked: list[tuple[int, dt.datetime]], *, hours: int = 24
    ) -> x509.CertificateRevocationList:
        """A revocation list of (serial, revocation time), valid for ``hours``."""
        now = utcnow_seconds()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + dt.timedelta(hours=hours))
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256())

    def _builder(
        self, public_key: CertificatePublicKeyTypes, common_name: str, not_after: dt.datetime
    ) -> x509.CertificateBuilder:
        not_after = min(not_after, self.certificate.not_valid_after_utc)
        return (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "client")])
            )
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(utcnow_seconds() - dt.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )


def load_csr(pem: str | bytes) -> x509.CertificateSigningRequest:
    """A certificate signing request, checked. Raises UnusableInput."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as e:
        raise UnusableInput(f"not a PEM certificate signing request (PKCS#10): {e}") from None
    if not csr.is_signature_valid:
        raise UnusableInput("the certificate signing request's signature does not verify")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise UnusableInput("RSA keys must have at least 2048 bits")
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        raise UnusableInput("use an RSA (2048 bits or more), EC (P-256, P-384) or Ed25519 key")
    return csr


def csr_common_name(csr: x509.CertificateSigningRequest) -> str | None:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def load_certificate(data: str | bytes) -> x509.Certificate:
    """A certificate from PEM or DER. Raises UnusableInput."""
    raw = data.encode() if isinstance(data, str) else data
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as e:
        raise UnusableInput(f"not an X.509 certificate: {e}") from None


def claims_of(cert: x509.Certificate, base_iri: str) -> Claims:
    """The organisation, person, roles and scopes a certificate claims."""
    try:
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = uris.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        names = []
    org = next((u for u in names if u.startswith(iris.under(base_iri, "org"))), None)
    user = next((u for u in names if u.startswith(iris.under(base_iri, "user"))), None)
    return Claims(
        serial=format(cert.serial_number, "x"),
        organisation=org,
        user=user,
        roles=frozenset(_strings(cert, ROLES_OID)),
        scopes=frozenset(_strings(cert, SCOPES_OID)),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def fingerprint(public_key: CertificatePublicKeyTypes) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, as hex: what to read out to confirm a key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def private_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def new_key_and_csr(common_name: str) -> tuple[bytes, bytes]:
    """A new EC P-256 key and a CSR for it, as PEM (what ``fdi csr`` writes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return private_pem(key), csr.public_bytes(serialization.Encoding.PEM)


def encode_strings(values: list[str]) -> bytes:
    """DER ``SEQUENCE OF UTF8String``."""
    body = b"".join(b"\x0c" + _length(len(v.encode())) + v.encode() for v in values)
    return b"\x30" + _length(len(body)) + body


def decode_strings(der: bytes) -> list[str]:
    """The strings of a DER ``SEQUENCE OF UTF8String``. Raises ValueError if malformed."""
    tag, body, rest = _element(der)
    if tag != 0x30 or rest:
        raise ValueError("not a DER SEQUENCE")
    out = []
    while body:
        tag, value, body = _element(body)
        if tag != 0x0C:
            raise ValueError("not a UTF8String")
        out.append(value.decode("utf-8"))
    return out


def _strings(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return []
    if not isinstance(ext, x509.UnrecognizedExtension):  # the registry's own, as all are
        raise ValueError(f"extension {oid.dotted_string} is not the registry's")
    return decode_strings(ext.value)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _element(data: bytes) -> tuple[int, bytes, bytes]:
    if len(data) < 2:
        raise ValueError("truncated DER")
    tag, first = data[0], data[1]
    offset, size = 2, first
    if first & 0x80:
        count = first & 0x7F
        size = int.from_bytes(data[2 : 2 + count], "big")
        offset = 2 + count
    if len(data) < offset + size:
        raise ValueError("truncated DER")
    return tag, data[offset : offset + size], data[offset + size :]


def _new_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = utcnow_seconds()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, *, mode: int) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
