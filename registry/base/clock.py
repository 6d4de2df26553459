"""The one clock: what "now" is, in the forms the registry writes it.

Every timestamp the registry makes comes from here (``tests/test_shared_pieces.py`` fails on a
``datetime.now(`` anywhere else), so that a test can see one place and the forms cannot drift.
A registry's own injectable clock (``Registry.clock``, used where the rules in force depend on
the day) defaults to :func:`utcnow`.

>>> stamp(dt.datetime(2026, 12, 7, 10, 0, 0, 5, tzinfo=dt.UTC))
'2026-12-07T10:00:00.000005Z'
>>> stamp_seconds(dt.datetime(2026, 12, 7, 10, 0, 0, 5, tzinfo=dt.UTC))
'2026-12-07T10:00:00Z'
>>> now().endswith("Z") and len(now()) == len("2026-12-07T10:00:00.000000Z")
True
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, in UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


def utcnow_seconds() -> dt.datetime:
    """Now, in UTC, to the second (what certificates, cases and ``xsd:dateTime`` values keep)."""
    return utcnow().replace(microsecond=0)


def stamp(moment: dt.datetime) -> str:
    """``moment`` as the journal writes times: ISO 8601 in UTC to the microsecond, with ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def stamp_seconds(moment: dt.datetime) -> str:
    """``moment`` as ISO 8601 in UTC to the second, with ``Z`` (notifications, webhooks)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def now() -> str:
    """Now as the journal writes it (:func:`stamp`)."""
    return stamp(utcnow())


def now_seconds() -> str:
    """Now to the second (:func:`stamp_seconds`)."""
    return stamp_seconds(utcnow())


def today() -> dt.date:
    """Today's date in UTC (where agreements and memberships start and end)."""
    return utcnow().date()
