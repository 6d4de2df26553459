"""The registry's requests to members' URLs (webhook deliveries, endpoint checks) end at their
time limit however the other side answers: a receiver that sends its TLS handshake, status
line, headers or body a byte at a time, each byte well within the timeout of one read, is cut
off at the limit of the whole exchange, over plain HTTP and over TLS, and so is a name whose
DNS server answers slowly (registry.base.outbound).

Without that limit one member's receiver could hold the registry's webhook round (and every
other member's deliveries) or its monitoring round for as long as it kept dripping."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from registry.base.outbound import client, denied
from registry.messaging import webhook_delivery
from registry.operations.monitoring import Endpoint, probe
from registry.trust.ca import CertificateAuthority

LIMIT = 1.0  # seconds for the whole exchange
DRIP_EVERY = 0.1  # seconds between two bytes: ten times quicker than the limit
DRIPS_FOR = 60.0  # seconds a dripping server keeps going: far past the limit
BOUND = 10.0  # seconds within which every exchange below must be over


class Dripper:
    """A local HTTP(S) server: answers each request with ``head`` at once, then ``drip`` one byte
    every DRIP_EVERY seconds (over again) until the client hangs up or DRIPS_FOR has passed;
    with no ``drip``, it waits for the client to hang up."""

    def __init__(self, head: bytes, drip: bytes, context: ssl.SSLContext | None) -> None:
        self.head, self.drip, self.context = head, drip, context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hung_up = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}/hook"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        try:
            if self.context is not None:
                connection = self.context.wrap_socket(connection, server_side=True)
            connection.recv(65536)  # the request (small: its head and a short body)
            connection.sendall(self.head)
            if not self.drip:
                while connection.recv(65536):
                    pass
                return
            ends = time.monotonic() + DRIPS_FOR
            while time.monotonic() < ends:
                for byte in self.drip:
                    connection.sendall(bytes([byte]))
                    time.sleep(DRIP_EVERY)
        except OSError:
            self.hung_up.set()  # the client closed the connection
        finally:
            connection.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        self.listener.close()


class SlowRelay:
    """A TCP relay to ``port`` on loopback that passes what the client sends at once and what
    the server sends one byte every DRIP_EVERY seconds (a TLS handshake, dripped)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            client_side, _ = self.listener.accept()
            server_side = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(
                target=self._pass, args=(client_side, server_side), daemon=True
            ).start()
            ends = time.monotonic() + DRIPS_FOR
            while time.monotonic() < ends and (data := server_side.recv(65536)):
                for byte in data:
                    client_side.sendall(bytes([byte]))
                    time.sleep(DRIP_EVERY)

    @staticmethod
    def _pass(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    """A server context whose certificate a local CA issued, and that CA's file."""
    tmp_path = tmp_path_factory.mktemp("receiver")
    ca = CertificateAuthority.open(tmp_path / "receiver-ca")
    key, cert = ca.sign_server(["127.0.0.1"])
    (tmp_path / "r.key").write_bytes(key)
    (tmp_path / "r.pem").write_bytes(cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "r.pem", tmp_path / "r.key")
    return context, str(ca.ca_file())


@pytest.fixture
def dripper(
    request: pytest.FixtureRequest, tls: tuple[ssl.SSLContext, str]
) -> Iterator[Callable[[bytes, bytes], tuple[Dripper, str]]]:
    """Makes dripping servers, over TLS when the test is parametrised with ``secure=True``;
    gives each with the CA file to trust ("" for plain HTTP)."""
    secure = getattr(request, "param", False)
    made: list[Dripper] = []

    def make(head: bytes, drip: bytes) -> tuple[Dripper, str]:
        server = Dripper(head, drip, tls[0] if secure else None)
        made.append(server)
        return server, tls[1] if secure else ""

    yield make
    for server in made:
        server.close()


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    outcome = call()
    return outcome, time.monotonic() - started


def limited(method: str, url: str, ca_file: str = "", **options: Any) -> tuple[object, float]:
    """One request through a client with the LIMIT: the timeout it ended with (None when it
    ended otherwise), and how long it took."""

    def send() -> object:
        with client("", ca_file, LIMIT) as http:
            try:
                http.request(method, url, **options)
            except httpx.TimeoutException as e:
                return e
            return None

    return timed(send)


HEADERS_DRIP = (b"HTTP/1.1 200 OK\r\n", b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
STATUS_DRIP = (b"", b"HTTP/1.1 200 OK")
CONTINUE_DRIP = (b"", b"HTTP/1.1 100 Continue\r\n\r\n")  # informational answers, no end
BODY = b"HTTP/1.1 %d Whatever\r\nContent-Length: 100000\r\n\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("dripper", [False, True], ids=["http", "https"], indirect=True)
@pytest.mark.parametrize(
    "head,drip", [HEADERS_DRIP, STATUS_DRIP, CONTINUE_DRIP], ids=["headers", "status", "1xx"]
)
def test_an_answer_dripped_a_byte_at_a_time_is_cut_off_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]], head: bytes, drip: bytes
) -> None:
    server, ca_file = dripper(head, drip)
    outcome, took = limited("GET", server.url, ca_file)
    assert isinstance(outcome, httpx.TimeoutException)
    assert LIMIT * 0.9 <= took < BOUND
    assert server.hung_up.wait(5), "the registry's side did not close the connection"


