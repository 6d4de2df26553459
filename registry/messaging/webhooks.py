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
database (``webhook_delivery``), queued from the ``notification`` table by
:class:`registry.messaging.webhook_delivery.Sender` every ``webhook_interval`` seconds, and a
row is marked delivered only after a 2xx answer.
A failed attempt is retried after ``webhook_retry_seconds``, doubling each time (at most six
hours apart), until ``webhook_max_attempts`` have failed.

Outbound requests go only to URLs a member registered, and follow the rules endpoint checks
follow (``registry.base.outbound``): HTTPS only, never a host resolving into
``webhook_denied_networks`` (checked at registration and again as every attempt connects), no
redirects followed, ``webhook_timeout`` seconds per attempt (lookup, connection and answer), at
most ``MAX_ANSWER`` bytes of the answer read, and about one timeout per webhook per round.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import threading
import uuid
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from registry.base.clock import now_seconds
from registry.base.errors import Conflict, Forbidden, NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.outbound import denied
from registry.messaging.inbox import notification_iri
from registry.trust.permissions import require

if TYPE_CHECKING:
    from registry.kernel.core import Registry

log = logging.getLogger(__name__)

MAX_WEBHOOKS = 5  # per organisation
MAX_URL = 2000
MAX_ANSWER = 4096  # bytes of a receiver's answer read (kept as the last error, cut short)

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
    created = now_text()
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
    try:  # read as the deliveries will: a host IDNA refuses could never be contacted
        httpx.URL(url).host  # noqa: B018 - decoding an xn-- label is the check
        parts.hostname.encode("idna")
    except (httpx.InvalidURL, UnicodeError) as e:
        raise UnusableInput(f"the webhook's URL has no usable host name: {e}") from e
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
    registry.journal.write(_REMOVE, (now_text(), hook, organisation))
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


def message_id(hook: str, notification: int) -> str:
    """The ``webhook-id`` of one notification sent to one webhook (the same on every retry)."""
    return f"msg_{hook.removeprefix('wh_')}_{notification}"


now_text = now_seconds  # now, UTC, to the second, as ISO 8601 with ``Z``


def _iso(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )
