"""Inboxes: W3C Linked Data Notifications carrying ActivityStreams 2.0 activities.

Every organisation has an inbox at ``{organisation IRI}/inbox``, advertised on the
organisation's IRI (an ``ldp:inbox`` triple, and a ``Link: <...>; rel="http://www.w3.org/ns/ldp#inbox"``
header). The inbox is an ``ldp:BasicContainer`` whose members are the notifications the
registry queued for the organisation (``Transaction.notify``: membership granted, action
needed, data shared, certificate expiring) and the activities other members posted to it.

Notifications are the rows of the journal database's ``notification`` table, written in the
same SQLite transaction as the journal entry that queued them, so a notification exists exactly
when the change it reports does. Posting and acknowledging are journal entries too (an
``Announce``/``Offer`` is an entry with the notification; an acknowledgement is an entry whose
event marks the row).

Who may post to whom is data, not code: ``fdi:mayMessage`` statements between scheme roles in
the ontology (``ontology/fdi.ttl``). Anything else is refused with 403.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base.activities import AS_CONTEXT
from registry.base.activities import notification as activity  # as features import it from here
from registry.base.clock import now_seconds, utcnow
from registry.base.errors import Forbidden, NotFound, PayloadTooLarge, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import AS, FDI, LDP, XSD
from registry.kernel.features import Feature, Known
from registry.kernel.lifecycle import parse_datetime, with_status
from registry.store.journal import Entry
from registry.trust.certificates import CERTIFICATE, describe
from registry.trust.permissions import SCOPE_MESSAGES, may_message, require, roles_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry


# The notifications queued by entries (and their acknowledgement), one row each.
SCHEMA = """
CREATE TABLE IF NOT EXISTS notification (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    recipient    TEXT NOT NULL,
    time         TEXT NOT NULL,
    body         TEXT NOT NULL,
    acknowledged TEXT
);
CREATE INDEX IF NOT EXISTS notification_recipient ON notification (recipient, id);
"""
MAX_ACTIVITY_BYTES = 64 * 1024
# What a member may post: expressions of interest and replies. Other activity types (Create,
# Delete, Update, ...) would claim to change something in the registry, which a post never does.
POSTABLE = (
    "Offer",
    "Announce",
    "Note",
    "Question",
    "Accept",
    "Reject",
    "TentativeAccept",
    "Invite",
)
CONTAINER_CONTEXT = {
    "ldp": LDP.iri,
    "as": AS.iri,
    "fdi": FDI.iri,
    "xsd": XSD.iri,
    "id": "@id",
    "type": "@type",
    "contains": {"@id": "ldp:contains", "@type": "@id"},
    "summary": "as:summary",
    "actor": {"@id": "as:actor", "@type": "@id"},
    "published": {"@id": "as:published", "@type": "xsd:dateTime"},
    "acknowledged": {"@id": "fdi:acknowledgedAt", "@type": "xsd:dateTime"},
}
_ROWS = (
    "SELECT id, seq, time, body, acknowledged FROM notification WHERE recipient = ? "
    "ORDER BY id DESC LIMIT ?"
)
_ROW = "SELECT id, seq, time, body, acknowledged FROM notification WHERE recipient = ? AND id = ?"
_LAST = "SELECT id FROM notification WHERE seq = ? AND recipient = ? ORDER BY id DESC LIMIT 1"


def inbox_iri(organisation: str) -> str:
    return organisation.rstrip("/") + "/inbox"


def notification_iri(organisation: str, number: int) -> str:
    return f"{inbox_iri(organisation)}/{number}"


def advertisement(registry: Registry, iri: str) -> list[ox.Triple]:
    """The ``ldp:inbox`` triple for an organisation's IRI (nothing for other records)."""
    info = registry.info(iri)
    if info is None or info.type != FDI.Organisation.value:
        return []
    return [ox.Triple(ox.NamedNode(iri), LDP.inbox, ox.NamedNode(inbox_iri(iri)))]


# --- posting ----------------------------------------------------------------------------------


