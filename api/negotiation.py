"""Content negotiation: choose a media type from an ``Accept`` header (RFC 9110 §12.5.1); the
``?format=`` suffix of each linked-data format, for links that cannot set ``Accept``.

>>> choose("text/turtle;q=0.9, application/ld+json", ["text/turtle", "application/ld+json"])
'application/ld+json'
>>> choose("*/*", ["text/html", "text/turtle"])
'text/html'
>>> choose("image/png", ["text/turtle"]) is None
True
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from registry.base.errors import NotAcceptable
from registry.base.media import LINKED_DATA

# The ?format= suffix of each linked-data format (links that cannot set Accept).
SUFFIX = LINKED_DATA


def _parse(accept: str) -> list[tuple[str, float, int]]:
    ranges = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media, q, position))
    return ranges


def _specificity(media_range: str, offer: str) -> int:
    if media_range == offer:
        return 3
    major, _, minor = media_range.partition("/")
    if minor == "*" and offer.startswith(major + "/"):
        return 2
    if media_range == "*/*":
        return 1
    return 0


def choose(accept: str | None, offers: list[str]) -> str | None:
    """The best of ``offers`` for ``accept`` (the first offer when there is no header)."""
    if not accept:
        return offers[0]
    ranges = _parse(accept)
    best: tuple[float, int, int] | None = None
    chosen = None
    for index, offer in enumerate(offers):
        matches = [(s, q, pos) for m, q, pos in ranges if (s := _specificity(m, offer))]
        if not matches:
            continue
        specificity, q, position = max(matches)
        if q <= 0:
            continue
        key = (q, specificity, -index)
        if best is None or key > best:
            best, chosen = key, offer
    return chosen


def negotiate(accept: str | None, offers: list[str], asked: str | None = None) -> str:
    """The media type to answer in: ``asked`` (a ``?format=`` a link chose) when offered, else
    the best of ``offers`` for ``accept``. Raises NotAcceptable listing the offers.

    >>> negotiate("image/png, text/turtle;q=0.1", ["text/html", "text/turtle"])
    'text/turtle'
    >>> negotiate("image/png", ["text/turtle"])
    Traceback (most recent call last):
    registry.base.errors.NotAcceptable: this resource is offered as text/turtle; ...
    """
    if asked is not None:
        if asked in offers:
            return asked
        raise NotAcceptable(_offered(offers), offered=offers)
    chosen = choose(accept, offers)
    if chosen is None:
        raise NotAcceptable(_offered(offers), offered=offers)
    return chosen


def _offered(offers: list[str]) -> str:
    return f"this resource is offered as {', '.join(offers)}; ask for one of them in Accept"


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` matches ``etag`` by the weak comparison GET uses
    (RFC 9110 §13.1.2): ``*``, or any listed tag equal to it once ``W/`` is set aside.

    >>> none_match('W/"a", "b"', '"a"'), none_match("*", '"x"'), none_match('"a"', '"b"')
    (True, True, False)
    """
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def format_url(request: Request, suffix: str) -> str:
    """This request's path and query with ``format`` set to ``suffix``."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    return f"{request.url.path}?{urlencode([*query, ('format', suffix)])}"