@pytest.mark.parametrize("dripper", [False, True], ids=["http", "https"], indirect=True)
@pytest.mark.parametrize(
    "head,drip", [(BODY % 200, b"x"), (CHUNKED, b"1\r\nx\r\n")], ids=["length", "chunked"]
)
def test_a_dripped_body_is_cut_off_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]], head: bytes, drip: bytes
) -> None:
    server, ca_file = dripper(head, drip)

    def read() -> object:
        with client("", ca_file, LIMIT) as http, http.stream("GET", server.url) as answer:
            try:
                for _ in answer.iter_bytes():
                    pass
            except httpx.TimeoutException as e:
                return e
            return None

    outcome, took = timed(read)
    assert isinstance(outcome, httpx.TimeoutException)
    assert took < BOUND


def test_each_request_has_its_own_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    """A request after one cut off at its limit gets the whole limit again (the deadline is
    each request's, not the client's)."""
    slow, _ = dripper(*HEADERS_DRIP)
    quick, _ = dripper(NO_CONTENT, b"")
    with client("", "", LIMIT) as http:
        with pytest.raises(httpx.TimeoutException):
            http.get(slow.url)
        time.sleep(LIMIT)  # the first request's deadline is now long past
        assert http.get(quick.url).status_code == 204


@pytest.mark.parametrize("dripper", [True], ids=["https"], indirect=True)
def test_a_dripped_tls_handshake_is_cut_off_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    server, ca_file = dripper(NO_CONTENT, b"")
    relay = SlowRelay(server.port)
    try:
        outcome, took = limited("GET", f"https://127.0.0.1:{relay.port}/hook", ca_file)
    finally:
        relay.close()
    assert isinstance(outcome, httpx.ConnectTimeout)
    assert took < BOUND
    with client("", ca_file, LIMIT) as http:  # the same server, straight: it answers
        assert http.get(server.url).status_code == 204


def test_a_name_looked_up_slowly_is_given_up_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member's own DNS server can answer as slowly as it likes; the resolver retries for tens
    of seconds. The lookup counts against the limit, and the check before it has its own."""
    server, _ = dripper(NO_CONTENT, b"")
    real = socket.getaddrinfo

    def slow(host: str, *args: object, **kwargs: object) -> object:
        if host == "slow.example":
            time.sleep(DRIPS_FOR)
            return real("127.0.0.1", *args, **kwargs)  # type: ignore[arg-type]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    url = f"http://slow.example:{server.port}/hook"
    outcome, took = limited("GET", url)
    assert isinstance(outcome, httpx.ConnectTimeout) and "looking up slow.example" in str(outcome)
    assert took < BOUND
    verdict, took = timed(lambda: denied(url, "10.0.0.0/8", within=LIMIT))
    assert verdict is None and took < BOUND  # not judged here: the connection judges again
    with client("", "", LIMIT) as http:  # a name that resolves at once is unaffected
        assert http.get(f"http://localhost:{server.port}/hook").status_code == 204


def test_a_large_body_sent_to_a_slow_reader_stops_at_the_limit() -> None:
    """Sending is bounded too: a receiver that takes its bytes slowly cannot hold a write."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def read_slowly() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            ends = time.monotonic() + DRIPS_FOR
            while time.monotonic() < ends and connection.recv(1024):
                time.sleep(DRIP_EVERY)

    threading.Thread(target=read_slowly, daemon=True).start()
    try:
        outcome, took = limited("POST", f"http://127.0.0.1:{port}/hook", content=b"x" * (16 << 20))
    finally:
        listener.close()
    assert isinstance(outcome, httpx.WriteTimeout)
    assert took < BOUND


