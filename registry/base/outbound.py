"""Requests the registry itself makes to addresses its members registered: endpoint checks
(``registry.operations.monitoring``) and webhook deliveries (``registry.messaging.webhooks``) share
these rules.

A member could register a URL that points at the operator's own network (a metadata service, an
admin port on loopback); the registry never contacts a host that resolves into the operator's
denied ranges (by default loopback, private, shared and link-local addresses), follows no
redirects, and bounds what it reads back. The address judged is the address connected to:
:func:`client` resolves the host once per connection, judges every address it got, and connects
to those (a name whose DNS answer changes between a check and the connection, DNS rebinding,
cannot slip through). Proxies from the environment are not used.

Each request has one time limit for the whole exchange, from connecting to the last byte read:
a timeout on each network read alone would let a receiver that sends its answer a byte at a
time, each within the timeout, hold the registry's webhook or monitoring round for as long as it
likes. Every read, write and TLS handshake of a connection is given only the time left, and
the host's address lookup too (:func:`lookup`: the system's resolver cannot be interrupted, so
it runs in a thread of its own that the request stops waiting for).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
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
# How a request to a member's URL can fail, for its callers to report as that URL's failure:
# httpx's errors (timeouts among them), a URL httpx cannot read, and a host name IDNA refuses.
REQUEST_FAILURES = (httpx.HTTPError, httpx.InvalidURL, ValueError)
LOOKUP_SECONDS = 5.0  # the longest wait for a host's addresses when no shorter limit is given
WRITE_PIECE = 65_536  # bytes sent at a time, each send given what is left of the time


def lookup(host: str, port: int, within: float | None) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order without repeats, looked up
    within ``within`` seconds (TimeoutError past them; what ``getaddrinfo`` raises otherwise).

    The lookup runs in a daemon thread of its own: a member's name whose DNS server answers
    slowly would otherwise hold the caller for as long as the resolver retries (tens of
    seconds); the thread ends when the resolver gives up.

    >>> lookup("127.0.0.1", 80, 1.0)
    ['127.0.0.1']
    """
    found: list[Any] = []
    done = threading.Event()

    def resolve() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as e:  # noqa: BLE001 - raised again in the caller's thread
            found.append(e)
        finally:
            done.set()

    threading.Thread(target=resolve, name="outbound-lookup", daemon=True).start()
    if not done.wait(within):
        raise TimeoutError(f"looking up {host} took longer than {within} s")
    if isinstance(found[0], Exception):
        raise found[0]
    return list(dict.fromkeys(str(address[0]) for *_, address in found[0]))


def denied(url: str, networks: str, within: float = LOOKUP_SECONDS) -> str | None:
    """The address ``url``'s host resolves to if it lies in one of ``networks`` (comma-separated
    CIDR ranges), else None. A host that does not resolve, or not within ``within`` seconds, is
    not denied here: the connection judges the addresses it gets again (:func:`client`).

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
        addresses = lookup(parts.hostname or "", parts.port or 443, within)
    except (OSError, ValueError):  # TimeoutError too; ValueError: a name IDNA refuses
        return None
    return _first_inside(addresses, ranges)


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


# When the request being sent or read in this context must be over (``time.monotonic()``); set
# by :class:`_JudgedTransport` as each request starts, read by its connections' streams.
_ends: ContextVar[float | None] = ContextVar("outbound_request_ends", default=None)


def _time_left(timeout: float | None, late: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the current request's time; ``late`` raised
    when nothing is."""
    ends = _ends.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise late("the exchange took longer than its time limit")
    return left if timeout is None else min(timeout, left)


class _TimedStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake gets only the time left of the
    request it serves."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # In pieces: the stream's own loop would give each of its sends the whole timeout.
        for start in range(0, len(buffer), WRITE_PIECE):
            piece = buffer[start : start + WRITE_PIECE]
            self._stream.write(piece, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            left = _time_left(timeout, httpcore.ConnectTimeout)
            return _TimedStream(self._stream.start_tls(ssl_context, server_hostname, left))
        except Exception:
            self._stream.close()  # httpcore closes it after a failed handshake, not before one
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


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
            addresses = lookup(host, port, _time_left(timeout, httpcore.ConnectTimeout))
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(str(e)) from e
        except (OSError, ValueError) as e:  # ValueError: a name IDNA refuses (a label too long)
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        inside = _first_inside(addresses, self.ranges)
        if inside:
            raise httpcore.ConnectError(f"not contacted: {inside} is a denied address")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                left = _time_left(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(address, port, left, local_address, socket_options)
                return _TimedStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                failure = e
        raise failure


class _JudgedTransport(httpx.HTTPTransport):
    def __init__(self, networks: str, context: ssl.SSLContext, limit: float) -> None:
        super().__init__(verify=context, trust_env=False)
        # httpx has no option for the network backend: its pool is replaced by one that has.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_JudgedConnections(networks)
        )
        self.limit = limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Left set after the call: a streamed answer's body is read afterwards, in this context.
        _ends.set(time.monotonic() + self.limit)
        return super().handle_request(request)


def client(networks: str, ca_file: str, timeout: float) -> httpx.Client:
    """An HTTP client for members' URLs: connections judged against ``networks`` as they are
    made, the system's trust store plus ``ca_file``, no redirects, no environment proxies, and
    each request over, from connecting to the last byte read, within ``timeout`` seconds (past
    it, a read, write or connection raises httpx's timeout exceptions)."""
    return httpx.Client(
        transport=_JudgedTransport(networks, tls_context(ca_file), timeout),
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
