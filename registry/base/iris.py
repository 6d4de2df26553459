"""Record IRIs, minted in one place: ``{base}id/{kind}/{uid}``.

Every record the registry serves lives under its base IRI's ``id/``; the kind is the path
segment ``registry.base.vocab.RECORD_TYPES`` (and ``REGISTRY_MADE_TYPES``) give each record
type. ``tests/test_shared_pieces.py`` fails on an ``id/`` IRI built anywhere else.

>>> organisation("https://r.example/", "1")
'https://r.example/id/org/1'
>>> base = "https://r.example/"
>>> is_record(base, "https://r.example/id/asset/7"), under(base, "org")
(True, 'https://r.example/id/org/')
"""

from __future__ import annotations

import uuid

ID = "id/"


def under(base: str, kind: str | None = None) -> str:
    """The prefix every record IRI (of one ``kind``, if given) starts with."""
    return f"{base}{ID}{kind}/" if kind else base + ID


def record(base: str, kind: str, uid: object) -> str:
    """The IRI of the record ``uid`` of ``kind`` (``asset``, ``org``, ...)."""
    return f"{under(base, kind)}{uid}"


def new(base: str, kind: str) -> str:
    """A fresh record IRI of ``kind`` (a random UUID)."""
    return record(base, kind, uuid.uuid4())


def is_record(base: str, iri: str) -> bool:
    """Whether ``iri`` names a record of this registry (or a part of one)."""
    return iri.startswith(under(base))


def organisation(base: str, uid: str) -> str:
    return record(base, "org", uid)


def user(base: str, uid: str) -> str:
    """A person of an organisation (``fdi:OrganisationUser``)."""
    return record(base, "user", uid)


def asset(base: str, uid: str) -> str:
    return record(base, "asset", uid)


def agreement(base: str, uid: str) -> str:
    return record(base, "agreement", uid)


def catalogue(base: str, uid: str) -> str:
    return record(base, "catalogue", uid)


def membership(base: str, uid: str) -> str:
    return record(base, "membership", uid)


def certificate(base: str, serial: str) -> str:
    """A certificate the registry's CA signed, by its serial number in lower-case hex."""
    return record(base, "certificate", serial.lower())


def case(base: str, uid: str) -> str:
    """A redress case."""
    return record(base, "case", uid)


def claim(base: str, uid: str) -> str:
    return record(base, "claim", uid)


def endpoint(base: str, uid: str) -> str:
    """A monitored endpoint (by the digest of its URL)."""
    return record(base, "endpoint", uid)


def proposal(base: str, uid: str) -> str:
    """A rules proposal."""
    return record(base, "proposal", uid)


def standard_agreement(base: str, uid: str) -> str:
    """A scheme's standard agreement, one per version (``{slug}-{version}``)."""
    return record(base, "standard-agreement", uid)