def test_a_denied_address_is_still_refused_before_any_time_counts(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    server, _ = dripper(*HEADERS_DRIP)
    with client("127.0.0.0/8", "", LIMIT) as http, pytest.raises(httpx.ConnectError) as refused:
        http.get(server.url)
    assert "denied address" in str(refused.value)
    assert not server.hung_up.is_set()


# --- webhook deliveries ----------------------------------------------------------------------


def attempt(url: str, ca_file: str) -> tuple[tuple[int | None, str | None], float]:
    settings = SimpleNamespace(webhook_denied_networks="", webhook_timeout=LIMIT)
    with client("", ca_file, LIMIT) as http:
        return timed(  # type: ignore[return-value]
            lambda: webhook_delivery._attempt(
                http, settings, "hook", 1, url, "whsec_" + "A" * 32, "org", "t", "{}"
            )
        )


@pytest.mark.parametrize("dripper", [False, True], ids=["http", "https"], indirect=True)
def test_a_webhook_receiver_dripping_its_headers_fails_the_delivery_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    server, ca_file = dripper(*HEADERS_DRIP)
    (status, error), took = attempt(server.url, ca_file)
    assert (status, error) == (None, f"no answer within {LIMIT} s")
    assert took < BOUND


def test_a_webhook_refusal_with_a_dripping_body_keeps_its_status_and_what_came(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    server, _ = dripper(BODY % 503, b"busy ")
    (status, error), took = attempt(server.url, "")
    assert status == 503
    assert error is not None and error.startswith("HTTP 503: busy")
    assert took < BOUND


def test_a_webhook_taken_with_2xx_is_delivered_without_reading_a_dripping_body(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]],
) -> None:
    server, _ = dripper(BODY % 202, b"x")
    (status, error), took = attempt(server.url, "")
    assert (status, error) == (202, None)
    assert took < LIMIT  # nothing after the headers was waited for


# --- endpoint monitoring ---------------------------------------------------------------------


@pytest.mark.parametrize("dripper", [False, True], ids=["http", "https"], indirect=True)
@pytest.mark.parametrize("head,drip", [HEADERS_DRIP, (BODY % 200, b"x")], ids=["headers", "body"])
def test_an_endpoint_dripping_its_answer_is_down_at_the_limit(
    dripper: Callable[[bytes, bytes], tuple[Dripper, str]], head: bytes, drip: bytes
) -> None:
    server, ca_file = dripper(head, drip)
    settings = SimpleNamespace(
        monitor_denied_networks="",
        monitor_ca_file=ca_file,
        monitor_timeout=LIMIT,
        monitor_certificate_days=14,
        monitor_slow_ms=2000.0,
    )
    endpoint = Endpoint("https://example.org/org", "https://example.org/d", server.url, None)
    check, took = timed(lambda: probe(endpoint, settings))
    assert check.state == "down"  # type: ignore[attr-defined]
    assert check.detail == f"no answer within {LIMIT} s"  # type: ignore[attr-defined]
    assert took < BOUND


# --- host names IDNA refuses -----------------------------------------------------------------

ODD_HOSTS = ["xn--a.example", "a" * 64 + ".example", "\u00fc" + "a" * 70 + ".example"]


@pytest.mark.parametrize("host", ODD_HOSTS, ids=["bad-punycode", "long-label", "long-idna"])
def test_an_endpoint_whose_host_idna_refuses_is_down_not_an_error(host: str) -> None:
    """A member's catalogue may name such a URL (the shapes ask only for an IRI): its check
    says why it failed; nothing is raised into the round that checks everyone's."""
    url = f"https://{host}/data.csv"
    assert denied(url, "127.0.0.0/8", within=LIMIT) is None  # not judged here
    settings = SimpleNamespace(
        monitor_denied_networks="127.0.0.0/8",
        monitor_ca_file="",
        monitor_timeout=LIMIT,
        monitor_certificate_days=14,
        monitor_slow_ms=2000.0,
    )
    endpoint = Endpoint("https://example.org/org", "https://example.org/d", url, None)
    check = probe(endpoint, settings)
    assert check.state == "down" and check.detail
    with (
        client("127.0.0.0/8", "", LIMIT) as http,
        pytest.raises((httpx.HTTPError, httpx.InvalidURL, ValueError)),  # what callers catch
    ):
        http.get(url)
