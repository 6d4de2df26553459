"""The registry's errors: one hierarchy, each class carrying its HTTP status.

The interfaces render them once (RFC 9457 problem details over HTTP, a message and an exit code
on the command line); the domain raises them and never formats responses.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Base class. ``status`` is the HTTP status; ``detail`` says what is wrong and where."""

    status = 500
    title = "Registry error"
    type_slug = "registry-error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class UnusableInput(RegistryError):
    """The input cannot be read: unreadable file, syntax error, unsupported format."""

    status = 400
    title = "Unusable input"
    type_slug = "unusable-input"


class UnsupportedFormat(UnusableInput):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-format"


class PayloadTooLarge(UnusableInput):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class NotAcceptable(RegistryError):
    """None of the media types the request accepts is one this resource is offered in; the
    problem lists the ``offered`` types."""

    status = 406
    title = "Not acceptable"
    type_slug = "not-acceptable"


class ValidationFailed(RegistryError):
    """The submission breaks one or more published rules; ``report`` lists them."""

    status = 422
    title = "Submission does not conform to the registry's rules"
    type_slug = "validation-failed"

    def __init__(self, detail: str, report: Any) -> None:
        super().__init__(detail)
        self.report = report


class InvalidRequest(UnusableInput):
    """A parameter or JSON body does not match the API (``errors`` says which, and why)."""

    status = 422
    title = "Invalid request"
    type_slug = "invalid-request"


class ProtocolError(RegistryError):
    """An HTTP-level refusal (no such route, method not allowed, an unreadable body); the
    status is the one HTTP gives."""

    type_slug = "http-error"

    def __init__(self, detail: str, status: int, title: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title


class Gone(RegistryError):
    """What was here has been removed on purpose (a change-feed page past retention)."""

    status = 410
    title = "Gone"
    type_slug = "gone"


class NotFound(RegistryError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Unauthenticated(RegistryError):
    """The request needs a client certificate (or token) and came without a valid one."""

    status = 401
    title = "Authentication required"
    type_slug = "unauthenticated"


class InvalidToken(Unauthenticated):
    """An access token the registry will not accept (RFC 6750 section 3.1): expired, for another
    audience, bound to another certificate, or sent where tokens are refused. ``challenge`` is
    the ``WWW-Authenticate`` header the refusal carries."""

    title = "Invalid access token"
    type_slug = "invalid-token"

    def __init__(self, detail: str, error: str = "invalid_token") -> None:
        super().__init__(detail)
        described = detail.replace("\\", "").replace('"', "'")
        self.challenge = f'Bearer error="{error}", error_description="{described}"'
        if error == "invalid_request":
            self.status = 400


class Forbidden(RegistryError):
    """The requester is known but its roles or scopes do not allow this."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class Conflict(RegistryError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class QueryRefused(RegistryError):
    """A SPARQL request that the endpoint will not run (malformed, updates, unsafe features)."""

    status = 400
    title = "Query refused"
    type_slug = "query-refused"


class QueryTimeout(RegistryError):
    status = 503
    title = "Query time limit reached"
    type_slug = "query-timeout"


class QueryCapacity(RegistryError):
    """Every query worker is busy (with other requesters' queries); try again shortly."""

    status = 503
    title = "Query capacity reached"
    type_slug = "query-capacity"


class QueryFailed(RegistryError):
    """The query stopped with an error while running (a peer failing, a worker lost)."""

    status = 502
    title = "Query failed"
    type_slug = "query-failed"


class StoreUnavailable(RegistryError):
    """The external SPARQL store did not answer, or answered with an error."""

    status = 503
    title = "Store unavailable"
    type_slug = "store-unavailable"


class JournalCorrupt(RegistryError):
    """The journal's hash chain is broken; ``seq`` names the first bad entry."""

    status = 500
    title = "Journal corrupt"
    type_slug = "journal-corrupt"


class DerivedStateTampered(RegistryError):
    """The register disagrees with the journal about records authentication relies on (a
    table edited outside the registry); ``differences`` names them."""

    status = 500
    title = "Derived state does not match the journal"
    type_slug = "derived-state-tampered"


class DuplicateAsset(Conflict):
    """The asset is registered already; ``existing`` points at its record."""

    title = "Asset already registered"
    type_slug = "duplicate-asset"


class ConflictingRight(Conflict):
    """Another right to operate the asset overlaps the period claimed."""

    title = "Conflicting right to operate"
    type_slug = "conflicting-right-to-operate"


class DuplicateOrganisation(Conflict):
    """An organisation with the same legal identifier has an ID already; ``existing`` is it."""

    title = "Organisation already registered"
    type_slug = "duplicate-organisation"


class InvalidTransition(Conflict):
    """The record's status does not allow this change (``status`` is where it stands)."""

    title = "Not allowed in the record's current status"
    type_slug = "invalid-transition"


class PreconditionFailed(RegistryError):
    """``If-Match`` names a version that is no longer current."""

    status = 412
    title = "Precondition failed"
    type_slug = "precondition-failed"


class PreconditionRequired(RegistryError):
    """An update came without ``If-Match``."""

    status = 428
    title = "Precondition required"
    type_slug = "precondition-required"


class TooManyBlankNodes(PayloadTooLarge):
    """A submission has more blank nodes than ``settings.max_blank_nodes``."""

    title = "Too many blank nodes"
    type_slug = "too-many-blank-nodes"


class IdempotencyKeyReused(RegistryError):
    """An ``Idempotency-Key`` was used before for a different request."""

    status = 422
    title = "Idempotency key reused for another request"
    type_slug = "idempotency-key-reused"


class BadSignature(RegistryError):
    """A receipt or checkpoint whose signature does not verify against the published keys."""

    status = 400
    title = "Bad signature"
    type_slug = "bad-signature"


class RecordMismatch(RegistryError):
    """A record's content is not what a receipt says was stored."""

    status = 409
    title = "Record does not match the receipt"
    type_slug = "record-mismatch"


class ProposalRefused(RegistryError):
    """A rules proposal fails its checks (well-formed SHACL, every new term labelled and
    defined, only the proposer's own terms and namespaces); ``problems`` names each term."""

    status = 422
    title = "Proposal refused"
    type_slug = "proposal-refused"


class NotCaughtUp(RegistryError):
    """A read asked for a journal sequence (``FDI-Min-Sequence``) this replica has not applied
    within ``catch_up_wait``; ``applied`` is the one it has. Retry shortly, here or elsewhere."""

    status = 503
    title = "Not caught up with the journal yet"
    type_slug = "not-caught-up"


class JournalUnavailable(RegistryError):
    """The journal's database (PostgreSQL, ``FDI_JOURNAL_URL``) cannot be reached."""

    status = 503
    title = "Journal unavailable"
    type_slug = "journal-unavailable"


class InternalError(RegistryError):
    """Something the registry did not expect went wrong while answering; the details are in
    the server's log under the request's ID (never in the answer)."""

    status = 500
    title = "Internal server error"
    type_slug = "internal-error"
