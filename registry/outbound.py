"""Requests the registry itself makes to addresses its members registered: endpoint checks
(``registry.monitoring``) and webhook deliveries (``registry.webhooks``) share these rules.

A member could register a URL that points at the operator's own network (a metadata service, an
admin port on loopback); the registry never contacts a host that resolves into the operator's
denied ranges (by default loopback, private, shared and link-local addresses), follows no
redirects, and bounds every request by a timeout and what it reads back.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

# Loopback, private, shared (CGNAT), link-local and "this network" ranges, IPv4 and IPv6.
DENIED_NETWORKS = (
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,"
    "100.64.0.0/10,0.0.0.0/8,fc00::/7,fe80::/10"
)


def denied(url: str, networks: str) -> str | None:
    """The address ``url``'s host resolves to if it lies in one of ``networks`` (comma-separated
    CIDR ranges), else None. An unresolvable host is not denied here: contacting it fails.

    >>> denied("http://127.0.0.1:9/x", "127.0.0.0/8")
    '127.0.0.1'
    >>> denied("http://127.0.0.1:9/x", "10.0.0.0/8") is None
    True
    """
    ranges = [ipaddress.ip_network(n.strip()) for n in networks.split(",") if n.strip()]
    if not ranges:
        return None
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        # An IPv4 address in IPv6 form (::ffff:127.0.0.1) reaches the IPv4 host: judge that.
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if any(ip in r for r in ranges):
            return str(ip)
    return None


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """The system's trust store, plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context
