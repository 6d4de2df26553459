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

from functools import lru_cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import Forbidden, Unauthenticated
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.resources import ontology_dir, ttl_files
from registry.base.vocab import FDI
from registry.kernel.lifecycle import content, objects
from registry.trust.schemes import operator_iri

if TYPE_CHECKING:
    from registry.kernel.core import Registry

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


# Who may message whom (fdi:mayMessage in the ontology): the inbox and the record relations
# (registry.trust.control) both ask.
def may_message(sender_roles: frozenset[str] | set[str], recipient_roles: set[str]) -> bool:
    """Whether a member with ``sender_roles`` may post to one with ``recipient_roles``."""
    allowed = _may_message()
    return any(r in allowed.get(s, ()) for s in sender_roles for r in recipient_roles)


def roles_of(registry: Registry, organisation: str) -> set[str]:
    """The scheme roles an organisation holds now: those its record lists (kept equal to its
    active memberships' roles), plus the scheme operator's own role."""
    info = registry.info(organisation)
    if info is None or info.status != "verified":
        return set()
    roles = {
        rdf.value(t)
        for t in objects(
            content(registry, organisation), ox.NamedNode(organisation), FDI.marketRole
        )
    }
    if organisation == operator_iri(registry.settings.base_iri):
        roles.add(SCHEME_OPERATOR)
    return roles


@lru_cache(maxsize=1)
def _may_message() -> dict[str, frozenset[str]]:
    rules: dict[str, set[str]] = {}
    for path in ttl_files(ontology_dir()):
        for quad in ox.parse(path=path, format=ox.RdfFormat.TURTLE):
            if quad.predicate == FDI.mayMessage:
                rules.setdefault(quad.subject.value, set()).add(quad.object.value)
    return {k: frozenset(v) for k, v in rules.items()}
