"""End to end over real TLS: a uvicorn server on 127.0.0.1 with the registry's server
certificate, clients presenting real client certificates (httpx), and a suspended
organisation's certificate refused on its very next request on the same connection."""

from __future__ import annotations

import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from registry.trust.ca import CertificateAuthority, new_key_and_csr
from tests.tls_world import Running, onboard_over_tls, operator_client

TLS_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError)


def test_anyone_may_connect_without_a_certificate_and_is_anonymous(server: Running) -> None:
    with server.client() as client:
        assert client.get("/whoami").json()["authenticated"] is False
        assert client.get("/ca/certificate").text.startswith("-----BEGIN CERTIFICATE-----")


def test_a_suspended_organisations_certificate_is_refused_on_its_next_request(
    server: Running,
) -> None:
    so = operator_client(server)
    org, _, fsp = onboard_over_tls(server, so)

    before = fsp.get("/whoami")
    assert before.status_code == 200
    assert before.json()["organisation"] == org and before.json()["roles"] == [
        "FlexibilityServiceProvider"
    ]

    uid = org.rsplit("/", 1)[-1]
    assert (
        so.post(f"/organisations/{uid}/suspend", json={"reason": "fees unpaid"}).json()["status"]
        == "suspended"
    )

    after = fsp.get("/whoami")  # same client, same kept-alive TLS connection
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_a_certificate_from_another_ca_fails_the_handshake(server: Running) -> None:
    stranger = CertificateAuthority.open(None)
    key, csr = new_key_and_csr("stranger")
    request = x509.load_pem_x509_csr(csr)
    cert = stranger.sign_client(
        request.public_key(),
        "stranger",
        [server.base + "id/org/x"],
        [],
        [],
        stranger.certificate.not_valid_after_utc,
        server.base + "ca/crl",
    )
    client = server.client(cert.public_bytes(Encoding.PEM).decode(), key, "stranger")
    with pytest.raises(TLS_ERRORS):
        client.get("/whoami")