def post(registry: Registry, principal: Principal, recipient: str, body: bytes) -> dict[str, Any]:
    """A member posts an activity (AS2 JSON-LD) to another organisation's inbox.

    Raises Unauthenticated, Forbidden (scope missing, or no fdi:mayMessage between the sender's
    and the recipient's roles), NotFound (no such organisation), PayloadTooLarge, UnusableInput.
    """
    sender = require(principal, scope=SCOPE_MESSAGES)
    if not _is_organisation(registry, recipient):
        raise NotFound(f"no organisation {recipient}")
    if not may_message(principal.roles, roles_of(registry, recipient)):
        raise Forbidden(
            "your scheme roles do not allow posting to this organisation's inbox; members may "
            "message those their roles allow (fdi:mayMessage in the ontology at /ns)",
            roles=sorted(_name(r) for r in principal.roles),
            recipientRoles=sorted(_name(r) for r in roles_of(registry, recipient)),
        )
    message = _activity_from(body, sender)
    message.update(to=recipient, published=now_seconds())
    with registry.transaction(principal.actor, "message") as tx:
        tx.notify(recipient, message)
        tx.event({"message": message["type"], "from": sender, "to": recipient})
    assert tx.entry is not None
    number = registry.journal.read(_LAST, (tx.entry.seq, recipient))[0][0]
    return {"id": notification_iri(recipient, number), "type": message["type"], "to": recipient}


def _activity_from(body: bytes, sender: str) -> dict[str, Any]:
    if len(body) > MAX_ACTIVITY_BYTES:
        raise PayloadTooLarge(f"an activity may be at most {MAX_ACTIVITY_BYTES} bytes")
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnusableInput(f"the body is not JSON: {e}") from e
    if not isinstance(message, dict):
        raise UnusableInput("post one ActivityStreams activity, a JSON object")
    context = message.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if AS_CONTEXT not in contexts:
        raise UnusableInput(f'give the ActivityStreams context: "@context": "{AS_CONTEXT}"')
    if message.get("type") not in POSTABLE:
        raise UnusableInput(f"the activity's type must be one of {', '.join(POSTABLE)}")
    if message.get("actor", sender) != sender:
        raise Forbidden("the actor of a posted activity must be your own organisation")
    message["actor"] = sender
    return message


# --- reading and acknowledging ----------------------------------------------------------------


def container(
    registry: Registry, principal: Principal, organisation: str, limit: int = 100
) -> dict[str, Any]:
    """The inbox as an LDP container (JSON-LD), newest first. Raises Unauthenticated, Forbidden."""
    _own_inbox(registry, principal, organisation)
    rows = registry.journal.read(_ROWS, (organisation, limit))
    return {
        "@context": CONTAINER_CONTEXT,
        "id": inbox_iri(organisation),
        "type": ["ldp:Container", "ldp:BasicContainer"],
        "contains": [_summary(organisation, row) for row in rows],
    }


def notification(
    registry: Registry, principal: Principal, organisation: str, number: int
) -> dict[str, Any]:
    """One notification as JSON-LD, with when it was acknowledged. Raises NotFound, Forbidden."""
    _own_inbox(registry, principal, organisation)
    number_, seq, time, body, acknowledged = _row(registry, organisation, number)
    message: dict[str, Any] = json.loads(body)
    context = message.get("@context", AS_CONTEXT)
    message["@context"] = [
        *(context if isinstance(context, list) else [context]),
        {"fdi": FDI.iri, "acknowledged": CONTAINER_CONTEXT["acknowledged"]},
    ]
    message["id"] = notification_iri(organisation, number_)
    message.setdefault("published", time)
    message["acknowledged"] = acknowledged
    return message


def acknowledge(
    registry: Registry, principal: Principal, organisation: str, number: int
) -> dict[str, Any]:
    """The recipient marks a notification as seen (once: acknowledging again changes nothing).

    Raises NotFound, Unauthenticated, Forbidden."""
    _own_inbox(registry, principal, organisation)
    if _row(registry, organisation, number)[4] is None:
        with registry.transaction(principal.actor, "acknowledgement") as tx:
            tx.event({"acknowledged": number, "recipient": organisation})
    return notification(registry, principal, organisation, number)


def _own_inbox(registry: Registry, principal: Principal, organisation: str) -> None:
    org = require(principal)
    if not _is_organisation(registry, organisation):
        raise NotFound(f"no organisation {organisation}")
    if org != organisation:
        raise Forbidden("an inbox is read only by its organisation")


