"""Webhooks over real TLS on both sides: the registry (tests.tls_world) POSTs its members'
notifications to a local HTTPS receiver, whose certificate a separate CA issued; the receiver
checks each signature with its own reading of the Standard Webhooks specification."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from fastapi.testclient import TestClient

from api.app import create_app
from registry.base.settings import Settings
from registry.messaging import webhook_delivery
from registry.trust.ca import CertificateAuthority
from tests.conftest import BASE
from tests.servers import wait_until
from tests.test_authorisation_tls import ASSET, TURTLE, fresh_mpan, member, register_asset
from tests.tls_world import World, tls_world
from tests.trust import Onboarding


@dataclass
class Receiver:
    """A local HTTPS webhook receiver: fails the first ``failures`` requests with 500."""

    url: str
    ca_file: Path
    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def signed(self, secret: str) -> list[dict]:
        """The bodies that carry a valid signature under ``secret``, as JSON."""
        return [
            json.loads(body) for headers, body in self.received if verify(secret, headers, body)
        ]


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, written from the specification: the key is the base64
    part of ``whsec_...``; the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``;
    ``webhook-signature`` holds space-separated ``v1,{base64 HMAC-SHA256}``; the timestamp must
    be within ``tolerance`` seconds of now."""
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    mac = crypto_hmac.HMAC(base64.b64decode(secret.split("_", 1)[1]), hashes.SHA256())
    mac.update(msg_id.encode() + b"." + stamp.encode() + b"." + body)
    expected = mac.finalize()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and base64.b64decode(value) == expected:
            return True
    return False


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    web_ca = CertificateAuthority.open(tmp_path / "receiver-ca")  # stands for a public web CA
    key, cert = web_ca.sign_server(["127.0.0.1"])
    (tmp_path / "receiver.key").write_bytes(key)
    (tmp_path / "receiver.pem").write_bytes(cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "receiver.pem", tmp_path / "receiver.key")
    state = Receiver("", web_ca.ca_file())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 500 if len(state.received) <= state.failures else 204
            if self.path == "/moved":
                status = 302
            state.answered.append(status)
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"https://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def live(tmp_path: Path, receiver: Receiver, **settings: object):  # type: ignore[no-untyped-def]
    """The registry over TLS, allowed to reach the local receiver and quick to retry."""
    options = {
        "webhook_interval": 0.2,
        "webhook_retry_seconds": 0.2,
        "webhook_denied_networks": "",
        "webhook_ca_file": str(receiver.ca_file),
        **settings,
    }
    return tls_world(tmp_path, **options)


def register(world: World, who, url: str):  # type: ignore[no-untyped-def]
    return world.client(who).post(f"/id/org/{who.uid}/webhooks", json={"url": url})


def duplicate(world: World, first, second) -> str:  # type: ignore[no-untyped-def]
    """``second`` tries to register ``first``'s asset again: both are notified."""
    mpan = fresh_mpan()
    asset = register_asset(world, first, mpan)
    body = ASSET.replace("2143967712809", mpan).replace("TG1234567890", f"SN{mpan}")
    assert world.client(second).post("/assets", content=body, headers=TURTLE).status_code == 409
    return asset


def webhook_rows(world: World) -> int:
    return world.registry.journal.read("SELECT COUNT(*) FROM webhook")[0][0]


def test_a_notification_arrives_at_the_webhook_signed(tmp_path: Path, receiver: Receiver) -> None:
    with live(tmp_path, receiver) as world:
        a, b = member(world, "Hooked Flex Ltd"), member(world, "Copying Flex Ltd")
        made = register(world, a, receiver.url)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        asset = duplicate(world, a, b)
        wait_until(lambda: receiver.signed(secret), 20, interval=0.1)
        (delivered,) = receiver.signed(secret)
        assert delivered["type"] == "fdi.notification"
        assert f"already registered ({asset})" in delivered["data"]["summary"]
        assert delivered["data"]["id"].startswith(f"{a.iri}/inbox/")
        assert not receiver.signed("whsec_" + base64.b64encode(b"x" * 32).decode())


def test_a_delivery_is_retried_until_the_receiver_takes_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.failures = 2
    with live(tmp_path, receiver) as world:
        a, b = member(world, "Retried Flex Ltd"), member(world, "Second Flex Ltd")
        hook = register(world, a, receiver.url).json()
        duplicate(world, a, b)
        wait_until(lambda: 204 in receiver.answered, 20, interval=0.1)
        assert receiver.answered == [500, 500, 204]
        assert len({h["webhook-id"] for h, _ in receiver.received}) == 1  # one message, 3 tries
        path = f"/id/org/{a.uid}/webhooks/{hook['id']}/deliveries"
        (shown,) = world.client(a).get(path).json()["deliveries"]
        assert (shown["state"], shown["attempts"], shown["lastStatus"]) == ("delivered", 3, 204)


