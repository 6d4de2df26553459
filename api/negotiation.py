"""Content negotiation: choose a media type from an ``Accept`` header (RFC 9110 §12.5.1).

>>> choose("text/turtle;q=0.9, application/ld+json", ["text/turtle", "application/ld+json"])
'application/ld+json'
>>> choose("*/*", ["text/html", "text/turtle"])
'text/html'
>>> choose("image/png", ["text/turtle"]) is None
True
"""

from __future__ import annotations


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
