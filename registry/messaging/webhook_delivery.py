"""Webhook deliveries: notifications queued from members' inboxes, signed as Standard Webhooks
says and POSTed, retried with backoff (see registry.messaging.webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx

from registry.base.outbound import REQUEST_FAILURES
from registry.base.outbound import client as outbound_client
from registry.messaging.inbox import notification_iri
from registry.messaging.webhooks import MAX_ANSWER, ensure, message_id, now_text

if TYPE_CHECKING:
    from registry.kernel.core import Registry

log = logging.getLogger(__name__)

MAX_DELAY = 6 * 3600.0
BATCH = 100  # deliveries attempted per round
PER_WEBHOOK = 10  # of them at most for one webhook: the others' turn comes in the same round
EVENT_TYPE = "fdi.notification"

# Queue every notification a webhook has not seen (idempotent: a row per webhook and
# notification), then move each webhook's mark past what is queued. A crash between the two
# queues nothing twice.
_QUEUE = (
    "INSERT OR IGNORE INTO webhook_delivery (webhook, notification, due) "
    "SELECT w.id, n.id, ? FROM webhook w JOIN notification n "
    "ON n.recipient = w.organisation AND n.id > w.queued WHERE w.removed IS NULL"
)
_MARK = (
    "UPDATE webhook SET queued = (SELECT MAX(notification) FROM webhook_delivery d "
    "WHERE d.webhook = webhook.id) WHERE removed IS NULL AND EXISTS "
    "(SELECT 1 FROM webhook_delivery d WHERE d.webhook = webhook.id AND d.notification > queued)"
)
# Due deliveries taken in turns: each webhook's first, then each one's second, and so on (at
# most PER_WEBHOOK each), so one webhook's backlog cannot fill a round.
_DUE = (
    "SELECT q.webhook, q.notification, q.attempts, q.organisation, q.url, q.secret, q.time, "
    "q.body FROM ("
    "SELECT d.webhook, d.notification, d.attempts, w.organisation, w.url, w.secret, n.time, "
    "n.body, d.due, ROW_NUMBER() OVER (PARTITION BY d.webhook ORDER BY d.due, d.notification) "
    "AS turn FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook "
    "JOIN notification n ON n.id = d.notification "
    "JOIN record r ON r.iri = w.organisation AND r.status = 'verified' "
    "WHERE d.delivered IS NULL AND d.failed IS NULL AND w.removed IS NULL AND d.due <= ?"
    ") AS q WHERE q.turn <= ? ORDER BY q.turn, q.due, q.notification LIMIT ?"
)
_DELIVERED = (
    "UPDATE webhook_delivery SET attempts = attempts + 1, last_attempt = ?, last_status = ?, "
    "last_error = NULL, delivered = ? WHERE webhook = ? AND notification = ?"
)
_RETRY = (
    "UPDATE webhook_delivery SET attempts = attempts + 1, last_attempt = ?, last_status = ?, "
    "last_error = ?, due = ?, failed = ? WHERE webhook = ? AND notification = ?"
)


def sign(secret: str, message: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``.

    >>> sign("whsec_" + base64.b64encode(b"k" * 32).decode(), "msg_1", 1, b"{}")[:3]
    'v1,'
    """
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def payload(organisation: str, number: int, time_: str, body: str) -> bytes:
    """The JSON POSTed for one notification: its activity, with its inbox IRI as ``id``."""
    activity = json.loads(body)
    activity["id"] = notification_iri(organisation, number)
    activity.setdefault("published", time_)
    document = {"type": EVENT_TYPE, "timestamp": time_, "data": activity}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


# --- sending ----------------------------------------------------------------------------------


def queue(registry: Registry, now: float | None = None) -> None:
    """Queue, for each webhook, the notifications its organisation received since it last
    looked (they are due at once)."""
    ensure(registry)
    registry.journal.write(_QUEUE, (time.time() if now is None else now,))
    registry.journal.write(_MARK)


