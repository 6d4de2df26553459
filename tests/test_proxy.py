"""Behind a real nginx (Debian's package): the forwarded client certificate is believed only
from the proxy, which proves itself with the deployment's secret (docs/operations.md).

``fdi serve`` runs as a process on a loopback port with ``FDI_PROXY_SECRET`` (and, as the old
recipe had it, ``FDI_TRUSTED_PROXIES=127.0.0.1``); nginx terminates TLS in front of it with the
registry CA's server certificate and asks for client certificates. Clients present real
certificates from the registry's CA. Anyone else on the host can reach the application port
directly: those requests are the attacker's.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request

from api.auth import client_address
from registry.assembly import Registry
from registry.base.settings import Settings
from registry.trust.ca import CertificateAuthority, new_key_and_csr
from tests.servers import fdi_serve, free_port, nginx
from tests.trust import Member, Onboarding

SECRET = "f1d2d2f924e986ac86fdf7b36c94bcdf32beec15f1d2d2f924e986ac"


@dataclass
class Deployment:
    public: str  # nginx, HTTPS
    direct: str  # the application port behind it, plain HTTP
    ca_file: Path
    directory: Path
    fsp: Member

    def client(self, member: Member | None = None, admin: bool = False) -> httpx.Client:
        # One SSLContext holding both the CA and the client certificate (docs/facts.md, fact 19).
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if member is not None:
            cert, key = self.directory / "client.pem", self.directory / "client.key"
            cert.write_text(member.admin_certificate if admin else member.certificate)
            key.write_bytes(member.admin_key if admin else member.key)
            context.load_cert_chain(cert, key)
        return httpx.Client(base_url=self.public, verify=context, timeout=30)

    def certificates(self) -> list[str]:
        with self.client(self.fsp, admin=True) as admin:
            answer = admin.get(f"/organisations/{self.fsp.uid}/certificates")
        assert answer.status_code == 200, answer.text
        return sorted(c["serial"] for c in answer.json())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("proxy")
    public_port, app_port = free_port(), free_port()
    public = f"https://127.0.0.1:{public_port}/"
    data_dir = directory / "data"
    registry = Registry(Settings(data_dir=data_dir, base_iri=public))
    ca = CertificateAuthority.open(data_dir)
    fsp = Onboarding(registry, ca).member("Proxied Flex Ltd", "SC654321")
    key, cert = ca.sign_server(["127.0.0.1", "localhost"])
    (directory / "server.key").write_bytes(key)
    (directory / "server.pem").write_bytes(cert)
    ca_file = ca.ca_file()
    registry.close()
    env = {"FDI_BASE_IRI": public, "FDI_PROXY_SECRET": SECRET, "FDI_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        fdi_serve(["--data-dir", str(data_dir)], env, app_port) as direct,
        nginx(directory, ca_file, public_port, app_port, SECRET),
    ):
        yield Deployment(public, direct, ca_file, directory, fsp)


def test_a_member_is_recognised_through_nginx(deployment: Deployment) -> None:
    with deployment.client(deployment.fsp) as client:
        me = client.get("/whoami").json()
    assert me["authenticated"] is True
    assert me["organisation"] == deployment.fsp.iri


def test_a_client_cannot_smuggle_a_certificate_or_the_secret_through_nginx(
    deployment: Deployment,
) -> None:
    forged = {"X-Client-Cert": quote(deployment.fsp.certificate), "X-FDI-Proxy-Secret": "guess"}
    with deployment.client() as anonymous:
        me = anonymous.get("/whoami", headers=forged)
    assert me.status_code == 200
    assert me.json()["authenticated"] is False


FORGERIES = {
    "the certificate header alone": {},
    "with the proxy's forwarding headers": {
        "X-Forwarded-For": "127.0.0.1",
        "X-Real-IP": "127.0.0.1",
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=127.0.0.1;proto=https",
    },
    "with a wrong secret": {"X-FDI-Proxy-Secret": SECRET[:-1] + "0"},
    "with an empty secret": {"X-FDI-Proxy-Secret": ""},
    "with the secret's first half": {"X-FDI-Proxy-Secret": SECRET[: len(SECRET) // 2]},
}


@pytest.mark.parametrize("extra", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_direct_connection_forging_the_certificate_header_is_refused(
    deployment: Deployment, extra: dict[str, str]
) -> None:
    headers = {"X-Client-Cert": quote(deployment.fsp.certificate), **extra}
    answer = httpx.get(deployment.direct + "whoami", headers=headers, timeout=30)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_forged_administrator_cannot_mint_itself_a_certificate(
    deployment: Deployment,
) -> None:
    before = deployment.certificates()
    _, csr = new_key_and_csr("attacker")
    answer = httpx.post(
        deployment.direct + f"organisations/{deployment.fsp.uid}/certificates",
        content=csr,
        headers={
            "Content-Type": "application/pkcs10",
            "X-Client-Cert": quote(deployment.fsp.admin_certificate),
            "X-Forwarded-For": "127.0.0.1",
        },
        timeout=30,
    )
    assert answer.status_code == 401
    assert deployment.certificates() == before


UNREADABLE = ["%%%", "%C3%28", "not base64!", "-----BEGIN CERTIFICATE-----", "AAAA", "\xe9t\xe9"]


@pytest.mark.parametrize("header", UNREADABLE)
def test_an_unreadable_forwarded_certificate_is_a_4xx(deployment: Deployment, header: str) -> None:
    # As if the proxy itself forwarded garbage: the request carries the real secret.
    headers = {"X-Client-Cert": header.encode("latin-1"), "X-FDI-Proxy-Secret": SECRET}
    answer = httpx.get(deployment.direct + "whoami", headers=headers, timeout=30)
    assert answer.status_code == 401
    assert answer.json()["status"] == 401


def test_the_proxys_client_address_is_believed_only_with_the_secret() -> None:
    app = FastAPI()
    app.state.settings = Settings(data_dir=None, proxy_secret=SECRET)

    def request(headers: dict[str, str]) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "app": app, "headers": raw, "client": ("127.0.0.1", 5000)})

    assert client_address(request({"X-Real-IP": "192.0.2.7", "X-FDI-Proxy-Secret": SECRET})) == (
        "192.0.2.7"
    )
    assert client_address(request({"X-Real-IP": "192.0.2.7"})) == "127.0.0.1"
    assert client_address(request({"X-Forwarded-For": "192.0.2.7"})) == "127.0.0.1"
