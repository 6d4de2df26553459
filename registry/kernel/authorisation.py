"""Who may do what: the registry's authorisation model, written as data.

:data:`registry.kernel.authorisation_rules.RULES` holds one ``Rule`` per action: which
principals may do it, by role, by scope, and by relation to the record
(``registry.trust.control``: owner, current operator, asset owner, scheme operator).
:func:`authorise` is the one function that applies it; the HTTP layer applies the role and
scope part of the rule of every operation before its handler runs (``api.authorisation``), and
the domain functions apply the whole rule (relation included) so
that every interface is held to it. ``docs/authorisation.md`` prints the table.

The status of the requester is not a column: a certificate of an organisation that is not
verified (applied, suspended, revoked) is refused before any rule is looked at (401,
``registry.trust.authentication``).

:data:`VERIFIED_FACTS` are the statements only the scheme operator's (or a market's) own actions
make: an organisation submitting a different value in its own PUT or POST is refused, and an
update that leaves them out keeps the current ones.

>>> from registry.base.identity import FSP, Principal
>>> from registry.kernel.authorisation_rules import ASSETS_WRITE
>>> fsp = Principal("https://r.example/id/org/1", frozenset({FSP}), frozenset({ASSETS_WRITE}))
>>> authorise(fsp, "asset.register")
'https://r.example/id/org/1'
>>> authorise(Principal("https://r.example/id/org/1", frozenset({FSP})), "asset.register")
Traceback (most recent call last):
...
registry.base.errors.Forbidden: asset.register needs the scope assets-write, ...
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import Forbidden, Unauthenticated
from registry.base.identity import Principal
from registry.base.vocab import FDI, RDF
from registry.kernel.authorisation_rules import ANYONE, MEMBER, RULES


def authorise(
    principal: Principal, action: str, relations: Iterable[str] | None = ()
) -> str | None:
    """The requester's organisation, if :data:`RULES` lets ``principal`` do ``action``
    standing in ``relations`` to the record (None: the record is not known yet, and its
    relation is checked where it is).

    Raises Unauthenticated (a member action without a certificate) or Forbidden (role, scope or
    relation missing: the message says which)."""
    rule = RULES[action]
    if not principal.authenticated:
        if rule.anonymous:
            return None
        raise Unauthenticated("this needs a client certificate issued by the registry")
    roles = rule.who - {ANYONE, MEMBER}
    if roles and not roles & principal.roles:
        raise Forbidden(f"{action} needs one of the roles {_names(roles)}")
    if rule.scopes and not principal.is_scheme_operator and not rule.scopes & principal.scopes:
        raise Forbidden(
            f"{action} needs the scope {' or '.join(_names(rule.scopes).split(', '))}, "
            "which the certificate presented does not carry"
        )
    if relations is not None and rule.relations and not rule.relations & set(relations):
        raise Forbidden(
            f"{action} is for the record's {' or '.join(sorted(rule.relations))}; "
            f"the requester is {', '.join(sorted(set(relations))) or 'none of them'}"
        )
    return principal.organisation


def _names(iris: Iterable[str]) -> str:
    return ", ".join(sorted(i.rsplit("#", 1)[-1].removeprefix("scope-") for i in iris))


# --- verified facts ----------------------------------------------------------------------

_BY_OPERATOR = "the scheme operator's own actions (verify, suspend, reinstate, revoke)"
VERIFIED_FACTS: dict[str, dict[ox.NamedNode, str]] = {
    FDI.Organisation.value: {
        FDI.organisationStatus: _BY_OPERATOR,
        FDI.statusReason: _BY_OPERATOR,
        FDI.assuranceLevel: "the scheme operator's verification",
        FDI.marketRole: "the scheme memberships the scheme operator grants",
        FDI.companyNumber: "the verified application (one organisation, one ID)",
        FDI.lei: "the verified application (one organisation, one ID)",
    },
    FDI.FlexibleAsset.value: {
        FDI.registeredIn: "a market operator's attestation (POST /id/asset/{id}/attestations)",
    },
}


def keep_verified_facts(
    record_type: str,
    subject: rdf.Subject,
    submitted: list[ox.Triple],
    current: list[ox.Triple],
) -> list[ox.Triple]:
    """``submitted`` with the verified facts of ``subject`` as they stand in ``current``.

    A submission may repeat the current values or leave them out; one that states any other
    value of a verified fact is refused. Raises Forbidden naming the fact and who sets it."""
    facts = VERIFIED_FACTS.get(record_type, {})
    if not facts:
        return submitted
    for predicate, by in facts.items():
        given = {t.object for t in submitted if t.subject == subject and t.predicate == predicate}
        now = {t.object for t in current if t.subject == subject and t.predicate == predicate}
        if given and given != now:
            name = predicate.value.rsplit("#", 1)[-1]
            raise Forbidden(
                f"{name} is a verified fact, not a claim: it is set by {by}, never by the "
                f"organisation's own submission (it stands at "
                f"{', '.join(sorted(_short(o) for o in now)) or 'nothing'})",
                field=predicate.value,
            )
    kept = [t for t in submitted if not (t.subject == subject and t.predicate in facts)]
    return kept + [t for t in current if t.subject == subject and t.predicate in facts]


def _short(term: rdf.Term) -> str:
    return rdf.value(term).rsplit("#", 1)[-1]


def refuse_verified_facts(triples: list[ox.Triple]) -> None:
    """Refuse a submission of new records that states a verified fact about any of them (one
    pass over the triples, for bulk files). Raises Forbidden."""
    types = {t.subject: rdf.value(t.object) for t in triples if t.predicate == RDF.type}
    for t in triples:
        facts = VERIFIED_FACTS.get(types.get(t.subject, ""), {})
        if t.predicate in facts:
            keep_verified_facts(types[t.subject], t.subject, [t], [])


def table() -> str:
    """:data:`RULES` as a Markdown table (docs/authorisation.md prints it; a test keeps the
    two equal)."""
    lines = [
        "| action | who | scope (any one) | relation to the record (any one) | what |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES.values():
        who = ", ".join(sorted(w if w in (ANYONE, MEMBER) else _names([w]) for w in rule.who))
        lines.append(
            f"| `{rule.action}` | {who} | {_names(rule.scopes) or '-'} | "
            f"{', '.join(sorted(rule.relations)) or '-'} | {rule.description} |"
        )
    return "\n".join(lines) + "\n"
