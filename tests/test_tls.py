"""End to end over real TLS: a uvicorn server on 127.0.0.1 with the registry's server
certificate, clients presenting real client certificates (httpx), and a suspended
organisation's certificate refused on its very next request on the same connection."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api.app import create_app
from registry.base.settings import Settings
from registry.trust import operator
from registry.trust.ca import CertificateAuthority, new_key_and_csr
from tests.servers import free_port, serve_tls

TLS_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError)


@dataclass
class Running:
    base: str
    ca_file: Path
    directory: Path
    app: object
    clients: list[httpx.Client] = field(default_factory=list)

    def client(
        self, certificate: str | None = None, key: bytes | None = None, name: str = "client"
    ) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if certificate and key:
            cert_path, key_path = self.directory / f"{name}.pem", self.directory / f"{name}.key"
            cert_path.write_text(certificate)
            key_path.write_bytes(key)
            context.load_cert_chain(cert_path, key_path)
        client = httpx.Client(base_url=self.base, verify=context, timeout=20)
        self.clients.append(client)
        return client


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    """The registry over HTTPS; ``@pytest.mark.parametrize("server", [{setting: value}],
    indirect=True)`` gives it other settings."""
    port = free_port()
    base = f"https://127.0.0.1:{port}/"
    overrides = getattr(request, "param", {})
    app = create_app(Settings(data_dir=tmp_path / "data", base_iri=base, **overrides))
    with serve_tls(app, tmp_path, port):
        running = Running(base, app.state.ca.ca_file(), tmp_path, app)
        try:
            yield running
        finally:
            for client in running.clients:  # idle kept-alive connections would hold the shutdown
                client.close()


def onboard_over_tls(
    server: Running,
    operator_client: httpx.Client,
    name: str = "Example Flex Ltd",
    company_number: str = "SC123456",
    suffix: str = "",
    role: str = "FlexibilityServiceProvider",
) -> tuple[str, httpx.Client, httpx.Client]:
    """BUC.4 steps 1–2 over HTTPS: returns the organisation's ID, its administrator's client and
    its application's client (their certificates and keys in ``admin{suffix}.pem``/``.key``
    and ``app{suffix}.pem``/``.key`` in the server's directory)."""
    admin_key, admin_csr = new_key_and_csr(f"{name} administrator")
    anonymous = server.client()
    applied = anonymous.post(
        "/organisations",
        json={
            "legalName": name,
            "companyNumber": company_number,
            "contactPoint": {"email": "flex@example.org"},
            "csr": admin_csr.decode(),
        },
    )
    assert applied.status_code == 201, applied.text
    uid = applied.json()["id"].rsplit("/", 1)[-1]
    verified = operator_client.post(
        f"/organisations/{uid}/verify", json={"assuranceLevel": "DocumentsChecked"}
    )
    assert verified.status_code == 200, verified.text
    admin_pem = anonymous.get(verified.json()["next"]["certificate"]).text
    admin = server.client(admin_pem, admin_key, f"admin{suffix}")
    joined = admin.post("/schemes/fdi/memberships", json={"roles": [role]}).json()
    membership = joined["id"].rsplit("/", 1)[-1]
    assert admin.post(f"/memberships/{membership}/accept", json={}).status_code == 200
    granted = operator_client.post(f"/memberships/{membership}/grant", json={"roles": [role]})
    assert granted.json()["status"] == "active"
    app_key, app_csr = new_key_and_csr(f"{name} dispatch")
    issued = admin.post(
        f"/organisations/{uid}/certificates",
        content=app_csr,
        headers={"Content-Type": "application/pkcs10"},
    )
    assert issued.status_code == 201, issued.text
    app = server.client(issued.json()["certificate"], app_key, f"app{suffix}")
    return applied.json()["id"], admin, app


def operator_client(server: Running) -> httpx.Client:
    key, issued = operator.admin_certificate(server.app.state.registry, server.app.state.ca)  # type: ignore[attr-defined]
    assert key is not None
    return server.client(issued.pem, key, "operator")


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
