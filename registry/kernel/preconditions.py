"""The one If-Match rule every conditional write uses.

A record's ETag is ``"<version>"`` (``RecordInfo.etag``); a representation may add a suffix
(``"3.ttl"``). ``If-Match`` is a list of entity tags (RFC 9110 §13.1.1); ``*`` matches any
version, and a weak ``W/`` prefix is tolerated. An update (``PUT``) must send one
(:func:`require_if_match`, 428); the status changes that take one (withdrawing, suspending,
leaving) check it only when it is sent (:func:`check_version`).

>>> etag_matches('"3"', 3), etag_matches('W/"3.ttl"', 3), etag_matches('"2", "3"', 3)
(True, True, True)
>>> etag_matches('"2"', 3), etag_matches("*", 3), etag_matches("", 3)
(False, True, False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.base.errors import PreconditionFailed, PreconditionRequired

if TYPE_CHECKING:
    from registry.kernel.transaction import RecordInfo


def etag_matches(if_match: str, version: int) -> bool:
    """Whether an If-Match header names this version (``*`` matches any).

    ETags are ``"<version>"``, optionally with a representation suffix (``"3.ttl"``).
    """
    for tag in if_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*" or tag.split(".", 1)[0] == str(version):
            return True
    return False


def require_if_match(if_match: str | None, what: str = "record") -> str:
    """The If-Match header of an update. Raises PreconditionRequired when there is none."""
    if not if_match:
        raise PreconditionRequired(
            f"updates need If-Match with the {what}'s current ETag (GET the {what} first)"
        )
    return if_match


def check_version(info: RecordInfo, if_match: str | None) -> None:
    """Optimistic concurrency: raise PreconditionFailed if ``if_match`` is given and does not
    name the record's current version (:func:`etag_matches`)."""
    if if_match is not None and not etag_matches(if_match, info.version):
        raise PreconditionFailed(
            f"{info.iri} has changed: its current ETag is {info.etag}; GET it, merge, retry",
            current=info.etag,
        )
