"""The registry's CA, client certificates with claims, the revocation list, and authentication
of requests (from the ASGI TLS extension or a trusted proxy's header)."""

from __future__ import annotations

import datetime as dt
import stat
from urllib.parse import quote

import pytest
from cryptography import x509
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from api.app import _problem
from api.auth import current_principal, require_role, require_scope
from api.tls import with_client_certificate
from registry.base.errors import Forbidden, RegistryError, Unauthenticated, UnusableInput
from registry.base.identity import FSP, SCHEME_OPERATOR, Principal
from registry.base.vocab import FDI
from registry.kernel import lifecycle
from registry.trust.authentication import authenticate, request_certificate
from registry.trust.ca import (
    ROLES_OID,
    CertificateAuthority,
    claims_of,
    decode_strings,
    new_key_and_csr,
)
from registry.trust.certificates import is_revoked_in
from registry.trust.schemes import operator_iri
from tests.conftest import BASE, new_app
from tests.servers import PROXY_SECRET, forwarded
from tests.trust import Member, Onboarding

pytestmark = pytest.mark.app(trusted_proxies="10.0.0.0/8", proxy_secret=PROXY_SECRET)


def test_the_ca_is_made_once_and_its_key_kept_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = CertificateAuthority.open(tmp_path)
    again = CertificateAuthority.open(tmp_path)

    assert first.pem == again.pem
    assert stat.S_IMODE((tmp_path / "ca" / "ca-key.pem").stat().st_mode) == 0o600
    assert first.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_certificate_names_the_organisation_and_carries_its_roles_and_scopes(fsp: Member) -> None:
    cert = x509.load_pem_x509_certificate(fsp.certificate.encode())
    claims = claims_of(cert, BASE)
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert uris.get_values_for_type(x509.UniformResourceIdentifier) == [fsp.iri]
    assert claims.organisation == fsp.iri and claims.user is None
    assert claims.roles == {FSP}
    assert FDI["scope-assets-write"].value in claims.scopes
    raw = cert.extensions.get_extension_for_oid(ROLES_OID).value.value
    assert decode_strings(raw) == [FSP]


def test_claims_beyond_what_the_organisation_holds_are_refused(
    onboarding: Onboarding, fsp: Member
) -> None:
    _, csr = new_key_and_csr("app")
    with pytest.raises(Forbidden, match="MarketOperator"):
        request_certificate(
            onboarding.registry,
            onboarding.ca,
            fsp.admin_principal,
            fsp.iri,
            csr.decode(),
            roles=["MarketOperator"],
        )
    with pytest.raises(Forbidden, match="assets-read"):
        request_certificate(
            onboarding.registry,
            onboarding.ca,
            fsp.admin_principal,
            fsp.iri,
            csr.decode(),
            scopes=["assets-read"],
        )


def test_a_narrower_certificate_may_be_asked_for(onboarding: Onboarding, fsp: Member) -> None:
    _, csr = new_key_and_csr("reader")
    issued = request_certificate(
        onboarding.registry,
        onboarding.ca,
        fsp.admin_principal,
        fsp.iri,
        csr.decode(),
        roles=["FlexibilityServiceProvider"],
        scopes=["commercial-write"],
        days=7,
    )
    principal = authenticate(onboarding.registry, onboarding.ca, issued.pem)

    assert principal.scopes == {FDI["scope-commercial-write"].value}
    not_after = dt.datetime.fromisoformat(issued.not_after.replace("Z", "+00:00"))
    assert not_after - dt.datetime.now(dt.UTC) < dt.timedelta(days=7, minutes=1)


def test_only_the_organisations_administrator_asks_for_certificates(
    onboarding: Onboarding, fsp: Member
) -> None:
    other = onboarding.member("Other Flex Ltd", "SC654321")
    _, csr = new_key_and_csr("app")
    for principal in (other.admin_principal, fsp.principal):
        with pytest.raises(Forbidden):
            request_certificate(
                onboarding.registry, onboarding.ca, principal, fsp.iri, csr.decode()
            )


def test_a_request_that_is_not_a_csr_is_a_400(onboarding: Onboarding, fsp: Member) -> None:
    response = onboarding.admin_client(fsp).post(
        f"/organisations/{fsp.uid}/certificates",
        json={"csr": "-----BEGIN CERTIFICATE REQUEST-----\nnope"},
    )
    assert response.status_code == 400
    with pytest.raises(UnusableInput):
        request_certificate(
            onboarding.registry, onboarding.ca, fsp.admin_principal, fsp.iri, fsp.certificate
        )


def test_a_pem_csr_body_with_query_claims_is_accepted(onboarding: Onboarding, fsp: Member) -> None:
    _, csr = new_key_and_csr("dispatch")
    response = onboarding.admin_client(fsp).post(
        f"/organisations/{fsp.uid}/certificates",
        content=csr,
        params={"name": "dispatch", "scope": "assets-write"},
        headers={"Content-Type": "application/pkcs10"},
    )

    assert response.status_code == 201
    assert response.json()["scopes"] == ["assets-write"] and response.json()["name"] == "dispatch"
    assert response.headers["location"].endswith(response.json()["serial"])


