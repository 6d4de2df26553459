"""What a member may do: the role and scope checks the domain functions make themselves.

The HTTP layer has the same checks as dependencies (``api.auth.require_role``,
``require_scope``); the domain repeats them so that every interface (HTTP, CLI, a script
calling the registry) is held to the same rules.

>>> from registry.base.identity import FSP, Principal
>>> p = Principal("https://r.example/id/org/1", frozenset({FSP}), frozenset({SCOPE_COMMERCIAL}))
>>> require(p, role=FSP, scope=SCOPE_COMMERCIAL)
'https://r.example/id/org/1'
"""

from __future__ import annotations

from registry.base.errors import Forbidden, Unauthenticated
from registry.base.identity import Principal
from registry.base.vocab import FDI

SCOPE_COMMERCIAL = FDI["scope-commercial-write"].value
SCOPE_AGREEMENTS = FDI["scope-agreements-write"].value
SCOPE_MESSAGES = FDI["scope-messages-send"].value


def require(
    principal: Principal | None, *, role: str | None = None, scope: str | None = None
) -> str:
    """The requester's organisation, if it holds ``role`` and ``scope``.

    Raises Unauthenticated (no organisation) or Forbidden (role or scope missing)."""
    if principal is None or principal.organisation is None:
        raise Unauthenticated("this needs a client certificate issued by the registry")
    if role is not None and role not in principal.roles:
        raise Forbidden(
            f"this needs the role {_name(role)}, which the certificate presented does not carry"
        )
    if scope is not None and scope not in principal.scopes:
        raise Forbidden(
            f"this needs the scope {_name(scope)}, which the certificate presented does not carry"
        )
    return principal.organisation


def _name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].removeprefix("scope-")
