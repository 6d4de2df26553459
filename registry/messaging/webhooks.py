"""Webhooks: every notification that reaches a member's inbox, also POSTed to a URL it
registered, signed as the Standard Webhooks specification says (https://www.standardwebhooks.com).

A member registers an HTTPS URL for its own organisation and receives a secret
(``whsec_`` + base64 of 32 random bytes) once, in the answer. From then on, each notification
queued for its inbox (``Transaction.notify``: reads of its data, duplicate attempts, switches,
claims and disputes, messages) is delivered to the URL as JSON ``{"type", "timestamp", "data"}``
with the headers

* ``webhook-id``: the message's id, the same on every retry (receivers deduplicate on it);
* ``webhook-timestamp``: seconds since the epoch when this attempt was signed;
* ``webhook-signature``: ``v1,`` + base64 of HMAC-SHA256, keyed with the secret's decoded
  bytes, over ``{webhook-id}.{webhook-timestamp}.{body}``.

Deliveries to an organisation that is not verified now (suspended, revoked) wait, pending,
until it is reinstated (its inbox is closed to it meanwhile too).

Delivery is at least once and survives a restart: the deliveries are rows of the journal
database (``webhook_delivery``), queued from the ``notification`` table by :class:`Sender`
every ``webhook_interval`` seconds, and a row is marked delivered only after a 2xx answer.
A failed attempt is retried after ``webhook_retry_seconds``, doubling each time (at most six
hours apart), until ``webhook_max_attempts`` have failed.

Outbound requests go only to URLs a member registered, and follow the rules endpoint checks
follow (``registry.base.outbound``): HTTPS only, never a host resolving into
``webhook_denied_networks`` (checked at registration and again before every attempt), no
redirects followed, ``webhook_timeout`` seconds per attempt, at most ``MAX_ANSWER`` bytes of
the answer read.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from registry.base.errors import Conflict, Forbidden, NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.outbound import client as outbound_client
from registry.base.outbound import denied
from registry.messaging.inbox import notification_iri
from registry.trust.permissions import require

if TYPE_CHECKING:
    from registry.kernel.core import Registry

log = logging.getLogger(__name__)

MAX_WEBHOOKS = 5  # per organisation
MAX_URL = 2000
MAX_ANSWER = 4096  # bytes of a receiver's answer read (kept as the last error, cut short)
MAX_DELAY = 6 * 3600.0
BATCH = 100  # deliveries attempted per round
EVENT_TYPE = "fdi.notification"

# Side tables of the journal database, as other features keep theirs (registry.assets.capacity): a
# webhook's secret is never journaled (the journal is hash-chained, kept and backed up whole).
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS webhook (
        id           TEXT PRIMARY KEY,
        organisation TEXT NOT NULL,
        url          TEXT NOT NULL,
        secret       TEXT NOT NULL,
        created      TEXT NOT NULL,
        queued       INTEGER NOT NULL,
        removed      TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS webhook_organisation ON webhook (organisation)",
    """CREATE TABLE IF NOT EXISTS webhook_delivery (
        webhook      TEXT NOT NULL,
        notification INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        due          REAL NOT NULL,
        last_attempt TEXT,
        last_status  INTEGER,
        last_error   TEXT,
        delivered    TEXT,
        failed       TEXT,
        PRIMARY KEY (webhook, notification)
    )""",
    "CREATE INDEX IF NOT EXISTS webhook_delivery_due ON webhook_delivery (due)",
)
_LAST_NOTIFICATION = "SELECT COALESCE(MAX(id), 0) FROM notification WHERE recipient = ?"
_COUNT = "SELECT COUNT(*) FROM webhook WHERE organisation = ? AND removed IS NULL"
_INSERT = (
    "INSERT INTO webhook (id, organisation, url, secret, created, queued) VALUES (?, ?, ?, ?, ?, ?)"
)
_LIST = (
    "SELECT id, url, created FROM webhook WHERE organisation = ? AND removed IS NULL "
    "ORDER BY created, id"
)
_ONE = "SELECT id, url, created FROM webhook WHERE id = ? AND organisation = ? AND removed IS NULL"
_REMOVE = "UPDATE webhook SET removed = ? WHERE id = ? AND organisation = ? AND removed IS NULL"
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
_DUE = (
    "SELECT d.webhook, d.notification, d.attempts, w.organisation, w.url, w.secret, n.time, "
    "n.body FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook "
    "JOIN notification n ON n.id = d.notification "
    "JOIN record r ON r.iri = w.organisation AND r.status = 'verified' "
    "WHERE d.delivered IS NULL AND d.failed IS NULL AND w.removed IS NULL AND d.due <= ? "
    "ORDER BY d.due, d.notification LIMIT ?"
)
_DELIVERED = (
    "UPDATE webhook_delivery SET attempts = attempts + 1, last_attempt = ?, last_status = ?, "
    "last_error = NULL, delivered = ? WHERE webhook = ? AND notification = ?"
)
_RETRY = (
    "UPDATE webhook_delivery SET attempts = attempts + 1, last_attempt = ?, last_status = ?, "
    "last_error = ?, due = ?, failed = ? WHERE webhook = ? AND notification = ?"
)
_DELIVERIES = (
    "SELECT notification, attempts, last_attempt, last_status, last_error, delivered, failed, due "
    "FROM webhook_delivery WHERE webhook = ? ORDER BY notification DESC LIMIT ?"
)

_ready: weakref.WeakSet[Any] = weakref.WeakSet()  # journals whose tables exist
_ready_lock = threading.Lock()


def ensure(registry: Registry) -> None:
    """Create the webhook tables in the registry's journal database (once per journal)."""
    if registry.journal in _ready:
        return
    with _ready_lock:
        for statement in SCHEMA:
            registry.journal.write(statement)
        _ready.add(registry.journal)