def test_the_crl_lists_revoked_certificates(app, onboarding: Onboarding, fsp: Member) -> None:  # type: ignore[no-untyped-def]
    serial = x509.load_pem_x509_certificate(fsp.certificate.encode()).serial_number
    revoked = onboarding.admin_client(fsp).post(
        f"/certificates/{format(serial, 'x')}/revoke", json={"reason": "key lost"}
    )
    crl = TestClient(app).get("/ca/crl")

    assert revoked.json()["status"] == "revoked"
    assert crl.headers["content-type"] == "application/pkix-crl"
    parsed = x509.load_der_x509_crl(crl.content)
    assert parsed.is_signature_valid(onboarding.ca.certificate.public_key())  # type: ignore[arg-type]
    assert is_revoked_in(crl.content, x509.load_pem_x509_certificate(fsp.certificate.encode()))
    assert not is_revoked_in(
        crl.content, x509.load_pem_x509_certificate(fsp.admin_certificate.encode())
    )


def test_a_certificate_from_another_ca_is_refused(onboarding: Onboarding) -> None:
    stranger = Onboarding.of(new_app())
    with pytest.raises(Unauthenticated, match="not issued by this registry"):
        authenticate(onboarding.registry, onboarding.ca, stranger.operator_certificate)


def test_a_certificate_the_register_does_not_know_is_refused(onboarding: Onboarding) -> None:
    _, server = onboarding.ca.sign_server(["localhost"])
    with pytest.raises(Unauthenticated, match="not in the registry"):
        authenticate(onboarding.registry, onboarding.ca, server)


def test_a_suspended_organisations_certificate_is_refused_even_before_revocation(
    onboarding: Onboarding, fsp: Member
) -> None:
    # Change the status alone, as a crash between two writes might leave it: the status check holds.
    with onboarding.registry.transaction("test", "suspend-without-cascade") as tx:
        info = tx.info(fsp.iri)
        lifecycle.restatus(
            tx,
            info,
            lifecycle.content(onboarding.registry, fsp.iri),
            FDI.organisationStatus,
            "suspended",
            "test",
        )
    with pytest.raises(Unauthenticated, match="suspended"):
        authenticate(onboarding.registry, onboarding.ca, fsp.certificate)


def test_the_tls_extension_gives_the_principal(onboarding: Onboarding, fsp: Member) -> None:
    me = onboarding.client(fsp).get("/whoami").json()
    assert me["organisation"] == fsp.iri and me["roles"] == ["FlexibilityServiceProvider"]
    assert (
        onboarding.client(fsp).get("/whoami").json()["certificate"]
        == fsp.principal.certificate_serial
    )


def test_a_forwarded_certificate_is_believed_only_from_the_proxy_address(app, fsp: Member) -> None:  # type: ignore[no-untyped-def]
    header = forwarded(fsp.certificate)  # the secret and nginx's $ssl_client_escaped_cert
    trusted = TestClient(app, client=("10.1.2.3", 4433)).get("/whoami", headers=header)
    elsewhere = TestClient(app, client=("192.0.2.9", 4433)).get("/whoami", headers=header)

    assert trusted.json()["organisation"] == fsp.iri
    assert elsewhere.status_code == 401


def test_a_forwarded_certificate_without_the_proxy_secret_is_refused(app, fsp: Member) -> None:  # type: ignore[no-untyped-def]
    header = {"X-Client-Cert": quote(fsp.certificate)}
    answer = TestClient(app, client=("10.1.2.3", 4433)).get("/whoami", headers=header)
    assert answer.status_code == 401
    assert "proxy" in answer.json()["detail"]


def test_a_forwarded_certificate_with_folded_lines_is_read(app, fsp: Member) -> None:  # type: ignore[no-untyped-def]
    folded = fsp.certificate.replace("\n", " ")
    me = (
        TestClient(app, client=("10.1.2.3", 4433))
        .get("/whoami", headers={**forwarded(""), "X-Client-Cert": folded})
        .json()
    )
    assert me["organisation"] == fsp.iri


@pytest.fixture
def guarded(onboarding: Onboarding) -> FastAPI:
    """An application over the registry with a route for scheme operators (``/operators``) and
    one for holders of the assets-write scope (``/writers``)."""
    api = FastAPI()
    api.state.registry, api.state.ca, api.state.settings = (
        onboarding.registry,
        onboarding.ca,
        onboarding.registry.settings,
    )

    @api.get("/operators")
    def operators(principal: Principal = Depends(require_role(SCHEME_OPERATOR))) -> str:
        return principal.organisation or ""

    @api.get("/writers")
    def writers(principal: Principal = Depends(require_scope("assets-write"))) -> str:
        return principal.organisation or ""

    api.add_exception_handler(RegistryError, _problem)  # type: ignore[arg-type]
    return api


def test_a_role_dependency_is_401_without_a_certificate(guarded: FastAPI) -> None:
    assert TestClient(guarded).get("/operators").status_code == 401


def test_a_role_dependency_is_403_for_a_member_without_the_role(
    guarded: FastAPI, fsp: Member
) -> None:
    fsp_client = TestClient(with_client_certificate(guarded, fsp.certificate))
    assert fsp_client.get("/operators").status_code == 403


def test_a_scope_dependency_lets_a_certificate_with_the_scope_through(
    guarded: FastAPI, fsp: Member
) -> None:
    fsp_client = TestClient(with_client_certificate(guarded, fsp.certificate))
    assert fsp_client.get("/writers").json() == fsp.iri


def test_a_role_dependency_lets_a_principal_with_the_role_through(
    guarded: FastAPI, onboarding: Onboarding
) -> None:
    guarded.dependency_overrides[current_principal] = lambda: onboarding.operator
    assert TestClient(guarded).get("/operators").json() == operator_iri(BASE)