def send_due(registry: Registry, now: float | None = None) -> int:
    """Queue new notifications and attempt the deliveries that are due, in turns across
    webhooks; returns how many were delivered.

    Each webhook is given about one timeout of the round: once its attempts in this round have
    taken that long (a receiver that does not answer, or answers slowly), its other deliveries
    wait for the next round, so one member's receiver cannot hold everyone else's."""
    queue(registry, now)
    settings = registry.settings
    rows = registry.journal.read(_DUE, (time.time() if now is None else now, PER_WEBHOOK, BATCH))
    delivered = 0
    if not rows:
        return 0
    spent: dict[object, float] = {}  # seconds each webhook's attempts took in this round
    with outbound_client(
        settings.webhook_denied_networks, settings.webhook_ca_file, settings.webhook_timeout
    ) as client:
        for hook, number, attempts, organisation, url, secret, time_, body in rows:
            if spent.get(hook, 0.0) >= settings.webhook_timeout:
                continue  # its time in this round is used up: next round
            started = time.monotonic()
            try:
                status, error = _attempt(
                    client, settings, hook, number, url, secret, organisation, time_, body
                )
            except Exception as e:  # noqa: BLE001 - one delivery must not stop the queue
                log.exception("webhook %s: delivery %s failed unexpectedly", hook, number)
                status, error = None, f"the attempt failed: {type(e).__name__}"
            spent[hook] = spent.get(hook, 0.0) + time.monotonic() - started
            at = now_text()
            if error is None:
                registry.journal.write(_DELIVERED, (at, status, at, hook, number))
                delivered += 1
                continue
            tries = attempts + 1
            delay = min(settings.webhook_retry_seconds * 2 ** (tries - 1), MAX_DELAY)
            given_up = at if tries >= settings.webhook_max_attempts else None
            registry.journal.write(
                _RETRY,
                (at, status, error[:MAX_ANSWER], time.time() + delay, given_up, hook, number),
            )
    return delivered


def _attempt(
    client: httpx.Client,
    settings: Any,
    hook: str,
    number: int,
    url: str,
    secret: str,
    organisation: str,
    time_: str,
    body: str,
) -> tuple[int | None, str | None]:
    """POST one notification; (HTTP status, None) when delivered, else (status, why not).

    The host's addresses are judged as the connection is made (registry.base.outbound): the
    name may resolve elsewhere now than when it was registered."""
    content = payload(organisation, number, time_, body)
    message = message_id(hook, number)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "fdi-registry-webhooks",
        "webhook-id": message,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, message, stamp, content),
    }
    try:
        # The client ends the whole exchange at the timeout (registry.base.outbound).
        with client.stream("POST", url, content=content, headers=headers) as answer:
            if 200 <= answer.status_code < 300:
                return answer.status_code, None  # delivered: what follows is not read
            read = _start_of(answer)
    except httpx.TimeoutException:
        return None, f"no answer within {settings.webhook_timeout} s"
    except httpx.ConnectError as e:
        refused = str(e).startswith("not contacted:")  # a denied address, said as it is
        return None, str(e) if refused else f"ConnectError: {e}"
    except REQUEST_FAILURES as e:
        return None, f"{type(e).__name__}: {e}"
    text = read.decode("utf-8", errors="replace")
    return answer.status_code, f"HTTP {answer.status_code}: {text}".strip()


def _start_of(answer: httpx.Response) -> bytes:
    """The first :data:`MAX_ANSWER` bytes of a refusal's body, or what came of them in time."""
    read = b""
    try:
        for chunk in answer.iter_bytes():
            read += chunk
            if len(read) >= MAX_ANSWER:
                break
    except httpx.TimeoutException:
        pass  # the status says why; a body still dripping at the time limit is cut there
    return read[:MAX_ANSWER]


class Sender:
    """Runs :func:`send_due` every ``webhook_interval`` seconds in a background thread."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.registry.settings.webhook_interval <= 0 or self._thread is not None:
            return
        ensure(self.registry)
        self._thread = threading.Thread(target=self._run, daemon=True, name="webhooks")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # the round's last attempt ends within the timeout; the rest is its writes' margin
            self._thread.join(self.registry.settings.webhook_timeout * 2 + 5)

    def _run(self) -> None:
        interval = self.registry.settings.webhook_interval
        while not self._stop.wait(interval):
            try:
                send_due(self.registry)
            except Exception:  # a failed round is retried at the next one; say why meanwhile
                log.exception("webhook deliveries failed; retrying in %s s", interval)