def _row(registry: Registry, organisation: str, number: int) -> tuple[Any, ...]:
    rows = registry.journal.read(_ROW, (organisation, number))
    if not rows:
        raise NotFound(f"no notification {notification_iri(organisation, number)}")
    return rows[0]


def _summary(organisation: str, row: tuple[Any, ...]) -> dict[str, Any]:
    number, _, time, body, acknowledged = row
    message = json.loads(body)
    kind = message.get("type")
    out = {
        "id": notification_iri(organisation, number),
        "type": f"as:{kind}" if isinstance(kind, str) and kind.isalnum() else "as:Activity",
        "summary": message.get("summary"),
        "actor": message.get("actor"),
        "published": message.get("published", time),
        "acknowledged": acknowledged,
    }
    return {k: v for k, v in out.items() if v is not None}


def _is_organisation(registry: Registry, iri: str) -> bool:
    info = registry.info(iri)
    return info is not None and info.type == FDI.Organisation.value


def _name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


def as_triples(document: dict[str, Any]) -> list[ox.Triple]:
    """A JSON-LD document with an inline context (the inbox container) as triples."""
    quads = ox.parse(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD)
    return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def was_told_of(registry: Registry, organisation: str, iri: str) -> bool:
    """Whether a notification to ``organisation`` named ``iri`` as its object (a duplicate's
    existing asset, a switched right): the record may be one it cannot read."""
    # LIKE narrows the rows (an IRI's "_" matches any character there); the JSON check is exact.
    rows = registry.journal.read(_SENT, (organisation, f"%{iri}%"))
    return any(json.loads(body).get("object") == iri for (body,) in rows)


# --- reminders ----------------------------------------------------------------------------------

_SENT = "SELECT body FROM notification WHERE recipient = ? AND body LIKE ?"


def remind_expiring_certificates(
    registry: Registry, within_days: int = 30, now: dt.datetime | None = None
) -> int:
    """Tell each organisation, once per certificate, that an active certificate of theirs
    expires within ``within_days`` (action needed: ask for a new one). Returns how many
    reminders were queued, in one journal entry."""

    now = now or utcnow()
    due = []
    for info in with_status(registry, CERTIFICATE, "active"):
        certificate = describe(registry, info.iri)
        ends = (
            parse_datetime(ox.Literal(certificate["notAfter"])) if certificate["notAfter"] else None
        )
        holder = certificate["organisation"]
        if (
            ends is None
            or holder is None
            or not now <= ends <= now + dt.timedelta(days=within_days)
        ):
            continue
        sent = registry.journal.read(_SENT, (holder, f"%{info.iri}%"))
        if any(json.loads(b).get("name") == "certificate-expiring" for (b,) in sent):
            continue
        due.append((holder, info.iri, certificate, ends))
    if due:
        with registry.transaction("registry", "certificate-reminders") as tx:
            for holder, iri, certificate, ends in due:
                tx.notify(
                    holder,
                    activity(
                        "Announce",
                        None,
                        iri,
                        f"Action needed: certificate {certificate['serial']} "
                        f"({certificate['name']}) expires on {ends.date().isoformat()}; "
                        "ask for a new one before then",
                        name="certificate-expiring",
                        endTime=certificate["notAfter"],
                    ),
                )
    return len(due)


def _derive(db: sqlite3.Connection, entry: Entry, known: Known) -> None:
    """The notifications an entry queues, and those its events mark as seen."""
    for n in entry.payload.get("notifications", []):
        db.execute(
            "INSERT INTO notification (seq, recipient, time, body) VALUES (?, ?, ?, ?)",
            (entry.seq, n["recipient"], entry.time, json.dumps(n["activity"])),
        )
    for event in entry.payload.get("events", []):
        if "acknowledged" in event:  # the recipient marks a notification as seen
            db.execute(
                "UPDATE notification SET acknowledged = ? WHERE id = ? AND recipient = ? "
                "AND acknowledged IS NULL",
                (entry.time, event["acknowledged"], event["recipient"]),
            )


FEATURE = Feature("inbox", schema=SCHEMA, derive=_derive)
