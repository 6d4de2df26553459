"""Requests the registry itself makes to addresses its members registered: endpoint checks
(``registry.operations.monitoring``) and webhook deliveries (``registry.messaging.webhooks``) share
these rules.

A member could register a URL that points at the operator's own network (a metadata service, an
admin port on loopback); the registry never contacts a host that resolves into the operator's
denied ranges (by default loopback, private, shared and link-local addresses), follows no
redirects, and bounds every request by a timeout and what it reads back. The address judged is
the address connected to: :func:`client` resolves the host once per connection, judges every
address it got, and connects to those (a name whose DNS answer changes between a check and the
connection, DNS rebinding, cannot slip through). Proxies from the environment are not used.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

# Loopback, private, shared (CGNAT), link-local and "this network" ranges, IPv4 and IPv6; and
# the IPv6 forms that reach an IPv4 or local host: the unspecified address and IPv4-compatible
# addresses (::/96, "::" connects to loopback), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
DENIED_NETWORKS = (
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,"
    "100.64.0.0/10,0.0.0.0/8,fc00::/7,fe80::/10,::/96,64:ff9b::/96,2002::/16"
)


def denied(url: str, networks: str) -> str | None:
    """The address ``url``'s host resolves to if it lies in one of ``networks`` (comma-separated
    CIDR ranges), else None. An unresolvable host is not denied here: contacting it fails.

    >>> denied("http://127.0.0.1:9/x", "127.0.0.0/8")
    '127.0.0.1'
    >>> denied("http://127.0.0.1:9/x", "10.0.0.0/8") is None
    True
    """
    ranges = _ranges(networks)
    if not ranges:
        return None
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return _first_inside([str(address[0]) for *_, address in found], ranges)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ranges(networks: str) -> list[Network]:
    return [ipaddress.ip_network(n.strip()) for n in networks.split(",") if n.strip()]


def _first_inside(addresses: Iterable[str], ranges: list[Network]) -> str | None:
    for address in addresses:
        ip = ipaddress.ip_address(address)
        # An IPv4 address in IPv6 form (::ffff:127.0.0.1) reaches the IPv4 host: judge that.
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if any(ip in r for r in ranges):
            return str(ip)
    return None


class _JudgedConnections(httpcore.SyncBackend):
    """Opens each TCP connection to the addresses the host resolves to now, refusing them all
    if any lies in the denied ranges (TLS then checks the certificate against the host name)."""

    def __init__(self, networks: str) -> None:
        self.ranges = _ranges(networks)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        addresses = list(dict.fromkeys(str(address[0]) for *_, address in found))
        inside = _first_inside(addresses, self.ranges)
        if inside:
            raise httpcore.ConnectError(f"not contacted: {inside} is a denied address")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        raise failure


class _JudgedTransport(httpx.HTTPTransport):
    def __init__(self, networks: str, context: ssl.SSLContext) -> None:
        super().__init__(verify=context, trust_env=False)
        # httpx has no option for the network backend: its pool is replaced by one that has.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_JudgedConnections(networks)
        )


def client(networks: str, ca_file: str, timeout: float) -> httpx.Client:
    """An HTTP client for members' URLs: connections judged against ``networks`` as they are
    made, the system's trust store plus ``ca_file``, no redirects, no environment proxies."""
    return httpx.Client(
        transport=_JudgedTransport(networks, tls_context(ca_file)),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """The system's trust store, plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context
