"""Serving TLS with client certificates: the verified peer certificate reaches the application.

uvicorn does not hand the client certificate to the application. ``ClientCertificateProtocol``
is uvicorn's h11 protocol which, once the TLS handshake is done (asyncio calls
``connection_made`` after it), wraps the application for that connection so that every request
on it carries the ASGI TLS extension (``scope["extensions"]["tls"]``) with the peer certificate,
already verified by the TLS layer against the registry CA, in ``client_cert_chain``.
:func:`tls_options` gives the uvicorn settings that go with it::

    uvicorn.run(app, host=..., port=..., **tls_options(ca_file, "server.pem", "server.key"))

``ssl.CERT_OPTIONAL``: a client without a certificate may still connect (public pages, applying
to join); a certificate that does not chain to the registry CA fails the handshake.

The protocol versions and suites are the IB1/FAPI baseline: TLS 1.3 (whose suites are all
AEAD), and TLS 1.2 only with ECDHE key exchange and an AEAD cipher (AES-GCM or
ChaCha20-Poly1305; :data:`TLS12_CIPHERS`). Python's server context already refuses TLS 1.0 and
1.1 (its minimum is TLS 1.2 since Python 3.10), but its default TLS 1.2 list includes CBC
suites (``ECDHE-ECDSA-AES128-SHA256`` and others), so the list is set explicitly.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
# OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are configured apart and are all AEAD).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"


class TLSScope:
    """ASGI middleware adding the TLS extension (client certificate chain, as PEM strings)."""

    def __init__(self, app: Any, chain: list[str], version: str | None = None) -> None:
        self.app = app
        self.tls = {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": _TLS_VERSIONS.get(version or ""),
            "cipher_suite": None,
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": self.tls}}
        await self.app(scope, receive, send)


def with_client_certificate(app: Any, pem: str) -> TLSScope:
    """``app`` as if every request came over TLS with the client certificate ``pem`` (for tests
    that exercise certificate authentication without a TLS server)."""
    return TLSScope(app, [pem], "TLSv1.3")


class ClientCertificateProtocol(H11Protocol):
    """uvicorn's h11 protocol, passing the verified client certificate to the application."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
        self.app = TLSScope(self.app, chain, ssl_object.version())


def tls_options(ca_file: Path | str, certfile: Path | str, keyfile: Path | str) -> dict[str, Any]:
    """uvicorn ``Config``/``run`` keyword arguments for TLS with optional client certificates."""
    return {
        "http": ClientCertificateProtocol,
        "ssl_certfile": str(certfile),
        "ssl_keyfile": str(keyfile),
        "ssl_ca_certs": str(ca_file),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "ssl_version": ssl.PROTOCOL_TLS_SERVER,  # minimum TLS 1.2, as Python sets it
        "ssl_ciphers": TLS12_CIPHERS,
    }
