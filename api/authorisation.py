"""The authorisation gate: every HTTP operation's rule, applied before its handler runs.

:data:`OPERATIONS` names, for each operation of the OpenAPI document (method and path
template), the action of ``registry.kernel.authorisation_rules.RULES`` it performs and, when
the action is about one record, where the record's IRI comes from (a template over the path
parameters).
:func:`gate` is a dependency of the whole application: it finds the operation, works out how the
requester stands to the record (``registry.trust.control.relations``) and applies the rule. An
operation missing from the map is refused (403): a new route cannot be open by accident, and
``tests/test_authorisation_matrix.py`` fails until it is listed.

Where the record decides the action (``PUT /id/{kind}/{uid}`` of an asset, a right to
operate, or another record), ``action`` is a mapping from record type to action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from registry.base.errors import Forbidden
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.kernel.authorisation import authorise
from registry.trust.control import relations


@dataclass(frozen=True)
class Operation:
    """What one HTTP operation does: its action (or actions by record type) and its record."""

    action: str
    record: str | None = None  # e.g. "id/org/{uid}": the record IRI under the base
    by_type: dict[str, str] = field(default_factory=dict)

    def action_for(self, record_type: str | None) -> str:
        return self.by_type.get(record_type or "", self.action)


_UPDATE_BY_TYPE = {
    FDI.FlexibleAsset.value: "asset.update",
    FDI.RightToOperate.value: "right.update",
}
_PUBLIC = Operation("public.read")
_READ = Operation("record.read")
_OPERATOR = Operation("scheme.administer")
_LISTS = Operation("reads.list")
_OAUTH = Operation("oauth.protocol")
_ME = Operation("member.pages")
_ORG_ADMIN = Operation("organisation.administer", "id/org/{uid}")
_WEBHOOKS = Operation("webhook.manage", "id/org/{uid}")

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/"): _PUBLIC,
    ("GET", "/sparql"): _READ,
    ("POST", "/sparql"): _READ,
    ("GET", "/id/{kind}/{uid}"): _READ,
    ("PUT", "/id/{kind}/{uid}"): Operation("record.update", "id/{kind}/{uid}", _UPDATE_BY_TYPE),
    ("GET", "/ns"): _PUBLIC,
    ("GET", "/shapes"): _PUBLIC,
    ("GET", "/ns/context.jsonld"): _PUBLIC,
    ("POST", "/validate"): _PUBLIC,
    ("POST", "/submissions"): Operation("submission.register"),
    ("POST", "/assets"): Operation("asset.register"),
    ("GET", "/.well-known/jwks.json"): _PUBLIC,
    ("GET", "/journal/checkpoints"): _PUBLIC,
    ("GET", "/feed/public"): _PUBLIC,
    ("GET", "/feed/public/{page}"): _PUBLIC,
    ("GET", "/feed/shared/{uid}"): Operation("feed.shared", "id/org/{uid}"),
    ("GET", "/feed/shared/{uid}/{page}"): Operation("feed.shared", "id/org/{uid}"),
    ("GET", "/journal/checkpoints/latest"): _PUBLIC,
    ("GET", "/audit"): _LISTS,
    ("POST", "/organisations"): Operation("organisation.apply"),
    ("GET", "/organisations/{uid}"): _PUBLIC,
    ("POST", "/organisations/{uid}/verify"): _OPERATOR,
    ("POST", "/organisations/{uid}/reject"): _OPERATOR,
    ("POST", "/organisations/{uid}/suspend"): _OPERATOR,
    ("POST", "/organisations/{uid}/reinstate"): _OPERATOR,
    ("POST", "/organisations/{uid}/revoke"): _OPERATOR,
    ("POST", "/erasures"): Operation("personal-data.erase"),
    ("GET", "/erasures"): Operation("personal-data.erase"),
    ("GET", "/schemes"): _PUBLIC,
    ("GET", "/schemes/{slug}"): _PUBLIC,
    ("GET", "/schemes/{slug}/agreement"): _PUBLIC,
    ("GET", "/schemes/{slug}/agreements/{version}"): _PUBLIC,
    ("POST", "/schemes/{slug}/memberships"): Operation("membership.request"),
    ("GET", "/memberships/{uid}"): _PUBLIC,
    ("POST", "/memberships/{uid}/grant"): _OPERATOR,
    ("POST", "/memberships/{uid}/accept"): Operation("membership.accept", "id/membership/{uid}"),
    ("POST", "/memberships/{uid}/refuse"): _OPERATOR,
    ("POST", "/memberships/{uid}/suspend"): _OPERATOR,
    ("POST", "/memberships/{uid}/reinstate"): _OPERATOR,
    ("POST", "/memberships/{uid}/revoke"): _OPERATOR,
    ("GET", "/organisations/{uid}/users"): _ORG_ADMIN,
    ("POST", "/organisations/{uid}/users"): _ORG_ADMIN,
    ("PUT", "/organisations/{uid}/users/{user}/roles"): _ORG_ADMIN,
    ("DELETE", "/organisations/{uid}/users/{user}"): _ORG_ADMIN,
    ("GET", "/ca/certificate"): _PUBLIC,
    ("GET", "/ca/crl"): _PUBLIC,
    ("POST", "/organisations/{uid}/certificates"): _ORG_ADMIN,
    ("GET", "/organisations/{uid}/certificates"): _ORG_ADMIN,
    ("GET", "/certificates/{serial}"): _PUBLIC,
    ("POST", "/certificates/{serial}/revoke"): Operation(
        "organisation.administer", "id/certificate/{serial}"
    ),
    ("GET", "/whoami"): _PUBLIC,
    ("POST", "/rights-to-operate"): Operation("right.claim"),
    ("POST", "/jobs"): Operation("asset.register"),
    ("GET", "/jobs/{job_id}"): _LISTS,
    ("GET", "/id/{kind}/{uid}/versions"): _READ,
    ("GET", "/id/{kind}/{uid}/versions/{number}"): _READ,
    ("GET", "/id/{kind}/{uid}/as-of"): _READ,
    ("GET", "/reads"): _LISTS,
    ("POST", "/id/asset/{uid}/attestations"): Operation("attestation.make"),
    ("GET", "/id/asset/{uid}/assurance"): _READ,
    ("GET", "/id/asset/{uid}/signpost"): _READ,
    ("GET", "/claims/{uid}"): Operation("claim.read", "id/claim/{uid}"),
    ("POST", "/claims/{uid}/confirm"): Operation("claim.decide", "id/claim/{uid}"),
    ("POST", "/claims/{uid}/contest"): Operation("claim.decide", "id/claim/{uid}"),
    ("GET", "/disputes"): _LISTS,
    ("GET", "/catalogue"): _PUBLIC,
    ("POST", "/catalogues"): Operation("catalogue.publish"),
    ("PUT", "/catalogues/{uid}"): Operation("catalogue.update", "id/catalogue/{uid}"),
    ("GET", "/lookup"): _PUBLIC,
    ("POST", "/id/{kind}/{uid}/same-as"): Operation(
        "record.update", "id/{kind}/{uid}", _UPDATE_BY_TYPE
    ),
    ("GET", "/graph/{path}"): _PUBLIC,
    ("GET", "/ns/{name}"): _PUBLIC,
    ("GET", "/shapes/{name}"): _PUBLIC,
    ("GET", "/ns/diff"): _PUBLIC,
    ("GET", "/technology/{name}"): _PUBLIC,
    ("GET", "/shapes/{version}/{name}"): _PUBLIC,
    ("POST", "/commercial-information"): Operation("commercial.write"),
    ("PUT", "/commercial-information"): Operation("commercial.write"),
    ("GET", "/commercial-information"): _LISTS,
    ("POST", "/commercial-information/check"): _PUBLIC,
    ("GET", "/signpost"): _PUBLIC,
    ("GET", "/shapes/market/{slug}"): _PUBLIC,
    ("GET", "/agreements"): _LISTS,
    ("POST", "/agreements"): Operation("agreement.make"),
    ("POST", "/agreements/{uid}/withdraw"): Operation("agreement.withdraw", "id/agreement/{uid}"),
    ("GET", "/shared-with-me"): _LISTS,
    ("GET", "/directory"): _PUBLIC,
    ("GET", "/directory/export"): _PUBLIC,
    ("GET", "/licences"): _PUBLIC,
    ("POST", "/licences"): _OPERATOR,
    ("GET", "/id/org/{uid}/inbox"): Operation("inbox.read", "id/org/{uid}"),
    ("POST", "/id/org/{uid}/inbox"): Operation("message.send", "id/org/{uid}"),
    ("GET", "/id/org/{uid}/inbox/{number}"): Operation("inbox.read", "id/org/{uid}"),
    ("POST", "/id/org/{uid}/inbox/{number}/acknowledgement"): Operation(
        "inbox.read", "id/org/{uid}"
    ),
    ("GET", "/id/org/{uid}/webhooks"): _WEBHOOKS,
    ("POST", "/id/org/{uid}/webhooks"): _WEBHOOKS,
    ("GET", "/id/org/{uid}/webhooks/{hook}"): _WEBHOOKS,
    ("DELETE", "/id/org/{uid}/webhooks/{hook}"): _WEBHOOKS,
    ("GET", "/id/org/{uid}/webhooks/{hook}/deliveries"): _WEBHOOKS,
    ("POST", "/notifications/certificate-reminders"): _OPERATOR,
    ("GET", "/statistics"): _PUBLIC,
    ("GET", "/refusals"): _OPERATOR,
    ("GET", "/directory/endpoints"): _PUBLIC,
    ("GET", "/id/endpoint/{uid}/history"): _PUBLIC,
    ("POST", "/directory/endpoints/check"): Operation("monitoring.run"),
    ("POST", "/cases"): Operation("case.raise"),
    ("GET", "/cases"): Operation("case.raise"),
    ("GET", "/cases/{uid}"): Operation("case.handle"),
    ("POST", "/cases/{uid}/{step}"): Operation("case.handle"),
    ("POST", "/proposals"): Operation("proposal.submit"),
    ("GET", "/proposals"): _PUBLIC,
    ("GET", "/proposals/{uid}"): _PUBLIC,
    ("GET", "/proposals/{uid}/impact"): _PUBLIC,
    ("GET", "/proposals/{uid}/inbox"): _PUBLIC,
    ("POST", "/proposals/{uid}/inbox"): Operation("proposal.comment"),
    ("POST", "/proposals/{uid}/adoption"): Operation("proposal.adopt"),
    ("GET", "/rules"): _PUBLIC,
    ("GET", "/rules/{version}"): _PUBLIC,
    ("GET", "/rules/{version}/{name}"): _PUBLIC,
    ("GET", "/.well-known/oauth-authorization-server"): _OAUTH,
    ("GET", "/.well-known/openid-configuration"): _OAUTH,
    ("GET", "/oauth/jwks"): _OAUTH,
    ("POST", "/oauth/par"): _OAUTH,
    ("GET", "/oauth/authorize"): Operation("oauth.approve"),
    ("POST", "/oauth/authorize"): Operation("oauth.approve"),
    ("POST", "/oauth/token"): _OAUTH,
    ("POST", "/oauth/introspect"): _OAUTH,
    ("GET", "/search"): _READ,
    ("GET", "/assets"): _READ,
    ("GET", "/me"): _ME,
    ("GET", "/me/assets"): _ME,
    ("GET", "/me/reads"): _ME,
    ("GET", "/me/notifications"): _ME,
    ("GET", "/me/agreements"): _ME,
    ("GET", "/me/validate"): _ME,
    ("POST", "/me/validate"): _ME,
    # Swagger UI and its OAuth redirect page (not operations of the OpenAPI document)
    ("GET", "/docs"): _PUBLIC,
    ("GET", "/docs/oauth2-redirect"): _PUBLIC,
}


def operation_of(request: Request) -> Operation | None:
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    method = "GET" if request.method == "HEAD" else request.method
    return OPERATIONS.get((method, path or ""))


async def gate(request: Request, principal: Principal = Depends(current_principal)) -> None:
    """Apply the rule of the request's operation (a dependency of every route). A plain ``def``
    dependency costs a trip to the thread pool on every request; an operation on no particular
    record (``POST /submissions``, most reads) is a table lookup, checked here on the event loop,
    and only one on a stored record reads the registry, in the thread pool."""
    operation = operation_of(request)
    if operation is None:
        raise Forbidden(f"no authorisation rule covers {request.method} {request.url.path}")
    if operation.record is None:
        authorise(principal, operation.action_for(None), None)  # (no record: no relation)
        return
    await run_in_threadpool(_gate_record, request, operation, operation.record, principal)


def _gate_record(request: Request, operation: Operation, record: str, principal: Principal) -> None:
    registry = request.app.state.registry
    iri = registry.settings.base_iri + record.format(**request.path_params)
    info = registry.info(iri)
    action = operation.action_for(info.type if info else None)
    # An unknown record is the handler's 404; a known one is checked against the rule here.
    found = relations(registry, principal, iri) if info is not None else None
    authorise(principal, action, found)