def test_a_pending_delivery_is_sent_after_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.failures = 10**6  # down until the registry restarts
    settings = Settings(
        data_dir=tmp_path / "data",
        base_iri=BASE,
        webhook_interval=0.2,
        webhook_retry_seconds=0.2,
        webhook_denied_networks="",
        webhook_ca_file=str(receiver.ca_file),
    )
    app = create_app(settings)
    with TestClient(app):
        on = Onboarding.of(app)
        a, b = on.member("Patient Flex Ltd", "07000001"), on.member("Other Flex Ltd", "07000002")
        secret = on.client(a).post(f"/id/org/{a.uid}/webhooks", json={"url": receiver.url})
        secret = secret.json()["secret"]
        body = ASSET.replace("TG1234567890", "SN-restart")
        assert on.client(a).post("/assets", content=body, headers=TURTLE).status_code == 201
        assert on.client(b).post("/assets", content=body, headers=TURTLE).status_code == 409
        wait_until(lambda: len(receiver.received) >= 1, 20, interval=0.1)
    receiver.failures = 0
    tried = len(receiver.received)
    restarted = create_app(settings.replace(webhook_retry_seconds=0.2))
    with TestClient(restarted):
        wait_until(lambda: 204 in receiver.answered, 20, interval=0.1)
    assert len(receiver.received) > tried
    assert "already registered" in receiver.signed(secret)[-1]["data"]["summary"]


def test_a_member_cannot_register_a_webhook_for_another(tmp_path: Path, receiver: Receiver) -> None:
    with live(tmp_path, receiver) as world:
        a, rival = member(world, "Victim Flex Ltd"), member(world, "Rival Flex Ltd")
        journal = world.registry.journal.last()
        refused = world.client(rival).post(f"/id/org/{a.uid}/webhooks", json={"url": receiver.url})
        assert refused.status_code == 403, refused.text
        assert world.client(a).get(f"/id/org/{a.uid}/webhooks").json()["webhooks"] == []
        assert webhook_rows(world) == 0
        # the refusal is audited, nothing else: no webhook entry in the journal
        kinds = world.registry.journal.read("SELECT kind FROM entry WHERE seq > ?", (journal[0],))
        assert "webhook" not in {k for (k,) in kinds}


def test_a_member_cannot_see_or_stop_another_members_webhook(
    tmp_path: Path, receiver: Receiver
) -> None:
    with live(tmp_path, receiver) as world:
        a, rival = member(world, "Owner Hook Ltd"), member(world, "Nosy Hook Ltd")
        hook = register(world, a, receiver.url).json()["id"]
        duplicate(world, a, rival)
        wait_until(lambda: bool(receiver.received), 20, interval=0.1)
        theirs = f"/id/org/{a.uid}/webhooks/{hook}"
        as_own = f"/id/org/{rival.uid}/webhooks/{hook}"
        nosy = world.client(rival)
        assert nosy.get(theirs + "/deliveries").status_code == 403
        assert nosy.get(f"/id/org/{a.uid}/webhooks").status_code == 403
        assert nosy.get(as_own + "/deliveries").status_code == 404
        assert nosy.delete(as_own).status_code == 404
        assert nosy.delete(theirs).status_code == 403
        assert [
            h["id"] for h in world.client(a).get(f"/id/org/{a.uid}/webhooks").json()["webhooks"]
        ] == [hook]


def test_a_loopback_webhook_is_refused_by_default(tmp_path: Path, receiver: Receiver) -> None:
    with tls_world(tmp_path) as world:  # the operator's default denied networks
        a = member(world, "Loopback Flex Ltd")
        refused = register(world, a, receiver.url)
        assert refused.status_code == 403, refused.text
        assert "127.0.0.1" in refused.json()["detail"]
        assert webhook_rows(world) == 0


def test_a_plain_http_webhook_is_refused(tmp_path: Path, receiver: Receiver) -> None:
    with live(tmp_path, receiver) as world:
        a = member(world, "Plain Flex Ltd")
        refused = register(world, a, receiver.url.replace("https:", "http:"))
        assert refused.status_code == 400, refused.text
        assert webhook_rows(world) == 0


def test_a_redirect_from_the_receiver_is_not_followed(tmp_path: Path, receiver: Receiver) -> None:
    with live(tmp_path, receiver) as world:
        a, b = member(world, "Redirected Flex Ltd"), member(world, "Third Flex Ltd")
        hook = register(world, a, receiver.url.replace("/hook", "/moved")).json()["id"]
        duplicate(world, a, b)
        wait_until(lambda: len(receiver.received) >= 2, 20, interval=0.1)
        assert receiver.answered[:2] == [302, 302]  # tried again later, never at /elsewhere
        path = f"/id/org/{a.uid}/webhooks/{hook}/deliveries"
        (shown,) = world.client(a).get(path).json()["deliveries"]
        assert shown["state"] == "pending" and shown["lastStatus"] == 302


class RawReceiver:
    """A rival's receiver: each connection is counted and, with ``answer``, taken over TLS with
    ``context`` and answered with it after ``wait`` seconds; without, never answered (not even
    the TLS handshake)."""

    def __init__(
        self, wait: float = 0.0, answer: bytes | None = None, context: ssl.SSLContext | None = None
    ) -> None:
        self.wait, self.answer, self.context = wait, answer, context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection = self.listener.accept()[0]
                self.connections.append(connection)  # kept open until close()
                if self.answer is not None:
                    threading.Timer(self.wait, self._answer, (connection,)).start()

    def _answer(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.context is not None:
                connection = self.context.wrap_socket(connection, server_side=True)
                connection.recv(65536)  # the delivery
            connection.sendall(self.answer or b"")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        self.listener.close()
        for connection in self.connections:
            connection.close()


@contextlib.contextmanager
def rival_and_victim(
    tmp_path: Path, receiver: Receiver, rival: RawReceiver, notifications: int = 3
) -> Iterator[tuple[World, str, str]]:
    """A world sending by hand (``send_due``) with a 1 s timeout; the rival's webhook at
    ``rival``, the victim's at ``receiver``, each with ``notifications`` due. Yields the world,
    the rival's webhook id and the victim's secret."""
    options = {"webhook_interval": 0, "webhook_timeout": 1.0, "webhook_retry_seconds": 600}
    try:
        with live(tmp_path, receiver, **options) as world:
            a, b = member(world, "Rival Hook Ltd"), member(world, "Victim Hook Ltd")
            hook = register(world, a, rival.url).json()["id"]
            secret = register(world, b, receiver.url).json()["secret"]
            for _ in range(notifications):
                duplicate(world, a, b)  # each notifies both
            yield world, hook, secret
    finally:
        rival.close()


def attempts_of(world: World, hook: str) -> list[int]:
    sql = "SELECT attempts FROM webhook_delivery WHERE webhook = ? ORDER BY notification"
    return [attempts for (attempts,) in world.registry.journal.read(sql, (hook,))]


def test_a_receiver_that_never_answers_costs_a_round_one_timeout(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A rival whose receiver accepts connections and never answers holds the webhook round for
    about one timeout, not one per notification queued for it; the victim's deliveries go in
    the same round, and the rival's wait for the next rounds, one at a time."""
    rival = RawReceiver()
    with rival_and_victim(tmp_path, receiver, rival) as (world, hook, secret):
        assert webhook_delivery.send_due(world.registry) == 3  # the victim's three
        assert len(receiver.signed(secret)) == 3
        assert len(rival.connections) == 1  # tried once in the round
        assert attempts_of(world, hook) == [1, 0, 0]
        assert webhook_delivery.send_due(world.registry) == 0
        assert len(rival.connections) == 2  # the next one, in the next round
        assert attempts_of(world, hook) == [1, 1, 0]


def test_a_receiver_answering_just_in_time_is_given_about_one_timeout_a_round(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A receiver that answers each delivery late but in time (here 503 after 0.5 s of a 1 s
    timeout) gets attempts in a round only while they have taken less than the timeout."""
    web_ca = CertificateAuthority.open(tmp_path / "receiver-ca")  # the one the registry trusts
    key, cert = web_ca.sign_server(["127.0.0.1"])
    (tmp_path / "rival.key").write_bytes(key)
    (tmp_path / "rival.pem").write_bytes(cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "rival.pem", tmp_path / "rival.key")
    busy = b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    rival = RawReceiver(0.5, busy, context)
    with rival_and_victim(tmp_path, receiver, rival, notifications=4) as (world, hook, secret):
        assert webhook_delivery.send_due(world.registry) == 4
        assert len(receiver.signed(secret)) == 4
        assert 1 <= len(rival.connections) <= 2  # without the budget: all four
        assert sum(attempts_of(world, hook)) == len(rival.connections)
        statuses = world.registry.journal.read(
            "SELECT DISTINCT last_status FROM webhook_delivery WHERE webhook = ? AND attempts > 0",
            (hook,),
        )
        assert (503,) in statuses  # answered in time (on a loaded machine, perhaps not every one)


def test_a_backlog_on_one_webhook_does_not_fill_the_round(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due deliveries are taken in turns across webhooks: a rival's older backlog, larger than a
    round, still leaves the victim's newer delivery a place in it."""
    monkeypatch.setattr(webhook_delivery, "BATCH", 2)  # a round of two, for a backlog of three
    rival = RawReceiver()
    options = {"webhook_interval": 0, "webhook_timeout": 1.0, "webhook_retry_seconds": 600}
    try:
        with live(tmp_path, receiver, **options) as world:
            a, b = member(world, "Backlog Hook Ltd"), member(world, "Newer Hook Ltd")
            register(world, a, rival.url)
            for _ in range(3):
                duplicate(world, a, b)
            webhook_delivery.queue(world.registry)  # the rival's three are due first
            time.sleep(0.01)
            secret = register(world, b, receiver.url).json()["secret"]
            duplicate(world, a, b)
            assert webhook_delivery.send_due(world.registry) == 1  # the victim's, in round one
            assert len(receiver.signed(secret)) == 1
    finally:
        rival.close()


ODD_HOSTS = ["xn--a.example", "a" * 64 + ".example", "\u00fc" + "a" * 70 + ".example"]


@pytest.mark.parametrize("host", ODD_HOSTS, ids=["bad-punycode", "long-label", "long-idna"])
def test_a_webhook_whose_host_idna_refuses_is_refused_at_registration(
    tmp_path: Path, receiver: Receiver, host: str
) -> None:
    with live(tmp_path, receiver) as world:
        a = member(world, "Odd Host Ltd")
        refused = register(world, a, f"https://{host}/hook")
        assert refused.status_code == 400, refused.text
        assert "no usable host name" in refused.json()["detail"]
        assert webhook_rows(world) == 0


@pytest.mark.parametrize("host", ODD_HOSTS, ids=["bad-punycode", "long-label", "long-idna"])
def test_a_stored_webhook_with_an_odd_host_does_not_stop_the_queue(
    tmp_path: Path, receiver: Receiver, host: str
) -> None:
    """A webhook stored before its host was checked as deliveries read it (or by an older
    version): its delivery fails with a reason, and everyone else's go, in every round."""
    options = {"webhook_interval": 0, "webhook_timeout": 1.0, "webhook_retry_seconds": 600}
    with live(tmp_path, receiver, **options) as world:
        a, b = member(world, "Odd Stored Ltd"), member(world, "Plain Stored Ltd")
        hook = register(world, a, receiver.url).json()["id"]
        world.registry.journal.write(
            "UPDATE webhook SET url = ? WHERE id = ?", (f"https://{host}/hook", hook)
        )
        secret = register(world, b, receiver.url).json()["secret"]
        duplicate(world, a, b)
        assert webhook_delivery.send_due(world.registry) == 1  # b's
        assert len(receiver.signed(secret)) == 1
        ((attempts, error),) = world.registry.journal.read(
            "SELECT attempts, last_error FROM webhook_delivery WHERE webhook = ?", (hook,)
        )
        assert attempts == 1 and error


def test_a_signature_is_what_the_specification_computes() -> None:
    # The example of the Standard Webhooks specification's reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhook_delivery.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_suspended_member_receives_nothing_until_reinstated(
    tmp_path: Path, receiver: Receiver
) -> None:
    with live(tmp_path, receiver) as world:
        a, b = member(world, "Suspended Hook Ltd"), member(world, "Fourth Flex Ltd")
        register(world, a, receiver.url)
        mpan = fresh_mpan()
        register_asset(world, a, mpan)
        operator = world.operator_client()
        suspend = operator.post(f"/organisations/{a.uid}/suspend", json={"reason": "fees"})
        assert suspend.status_code == 200, suspend.text
        before = notifications(world, a.iri)
        body = ASSET.replace("2143967712809", mpan).replace("TG1234567890", f"SN{mpan}")
        assert world.client(b).post("/assets", content=body, headers=TURTLE).status_code == 409
        wait_until(lambda: notifications(world, a.iri) > before, 20, interval=0.1)
        time.sleep(1.0)  # the behaviour: several delivery rounds pass and deliver nothing
        assert receiver.received == []
        reinstated = operator.post(f"/organisations/{a.uid}/reinstate", json={})
        assert reinstated.status_code == 200, reinstated.text
        wait_until(lambda: 204 in receiver.answered, 20, interval=0.1)


def notifications(world: World, organisation: str) -> int:
    return world.registry.journal.read(
        "SELECT COUNT(*) FROM notification WHERE recipient = ?", (organisation,)
    )[0][0]
