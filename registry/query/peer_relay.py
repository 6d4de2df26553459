"""``SERVICE`` from a worker without network: the registry calls the allow-listed peer for it.

SPARQL workers run in a network namespace of their own (registry.query.sandbox), so Oxigraph's own
HTTP client cannot reach a peer registry. For a query that calls peers (the check has made sure
they are all on the ``federation_peers`` allow-list), the registry rewrites each ``SERVICE``
target to ``<http://127.0.0.1:47878/peer/N>`` (:func:`relay_iri`; N is the peer's place in the
allow-list). In the worker's namespace that address is a small relay (:func:`start_relay`,
with the namespace's own loopback brought up) that passes each request over the worker's
connection to the registry; the registry sends it to allow-listed peer N (nothing else: an N
out of range is refused), with the query's remaining time as timeout, no redirects followed and
at most :data:`MAX_PEER_BYTES` read, and passes the answer back (:func:`fetch`).

So the only way out of a worker is a request to a peer the operator listed, made by the
registry's process.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RELAY_HOST = "127.0.0.1"
RELAY_PORT = 47878  # inside the worker's own network namespace: no clash with the host's ports
MAX_PEER_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 64 * 1024


def relay_iri(peer: int) -> str:
    return f"http://{RELAY_HOST}:{RELAY_PORT}/peer/{peer}"


@dataclass(frozen=True)
class PeerRequest:
    peer: int  # the peer's place in the allow-list
    method: str
    content_type: str
    accept: str
    body: bytes
    query: str = ""  # a GET's query string (``query=...`` of the SPARQL protocol), as sent


@dataclass(frozen=True)
class PeerResponse:
    status: int
    content_type: str
    body: bytes


# --- in the registry's process ---------------------------------------------------------------


def fetch(peers: tuple[str, ...], asked: PeerRequest, timeout: float) -> PeerResponse:
    """Send ``asked`` to allow-listed peer ``asked.peer`` within ``timeout`` seconds."""
    import httpx  # only the registry's process calls peers

    if not 0 <= asked.peer < len(peers) or asked.method not in ("GET", "POST"):
        return PeerResponse(403, "text/plain", b"not an allow-listed peer")
    headers = {"Accept": asked.accept, "Content-Type": asked.content_type}
    url = peers[asked.peer]
    if asked.query:
        url += ("&" if "?" in url else "?") + asked.query
    try:
        with httpx.stream(
            asked.method,
            url,
            content=asked.body if asked.method == "POST" else None,
            headers={k: v for k, v in headers.items() if v},
            timeout=max(0.1, timeout),
            follow_redirects=False,
        ) as answer:
            body = bytearray()  # appended in place: += on bytes copies the whole answer each time
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_PEER_BYTES:
                    return PeerResponse(502, "text/plain", b"the peer's answer is too large")
            kind = answer.headers.get("content-type", "")
            return PeerResponse(answer.status_code, kind, bytes(body))
    except httpx.HTTPError as e:
        return PeerResponse(502, "text/plain", f"the peer failed: {type(e).__name__}".encode())


# --- in a worker -----------------------------------------------------------------------------


def start_relay(exchange: Callable[[PeerRequest], PeerResponse]) -> None:
    """Bring up the namespace's loopback and serve the relay address in a daemon thread, each
    request answered by ``exchange`` (a round trip to the registry)."""
    _loopback_up()
    listener = socket.create_server((RELAY_HOST, RELAY_PORT))
    threading.Thread(
        target=_serve, args=(listener, exchange), name="fdi-peer-relay", daemon=True
    ).start()


def _loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, request))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def _serve(listener: socket.socket, exchange: Callable[[PeerRequest], PeerResponse]) -> None:
    while True:
        connection, _ = listener.accept()
        with connection:
            try:
                answer = exchange(_read_request(connection))
            except (ValueError, OSError):
                answer = PeerResponse(400, "text/plain", b"unreadable request")
            head = (
                f"HTTP/1.1 {answer.status} Relayed\r\nContent-Type: {answer.content_type}\r\n"
                f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n"
            )
            with contextlib.suppress(OSError):
                connection.sendall(head.encode("latin-1") + answer.body)


def _read_request(connection: socket.socket) -> PeerRequest:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > _HEAD_BYTES:
            raise ValueError("no request")
        data += chunk
    head, _, start = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    fields: dict[str, Any] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length") or 0)
    body = bytearray(start)
    while len(body) < length:
        chunk = connection.recv(min(65536, length - len(body)))
        if not chunk:
            raise ValueError("short body")
        body += chunk
    path, _, query = target.partition("?")
    peer = int(path.removeprefix("/peer/"))
    return PeerRequest(
        peer,
        method,
        fields.get("content-type", ""),
        fields.get("accept", ""),
        bytes(body[:length]),
        query,
    )