# --- registering ------------------------------------------------------------------------------


def register(
    registry: Registry, principal: Principal, organisation: str, url: str
) -> dict[str, Any]:
    """Register ``url`` as a webhook of ``organisation`` (the requester's own); the answer holds
    the signing secret, shown this once. Raises Unauthenticated, Forbidden (another
    organisation; a denied address), UnusableInput (not an HTTPS URL), Conflict (too many)."""
    _own(principal, organisation)
    check_url(url, registry.settings.webhook_denied_networks)
    ensure(registry)
    if registry.journal.read(_COUNT, (organisation,))[0][0] >= MAX_WEBHOOKS:
        raise Conflict(f"an organisation may register at most {MAX_WEBHOOKS} webhooks")
    hook = "wh_" + uuid.uuid4().hex
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    created = _now()
    # Only notifications from now on: the mark starts at the inbox's newest one.
    after = registry.journal.read(_LAST_NOTIFICATION, (organisation,))[0][0]
    registry.journal.write(_INSERT, (hook, organisation, url, secret, created, after))
    with registry.transaction(principal.actor, "webhook") as tx:
        tx.event({"webhook": {"id": hook, "organisation": organisation, "url": url}})
    return {**_view(organisation, (hook, url, created)), "secret": secret}


def check_url(url: str, networks: str) -> None:
    """Refuse anything but an HTTPS URL whose host resolves outside ``networks``.

    >>> check_url("http://receiver.example/hook", "")
    Traceback (most recent call last):
    ...
    registry.base.errors.UnusableInput: a webhook must be an https: URL with a host
    """
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise UnusableInput(f"give the webhook's URL as a string of at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise UnusableInput("a webhook must be an https: URL with a host")
    inside = denied(url, networks)
    if inside:
        raise Forbidden(
            f"the webhook's host resolves to {inside}, an address the registry does not contact "
            "(FDI_WEBHOOK_DENIED_NETWORKS)"
        )


def webhooks(registry: Registry, principal: Principal, organisation: str) -> list[dict[str, Any]]:
    """An organisation's webhooks (never their secrets), to the organisation itself."""
    _own(principal, organisation)
    ensure(registry)
    return [_view(organisation, row) for row in registry.journal.read(_LIST, (organisation,))]


def webhook(
    registry: Registry, principal: Principal, organisation: str, hook: str
) -> dict[str, Any]:
    """One of the organisation's webhooks. Raises NotFound (another's is not found either)."""
    _own(principal, organisation)
    ensure(registry)
    rows = registry.journal.read(_ONE, (hook, organisation))
    if not rows:
        raise NotFound(f"no webhook {hook}")
    return _view(organisation, rows[0])


def remove(registry: Registry, principal: Principal, organisation: str, hook: str) -> None:
    """Stop a webhook: nothing more is sent to it (what it was sent is still listed)."""
    webhook(registry, principal, organisation, hook)
    registry.journal.write(_REMOVE, (_now(), hook, organisation))
    with registry.transaction(principal.actor, "webhook") as tx:
        tx.event({"webhook": {"id": hook, "organisation": organisation, "removed": True}})


def deliveries(
    registry: Registry, principal: Principal, organisation: str, hook: str, limit: int = 100
) -> list[dict[str, Any]]:
    """What was sent to one of the organisation's webhooks, newest first."""
    webhook(registry, principal, organisation, hook)
    out = []
    for number, attempts, last, status, error, delivered, failed, due in registry.journal.read(
        _DELIVERIES, (hook, limit)
    ):
        state = "delivered" if delivered else "failed" if failed else "pending"
        out.append(
            {
                "notification": notification_iri(organisation, number),
                "webhookId": message_id(hook, number),
                "state": state,
                "attempts": attempts,
                "lastAttempt": last,
                "lastStatus": status,
                "lastError": error,
                "delivered": delivered,
                "nextAttempt": None if state != "pending" else _iso(due),
            }
        )
    return out


def _own(principal: Principal, organisation: str) -> None:
    if require(principal) != organisation:
        raise Forbidden("an organisation registers and sees only its own webhooks")


def _view(organisation: str, row: tuple[Any, ...]) -> dict[str, Any]:
    hook, url, created = row
    return {
        "id": hook,
        "organisation": organisation,
        "url": url,
        "created": created,
        "deliveries": f"{organisation.rstrip('/')}/webhooks/{hook}/deliveries",
    }


# --- signing ----------------------------------------------------------------------------------


def message_id(hook: str, notification: int) -> str:
    """The ``webhook-id`` of one notification sent to one webhook (the same on every retry)."""
    return f"msg_{hook.removeprefix('wh_')}_{notification}"


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
    """Queue new notifications and attempt every delivery that is due; returns how many were
    delivered."""
    queue(registry, now)
    settings = registry.settings
    rows = registry.journal.read(_DUE, (time.time() if now is None else now, BATCH))
    delivered = 0
    if not rows:
        return 0
    with outbound_client(
        settings.webhook_denied_networks, settings.webhook_ca_file, settings.webhook_timeout
    ) as client:
        for hook, number, attempts, organisation, url, secret, time_, body in rows:
            status, error = _attempt(
                client, settings, hook, number, url, secret, organisation, time_, body
            )
            at = _now()
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
    """POST one notification; (HTTP status, None) when delivered, else (status, why not)."""
    inside = denied(url, settings.webhook_denied_networks)
    if inside:  # the name may resolve elsewhere now than when it was registered
        return None, f"not contacted: {inside} is a denied address"
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
        deadline = time.monotonic() + 2 * settings.webhook_timeout
        with client.stream("POST", url, content=content, headers=headers) as answer:
            read = b""
            for chunk in answer.iter_bytes():
                read += chunk
                # a receiver dripping its answer is cut off: the timeout bounds each read only
                if len(read) >= MAX_ANSWER or time.monotonic() > deadline:
                    break
    except httpx.TimeoutException:
        return None, f"no answer within {settings.webhook_timeout} s"
    except httpx.HTTPError as e:
        return None, f"{type(e).__name__}: {e}"
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    text = read[:MAX_ANSWER].decode("utf-8", errors="replace")
    return answer.status_code, f"HTTP {answer.status_code}: {text}".strip()


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
            self._thread.join(self.registry.settings.webhook_timeout * 2 + 5)

    def _run(self) -> None:
        interval = self.registry.settings.webhook_interval
        while not self._stop.wait(interval):
            try:
                send_due(self.registry)
            except Exception:  # a failed round is retried at the next one; say why meanwhile
                log.exception("webhook deliveries failed; retrying in %s s", interval)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )
