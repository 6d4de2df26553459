"""An onboarded flexibility service provider for the HTTP write scenario.

Writes need a client certificate issued by the registry's CA (the Trust Framework): the
provider applies, is verified, joins the FDI scheme, accepts the agreement and gets an
application certificate, all through the registry's own functions, in the data directory
before the server opens it. The server is then told to believe a certificate forwarded by a
TLS proxy on 127.0.0.1 that proves itself with the deployment's secret
(``FDI_PROXY_SECRET``), as in production behind nginx.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from registry.assembly import Registry
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.trust import memberships, operator, organisations
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import CertificateAuthority, new_key_and_csr
from registry.trust.certificates import pem as certificate_pem
from registry.trust.schemes import FDI_SCHEME

PROXY_SECRET = "bench-proxy-secret-0123456789abcdef"  # what nginx would add (docs/operations.md)
PROXY_ENV = {"FDI_TRUSTED_PROXIES": "127.0.0.1", "FDI_PROXY_SECRET": PROXY_SECRET}


def onboard_fsp(
    data_dir: Path,
    base_iri: str,
    name: str = "Bench Flex Ltd",
    company_number: str = "07654321",
    journal_url: str = "",
) -> dict[str, str]:
    """Onboard an FSP; the HTTP header that presents its certificate through the proxy."""
    settings = Settings(data_dir=data_dir, base_iri=base_iri, journal_url=journal_url)
    registry = Registry(settings)
    ca = CertificateAuthority.open(data_dir)
    try:
        _, issued = operator.admin_certificate(registry, ca)
        scheme_operator = authenticate(registry, ca, issued.pem)
        _, csr = new_key_and_csr(f"{name} administrator")
        application = organisations.Application(
            legal_name=name,
            company_number=company_number,
            lei=None,
            contact_email="bench@bench.example",
            csr=csr.decode(),
        )
        iri = organisations.apply(registry, application, Principal.anonymous())["id"]
        view = organisations.verify(registry, ca, scheme_operator, iri, "DocumentsChecked")
        admin = authenticate(
            registry,
            ca,
            certificate_pem(registry, view["administratorCertificates"][0].rsplit("/", 1)[-1]),
        )
        roles = ["FlexibilityServiceProvider"]
        membership = memberships.request_membership(registry, admin, FDI_SCHEME, roles)["id"]
        memberships.grant(registry, scheme_operator, membership, roles, None)
        memberships.accept_agreement(registry, admin, membership)
        _, csr = new_key_and_csr(f"{name} application")
        certificate = request_certificate(registry, ca, admin, iri, csr.decode()).pem
    finally:
        registry.close()
    return {"X-Client-Cert": quote(certificate), "X-FDI-Proxy-Secret": PROXY_SECRET}
