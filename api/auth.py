"""Who is asking: the FastAPI dependency that gives every handler its Principal.

Authentication middleware (client certificates) sets ``request.state.principal``; without it
the requester is anonymous. Tests override ``current_principal`` to inject an identity.
"""

from __future__ import annotations

from fastapi import Request

from registry.identity import Principal


def current_principal(request: Request) -> Principal:
    """The authenticated principal of this request, or the anonymous one."""
    return getattr(request.state, "principal", None) or Principal.anonymous()
