"""Test helpers for the Trust Framework: onboarded organisations, their principals and clients
that present real client certificates.

    from tests.trust import Onboarding

    world = Onboarding.of(app)                   # an app from api.app.create_app
    fsp = world.member("Example Flex Ltd", "SC123456", roles=["FlexibilityServiceProvider"])
    mo = world.member("Example DSO plc", "01234567", roles=["DistributionSystemOperator"])
    fsp.principal          # Principal(org, roles, scopes) from its certificate
    world.client(fsp)      # TestClient presenting fsp's application certificate
    world.operator_client()                      # ... the scheme operator administrator's
    app.dependency_overrides[current_principal] = lambda: fsp.principal   # or inject directly

Onboarding runs the real domain functions (apply, verify, join, grant, accept the agreement,
issue a certificate from a CSR), so the principal is exactly what a real certificate gives.
``Onboarding.of_registry(registry)`` works without an app (no clients then), with the CA in
the registry's data directory (``Onboarding(registry, ca)`` for another).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from api.tls import with_client_certificate
from registry.assembly import Registry
from registry.base.identity import Principal
from registry.trust import memberships, operator, organisations
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import CertificateAuthority, new_key_and_csr
from registry.trust.certificates import pem as certificate_pem
from registry.trust.schemes import FDI_SCHEME


@dataclass
class Member:
    """An onboarded organisation: its IRI, an application certificate carrying every role and
    scope it holds, and its administrator's certificate."""

    iri: str
    certificate: str
    key: bytes
    principal: Principal
    admin_certificate: str
    admin_key: bytes
    admin_principal: Principal
    membership: str | None

    @property
    def uid(self) -> str:
        return self.iri.rsplit("/", 1)[-1]


class Onboarding:
    """Onboards organisations into one registry."""

    def __init__(self, registry: Registry, ca: CertificateAuthority, app: Any = None) -> None:
        self.registry = registry
        self.ca = ca
        self.app = app
        self.operator_key, issued = operator.admin_certificate(registry, ca)
        self.operator_certificate = issued.pem
        self.operator = authenticate(registry, ca, issued.pem)

    @classmethod
    def of(cls, app: Any) -> Onboarding:
        return cls(app.state.registry, app.state.ca, app)

    @classmethod
    def of_registry(cls, registry: Registry) -> Onboarding:
        """Onboarding into ``registry`` with the CA of its data directory (in memory without)."""
        return cls(registry, CertificateAuthority.open(registry.settings.data_dir))

    def apply(
        self,
        legal_name: str,
        company_number: str | None = None,
        lei: str | None = None,
        email: str | None = None,
    ) -> tuple[str, bytes]:
        """An application with a CSR for the administrator; returns the IRI and the admin key."""
        key, csr = new_key_and_csr(f"{legal_name} administrator")
        view = organisations.apply(
            self.registry,
            organisations.Application(
                legal_name=legal_name,
                company_number=company_number,
                lei=lei,
                contact_email=email or f"contact@{_slug(legal_name)}.example",
                csr=csr.decode(),
            ),
            Principal.anonymous(),
        )
        return view["id"], key

    def member(
        self,
        legal_name: str,
        company_number: str | None = None,
        lei: str | None = None,
        *,
        roles: list[str] | tuple[str, ...] = ("FlexibilityServiceProvider",),
        scopes: list[str] | None = None,
        accept: bool = True,
    ) -> Member:
        """Apply, verify, join the FDI scheme in ``roles``, grant (``scopes``: the scheme's
        defaults), accept the agreement and issue an application certificate."""
        iri, admin_key = self.apply(legal_name, company_number, lei)
        view = organisations.verify(self.registry, self.ca, self.operator, iri, "DocumentsChecked")
        admin_pem = certificate_pem(
            self.registry, view["administratorCertificates"][0].rsplit("/", 1)[-1]
        )
        admin = authenticate(self.registry, self.ca, admin_pem)
        membership = None
        if roles:
            membership = memberships.request_membership(
                self.registry, admin, FDI_SCHEME, list(roles)
            )["id"]
            memberships.grant(self.registry, self.operator, membership, list(roles), scopes)
            if accept:
                memberships.accept_agreement(self.registry, admin, membership)
        key, csr = new_key_and_csr(f"{legal_name} application")
        if roles and accept:
            issued = request_certificate(self.registry, self.ca, admin, iri, csr.decode())
            pem, principal = issued.pem, authenticate(self.registry, self.ca, issued.pem)
        else:
            pem, principal, key = admin_pem, admin, admin_key
        return Member(iri, pem, key, principal, admin_pem, admin_key, admin, membership)

    def client(self, who: Member | str, **kwargs: Any) -> TestClient:
        """A TestClient whose every request presents ``who``'s application certificate (or a
        PEM certificate given directly), as the TLS layer would."""
        pem = who.certificate if isinstance(who, Member) else who
        return TestClient(with_client_certificate(self.app, pem), **kwargs)

    def admin_client(self, who: Member) -> TestClient:
        return self.client(who.admin_certificate)

    def operator_client(self) -> TestClient:
        return self.client(self.operator_certificate)


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())[:20] or "org"
