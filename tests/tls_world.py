"""A registry served over real TLS (uvicorn on 127.0.0.1 with the registry's server
certificate), with onboarded members whose httpx clients present their real client
certificates.

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
        # One SSLContext holding both (DESIGN.md fact 19: a path in ``verify`` drops the cert).
        return self._keep(httpx.Client(base_url=self.base, verify=context, timeout=30))

    def _keep(self, client: httpx.Client) -> httpx.Client:
        self.clients.append(client)
        return client

    def path(self, iri: str) -> str:
        """The request path of a registry IRI."""
        return "/" + iri.removeprefix(self.base)


@contextmanager
def tls_world(directory: Path, **settings: Any) -> Iterator[World]:
    """The registry under uvicorn with TLS and client-certificate verification."""
    port = free_port()
    base = f"https://127.0.0.1:{port}/"
    app = create_app(Settings(data_dir=directory / "data", base_iri=base, **settings))
    with serve_tls(app, directory, port):
        world = World(base, app, Onboarding.of(app), directory)
        try:
            yield world
        finally:
            for client in world.clients:  # idle kept-alive connections would hold the shutdown up
                client.close()
