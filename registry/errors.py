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


class ValidationFailed(RegistryError):
    """The submission breaks one or more published rules; ``report`` lists them."""

    status = 422
    title = "Submission does not conform to the registry's rules"
    type_slug = "validation-failed"

    def __init__(self, detail: str, report: Any) -> None:
        super().__init__(detail)
        self.report = report


class NotFound(RegistryError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


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


class JournalCorrupt(RegistryError):
    """The journal's hash chain is broken; ``seq`` names the first bad entry."""

    status = 500
    title = "Journal corrupt"
    type_slug = "journal-corrupt"


class DuplicateAsset(Conflict):
    """The asset is registered already; ``existing`` points at its record."""

    title = "Asset already registered"
    type_slug = "duplicate-asset"


class ConflictingRight(Conflict):
    """Another right to operate the asset overlaps the period claimed."""

    title = "Conflicting right to operate"
    type_slug = "conflicting-right-to-operate"


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
