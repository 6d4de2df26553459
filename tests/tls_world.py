"""A registry served over real TLS (uvicorn on 127.0.0.1 with the registry's server
certificate), with onboarded members whose httpx clients present their real client
certificates.

Two views of one server: :func:`tls_server` yields a :class:`Running` (clients from any
certificate and key; members onboarded over HTTPS by :func:`onboard_over_tls`; the ``server``
fixture in tests/conftest.py), :func:`tls_world` a :class:`World` (members onboarded by the
domain functions):

    with tls_world(tmp_path) as world:
        fsp = world.member("Example Flex Ltd", "SC123456")          # tests.trust.Member
        client = world.client(fsp)                                  # presents its certificate
        world.operator_client()                                     # the scheme operator's

Members are onboarded by the real domain functions (``tests.trust.Onboarding``); every request
the tests make goes over HTTPS.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from registry.base.settings import Settings
from registry.trust import operator
from registry.trust.ca import new_key_and_csr
from tests.servers import free_port, serve_tls
from tests.trust import Member, Onboarding


@dataclass
class World:
    base: str
    app: Any
    onboarding: Onboarding
    directory: Path
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def registry(self) -> Any:
        return self.app.state.registry

    def member(self, name: str, number: str, **kwargs: Any) -> Member:
        return self.onboarding.member(name, number, **kwargs)

    def client(self, who: Member | None = None, *, admin: bool = False) -> httpx.Client:
        """A client presenting ``who``'s application (or administrator) certificate; anonymous
        without ``who``."""
        context = ssl.create_default_context(cafile=str(self.app.state.ca.ca_file()))
        if who is not None:
            pem, key = (
                (who.admin_certificate, who.admin_key) if admin else (who.certificate, who.key)
            )
            return self._client(context, pem, key, f"{who.uid}-{admin}")
        return self._keep(httpx.Client(base_url=self.base, verify=context, timeout=30))

    def operator_client(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.app.state.ca.ca_file()))
        o = self.onboarding
        return self._client(context, o.operator_certificate, o.operator_key, "operator")

    def _client(self, context: ssl.SSLContext, pem: str, key: bytes, name: str) -> httpx.Client:
        cert_path, key_path = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        cert_path.write_text(pem)
        key_path.write_bytes(key)
        context.load_cert_chain(cert_path, key_path)
        # One SSLContext holding both (docs/facts.md, fact 19: a path in ``verify`` drops the cert).
        return self._keep(httpx.Client(base_url=self.base, verify=context, timeout=30))

    def _keep(self, client: httpx.Client) -> httpx.Client:
        self.clients.append(client)
        return client

    def path(self, iri: str) -> str:
        """The request path of a registry IRI."""
        return "/" + iri.removeprefix(self.base)


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


@contextmanager
def tls_server(directory: Path, **settings: Any) -> Iterator[Running]:
    """The registry (data in ``directory / "data"``, ``settings`` over the defaults) under
    uvicorn with TLS and client-certificate verification on a free loopback port."""
    port = free_port()
    base = f"https://127.0.0.1:{port}/"
    app = create_app(Settings(data_dir=directory / "data", base_iri=base, **settings))
    with serve_tls(app, directory, port):
        running = Running(base, app.state.ca.ca_file(), directory, app)
        try:
            yield running
        finally:
            for client in running.clients:  # idle kept-alive connections would hold the shutdown
                client.close()


@contextmanager
def tls_world(directory: Path, **settings: Any) -> Iterator[World]:
    """The registry under uvicorn with TLS and client-certificate verification."""
    with tls_server(directory, **settings) as running:
        app = running.app
        yield World(running.base, app, Onboarding.of(app), directory, running.clients)


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
