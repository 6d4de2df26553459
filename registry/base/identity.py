"""Who is asking: the principal every request and every journal entry is attributed to.

A principal is an organisation (its registry IRI) acting through an application whose client
certificate carries the organisation's roles and scopes, or a person acting for it, or nobody
(anonymous). The scheme operator is the organisation holding the ``SchemeOperator`` role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.base.vocab import FDI

SCHEME_OPERATOR = FDI.SchemeOperator.value
FSP = FDI.FlexibilityServiceProvider.value
MARKET_OPERATOR = FDI.MarketOperator.value


@dataclass(frozen=True)
class Principal:
    """An authenticated (or anonymous) requester.

    >>> Principal.anonymous().actor
    'anonymous'
    >>> Principal("https://r.example/id/org/1", frozenset({FSP})).has_role(FSP)
    True
    """

    organisation: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    user: str | None = None
    certificate_serial: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(None)

    @property
    def authenticated(self) -> bool:
        return self.organisation is not None

    @property
    def actor(self) -> str:
        """How journal entries name this principal."""
        if self.organisation is None:
            return "anonymous"
        return self.organisation + (f"#user={self.user}" if self.user else "")

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_scheme_operator(self) -> bool:
        return SCHEME_OPERATOR in self.roles
