"""People: the users who act for an organisation, and their user roles.

An organisation's administrators add people, change their roles and remove them (a removed
person keeps their record, with status ``removed``, and their certificates are revoked). The
first administrator is named in the organisation's application. User roles:

- ``Administrator``: manages the organisation's users, certificates, memberships and agreements;
- ``Editor``: submits and changes the organisation's records;
- ``Viewer``: reads the organisation's own records and what is shared with it.

User records live in the organisation's own graph: other organisations do not see them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import Conflict, Forbidden, Unauthenticated, UnusableInput
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.vocab import DCT, FDI, RDF, VCARD
from registry.kernel.lifecycle import (
    content,
    objects,
    owned,
    record_of,
    replace,
    require_status,
    restatus,
    status_word,
    text,
    timestamp,
    uid,
)
from registry.submissions.records import mint
from registry.trust import certificates
from registry.trust.schemes import name_of, terms

if TYPE_CHECKING:
    from registry.kernel.core import RecordInfo, Registry, Transaction

USER = FDI.OrganisationUser
ADMINISTRATOR = FDI.Administrator.value
EDITOR = FDI.Editor.value
VIEWER = FDI.Viewer.value
USER_ROLES = (ADMINISTRATOR, EDITOR, VIEWER)
_EMAIL = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")  # as the shape fdish:User-email


def require_admin(principal: Principal, org: str | None, *, operator_may: bool = True) -> str:
    """The organisation, if ``principal`` is one of its administrators (or, unless
    ``operator_may`` is False, the scheme operator). Raises Unauthenticated or Forbidden."""
    if not principal.authenticated:
        raise Unauthenticated("this needs a client certificate of the organisation's administrator")
    if operator_may and SCHEME_OPERATOR in principal.roles and org:
        return org
    if org is None or principal.organisation != org or ADMINISTRATOR not in principal.roles:
        raise Forbidden(f"only an administrator of {org} may do this")
    return org


def stage_user(
    tx: Transaction,
    registry: Registry,
    org: str,
    name: str | None,
    email: str,
    roles: list[str],
    *,
    csr: str | None = None,
    iri: ox.NamedNode | None = None,
) -> ox.NamedNode:
    """Put a new active user into ``tx`` (with a certificate request waiting, if given).
    Raises UnusableInput for an email address that is not one."""
    if not _EMAIL.match(mailto(email)):
        raise UnusableInput(f"{email!r} is not an email address")
    iri = iri or mint(registry.settings.base_iri, "user")
    triples = [
        ox.Triple(iri, RDF.type, USER),
        ox.Triple(iri, FDI.userOf, ox.NamedNode(org)),
        ox.Triple(iri, VCARD.hasEmail, ox.NamedNode(mailto(email))),
        ox.Triple(iri, FDI.userStatus, FDI.Active),
        ox.Triple(iri, DCT.created, timestamp()),
        *(ox.Triple(iri, FDI.userRole, ox.NamedNode(r)) for r in sorted(roles)),
    ]
    if name:
        triples.append(ox.Triple(iri, VCARD.fn, ox.Literal(name)))
    if csr:
        triples.append(ox.Triple(iri, FDI.certificateRequest, ox.Literal(csr)))
    tx.put(iri, USER, triples, status="active", owner=org)
    return iri


def add_user(
    registry: Registry,
    principal: Principal,
    org: str,
    name: str | None,
    email: str,
    roles: list[str],
) -> dict[str, Any]:
    """An administrator adds a person. Raises Forbidden, UnusableInput, Conflict (the email is
    in use by an active user of the organisation)."""
    require_admin(principal, org)
    wanted = user_roles(roles)
    with registry.transaction(principal.actor, "user-add") as tx:
        for other in users_of(registry, org):
            if other["status"] == "active" and other["email"] == mailto(email):
                raise Conflict(f"{email} is a user of {org} already", existing=other["id"])
        iri = stage_user(tx, registry, org, name, email, wanted)
    return user(registry, iri.value)


def set_roles(
    registry: Registry, principal: Principal, org: str, iri: str, roles: list[str]
) -> dict[str, Any]:
    """An administrator changes a person's roles; certificates claiming a role taken away are
    revoked. Raises Forbidden, NotFound, UnusableInput, InvalidTransition, Conflict (the last
    administrator would be left without the role)."""
    require_admin(principal, org)
    wanted = user_roles(roles)
    with registry.transaction(principal.actor, "user-roles") as tx:
        info = _own_user(registry, org, iri)
        require_status(info, ("active",), "change the roles of", "user")
        triples = content(registry, iri)
        node = ox.NamedNode(iri)
        dropped = {rdf.value(t) for t in objects(triples, node, FDI.userRole)} - set(wanted)
        if ADMINISTRATOR in dropped:
            _keep_an_administrator(registry, org, iri)
        triples = replace(triples, node, FDI.userRole, [ox.NamedNode(r) for r in wanted])
        triples = replace(triples, node, DCT.modified, [timestamp()])
        tx.put(node, USER, triples)
        if dropped:
            certificates.revoke_all(
                tx, registry, org, "user role withdrawn", user=iri, claims=dropped
            )
    return user(registry, iri)


def remove_user(
    registry: Registry, principal: Principal, org: str, iri: str, reason: str | None = None
) -> dict[str, Any]:
    """An administrator removes a person (the record stays, status ``removed``); their
    certificates are revoked. Raises Forbidden, NotFound, InvalidTransition, Conflict."""
    require_admin(principal, org)
    with registry.transaction(principal.actor, "user-remove") as tx:
        info = _own_user(registry, org, iri)
        require_status(info, ("active",), "remove", "user")
        triples = content(registry, iri)
        if ADMINISTRATOR in {
            rdf.value(t) for t in objects(triples, ox.NamedNode(iri), FDI.userRole)
        }:
            _keep_an_administrator(registry, org, iri)
        triples = replace(triples, ox.NamedNode(iri), FDI.certificateRequest, [])
        restatus(
            tx, info, triples, FDI.userStatus, "removed", reason or "removed by an administrator"
        )
        certificates.revoke_all(tx, registry, org, "user removed", user=iri)
    return user(registry, iri)


def list_users(registry: Registry, principal: Principal, org: str) -> list[dict[str, Any]]:
    require_admin(principal, org)
    return users_of(registry, org)


def users_of(registry: Registry, org: str) -> list[dict[str, Any]]:
    return [user(registry, i.iri) for i in owned(registry, org, USER)]


def user(registry: Registry, iri: str) -> dict[str, Any]:

    info = record_of(registry, iri, USER, "user")
    triples = content(registry, iri)
    node = ox.NamedNode(iri)
    return {
        "id": iri,
        "href": (
            f"{registry.settings.base_iri}organisations/{uid(info.owner or '')}/users/{uid(iri)}"
        ),
        "organisation": info.owner,
        "name": text(triples, node, VCARD.fn),
        "email": text(triples, node, VCARD.hasEmail),
        "roles": sorted(name_of(rdf.value(t)) for t in objects(triples, node, FDI.userRole)),
        "status": info.status,
        "certificateRequested": text(triples, node, FDI.certificateRequest) is not None,
    }


def user_roles(names: list[str]) -> list[str]:
    """User role IRIs for names or IRIs. Raises UnusableInput."""

    found = terms(names, USER_ROLES, "user role")
    if not found:
        raise UnusableInput("give at least one role: Administrator, Editor or Viewer")
    return found


def roles_held(registry: Registry, iri: str, org: str) -> set[str]:
    """The user roles a person holds now (none unless they are an active user of ``org``)."""
    info = registry.info(iri)
    if info is None or info.type != USER.value or info.owner != org or info.status != "active":
        return set()
    node = ox.NamedNode(iri)
    triples = content(registry, iri)
    if status_word(next(iter(objects(triples, node, FDI.userStatus)), None)) != "active":
        return set()
    return {rdf.value(t) for t in objects(triples, node, FDI.userRole)}


def mailto(email: str) -> str:
    """``mailto:`` IRI for an address.

    >>> mailto(" Flex@Example.org "), mailto("mailto:a@b.c")
    ('mailto:Flex@Example.org', 'mailto:a@b.c')
    """
    email = email.strip()
    return email if email.startswith("mailto:") else "mailto:" + email


def _own_user(registry: Registry, org: str, iri: str) -> RecordInfo:
    info = record_of(registry, iri, USER, "user")
    if info.owner != org:
        raise Forbidden(f"{iri} is not a user of {org}")
    return info


def _keep_an_administrator(registry: Registry, org: str, leaving: str) -> None:
    others = [
        u
        for u in users_of(registry, org)
        if u["id"] != leaving and u["status"] == "active" and "Administrator" in u["roles"]
    ]
    if not others:
        raise Conflict(f"{leaving} is the last administrator of {org}; add another first")
