"""ActivityStreams 2.0 objects, built in one place: the notifications the registry puts in
inboxes (``Transaction.notify``) and the collections it serves.

>>> activity("Create", object="urn:x:1", summary="issued")  # doctest: +NORMALIZE_WHITESPACE
{'@context': 'https://www.w3.org/ns/activitystreams', 'type': 'Create', 'object': 'urn:x:1',
 'summary': 'issued'}
>>> notification("Announce", "https://r.example/id/org/1", None, "Hello")["actor"]
'https://r.example/id/org/1'
"""

from __future__ import annotations

from typing import Any

from registry.base.vocab import AS

# The JSON-LD context of ActivityStreams 2.0: the namespace without its "#".
AS_CONTEXT = AS.iri.removesuffix("#")


def activity(kind: str, /, **fields: Any) -> dict[str, Any]:
    """An ActivityStreams object of type ``kind`` with ``fields``, in the order given."""
    return {"@context": AS_CONTEXT, "type": kind, **fields}


def notification(
    kind: str, actor: str | None, obj: str | None, summary: str, **extra: Any
) -> dict[str, Any]:
    """An activity for ``Transaction.notify``: who did it (``actor``, kept even when None),
    what it is about (``obj``, left out when None), a one-line ``summary``, and ``extra``
    fields (which may override those)."""
    fields: dict[str, Any] = {"actor": actor, "summary": summary}
    if obj is not None:
        fields["object"] = obj
    return activity(kind, **{**fields, **extra})
