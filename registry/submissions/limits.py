"""Limits on what one submission may ask of the registry, checked before any real work.

Body size is bounded by the HTTP layer as bytes arrive (``settings.max_body_bytes``) and JSON
depth by the reader (``formats.MAX_JSON_DEPTH``). Blank nodes are bounded here, before
validation and canonicalisation: RDFC-1.0 and SHACL both get slow on many blank nodes that
look alike, and the registry replaces every one by a minted IRI anyway.

>>> from registry.submissions.formats import Parsed
>>> p = ox.NamedNode("http://p")
>>> two = Parsed("x", "turtle", [ox.Triple(ox.BlankNode(), p, ox.BlankNode())])
>>> check_blank_nodes(two, 1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
registry.base.errors.TooManyBlankNodes: x has more than 1 blank node(s); ...
"""

from __future__ import annotations

import pyoxigraph as ox

from registry.base.errors import TooManyBlankNodes
from registry.submissions.formats import Parsed


def check_blank_nodes(parsed: Parsed, limit: int) -> None:
    """Raises TooManyBlankNodes if the submission has more than ``limit`` distinct blank nodes."""
    seen: set[ox.BlankNode] = set()
    for t in parsed.triples:
        for node in (t.subject, t.object):
            if isinstance(node, ox.BlankNode):
                seen.add(node)
        if len(seen) > limit:
            raise TooManyBlankNodes(
                f"{parsed.source} has more than {limit} blank node(s); give records and their "
                "parts IDs, or split the submission",
                limit=limit,
            )
