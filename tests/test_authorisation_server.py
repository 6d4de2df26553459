"""The authorisation server over real TLS: members' applications get certificate-bound tokens
through client credentials and through PAR + code + PKCE, other members' resource servers
introspect them, and the registry refuses a token presented with another certificate, in a
query string, expired, or issued for another audience."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from registry.trust import certificates
from tests.tls_world import Running, onboard_over_tls, operator_client

REDIRECT = "https://client.example/callback"


@dataclass
class Member:
    org: str
    admin: httpx.Client
    app: httpx.Client
    app_pem: str
    app_key: bytes


def member(server: Running, so: httpx.Client, name: str, number: str) -> Member:
    org, admin, app = onboard_over_tls(server, so, name, number, f"-{number}")
    pem = (server.directory / f"app-{number}.pem").read_text()
    key = (server.directory / f"app-{number}.key").read_bytes()
    return Member(org, admin, app, pem, key)


@pytest.fixture
def members(server: Running) -> tuple[Member, Member]:
    so = operator_client(server)
    return member(server, so, "Example Flex Ltd", "SC123456"), member(
        server, so, "Other Flex Ltd", "SC654321"
    )


def client_credentials(m: Member, **extra: str) -> httpx.Response:
    return m.app.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": m.org, **extra}
    )


def token_of(m: Member, **extra: str) -> str:
    answer = client_credentials(m, **extra)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def claims(server: Running, token: str) -> dict[str, object]:
    keys = KeySet.import_key_set(server.client().get("/oauth/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["ES256"]).claims)


def thumbprint(pem: str) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_with_challenge(answer: httpx.Response, error: str = "invalid_token") -> bool:
    return answer.status_code in (400, 401) and f'error="{error}"' in answer.headers.get(
        "www-authenticate", ""
    )


def test_the_metadata_is_valid_rfc8414_and_openid_discovery(server: Running) -> None:
    with server.client() as anonymous:
        oauth = anonymous.get("/.well-known/oauth-authorization-server").json()
        openid = anonymous.get("/.well-known/openid-configuration").json()
    AuthorizationServerMetadata(oauth).validate()
    # OpenID Discovery wants RS256 listed, which FAPI 2.0 forbids: everything else must hold
    assert openid["id_token_signing_alg_values_supported"] == ["ES256"]
    OpenIDProviderMetadata(
        {**openid, "id_token_signing_alg_values_supported": ["RS256"]}
    ).validate()
    assert oauth["issuer"] == server.base
    assert oauth["require_pushed_authorization_requests"] is True
    assert oauth["tls_client_certificate_bound_access_tokens"] is True


def test_client_credentials_give_a_short_token_bound_to_the_certificate(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    answer = client_credentials(a)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "Bearer" and "refresh_token" not in answer.json()
    seen = claims(server, answer.json()["access_token"])
    assert seen["cnf"] == {"x5t#S256": thumbprint(a.app_pem)}
    assert seen["client_id"] == a.org and seen["aud"] == server.base
    assert int(seen["exp"]) - int(seen["iat"]) == 300  # type: ignore[call-overload]


def test_the_registry_accepts_the_token_with_its_certificate_and_narrows_the_scopes(
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    held = a.app.get("/whoami").json()["scopes"]
    assert len(held) > 1
    token = token_of(a, scope=held[0])
    seen = a.app.get("/whoami", headers=bearer(token)).json()
    assert seen["organisation"] == a.org and seen["scopes"] == [held[0]]


def test_a_scope_the_certificate_does_not_hold_is_refused(members: tuple[Member, Member]) -> None:
    a, _ = members
    answer = client_credentials(a, scope="no-such-scope")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_no_token_without_a_certificate_of_the_client(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, b = members
    with server.client() as anonymous:
        assert client_credentials(Member(a.org, a.admin, anonymous, "", b"")).status_code == 400
    stolen_id = b.app.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": a.org}
    )
    assert stolen_id.status_code in (400, 401) and stolen_id.json()["error"] == "invalid_client"


def test_a_token_presented_with_another_certificate_is_refused_and_changes_nothing(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, b = members
    token = token_of(a)
    registry = server.app.state.registry  # type: ignore[attr-defined]
    before = len(certificates.certificates_of(registry, a.org))
    for thief in (b.app, a.admin):  # another member, and another certificate of the same one
        answer = thief.post(
            f"/organisations/{a.org.rsplit('/', 1)[-1]}/certificates",
            content=b"not even a CSR",
            headers={**bearer(token), "Content-Type": "application/pkcs10"},
        )
        assert refused_with_challenge(answer), answer.text
        assert "another certificate" in answer.json()["detail"]
    assert len(certificates.certificates_of(registry, a.org)) == before


def test_a_token_presented_without_any_certificate_is_refused(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    token = token_of(a)
    with server.client() as anonymous:
        answer = anonymous.get("/whoami", headers=bearer(token))
    assert refused_with_challenge(answer) and "present it" in answer.json()["detail"]


def test_a_token_in_the_query_string_is_refused(members: tuple[Member, Member]) -> None:
    a, _ = members
    answer = a.app.get("/whoami", params={"access_token": token_of(a)})
    assert answer.status_code == 400 and refused_with_challenge(answer, "invalid_request")


def test_an_expired_token_is_refused(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    seen = claims(server, token_of(a))
    key = server.app.state.authorisation.key  # type: ignore[attr-defined]
    expired = key.sign({**seen, "exp": int(time.time()) - 1})
    answer = a.app.get("/whoami", headers=bearer(expired))
    assert refused_with_challenge(answer) and "expired" in answer.json()["detail"]


def test_a_token_forged_with_another_key_is_refused(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    seen = claims(server, token_of(a))
    forger = ECKey.generate_key("P-256", auto_kid=True)
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, seen, forger)
    assert refused_with_challenge(a.app.get("/whoami", headers=bearer(forged)))


def test_a_token_for_another_audience_is_refused_by_the_registry(
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    token = token_of(a, resource="https://resource.other-flex.example/")
    answer = a.app.get("/whoami", headers=bearer(token))
    assert refused_with_challenge(answer) and "issued for" in answer.json()["detail"]


def test_another_members_resource_server_introspects_a_token_with_roles_and_scopes(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, b = members
    token = token_of(a, resource="https://resource.other-flex.example/")
    answer = b.app.post("/oauth/introspect", data={"token": token, "client_id": b.org})
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["active"] is True and seen["organisation"] == a.org
    assert seen["roles"] == ["FlexibilityServiceProvider"]
    assert seen["scopes"] == sorted(a.app.get("/whoami").json()["scopes"])
    assert seen["cnf"] == {"x5t#S256": thumbprint(a.app_pem)}
    assert seen["aud"] == "https://resource.other-flex.example/"


def test_introspection_needs_a_members_certificate(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, b = members
    with server.client() as anonymous:
        answer = anonymous.post(
            "/oauth/introspect", data={"token": token_of(a), "client_id": b.org}
        )
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


def test_a_token_of_a_suspended_member_introspects_inactive_and_is_refused(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, b = members
    token = token_of(a)
    so = operator_client(server)
    uid = a.org.rsplit("/", 1)[-1]
    assert so.post(f"/organisations/{uid}/suspend", json={"reason": "fees"}).status_code == 200
    answer = b.app.post("/oauth/introspect", data={"token": token, "client_id": b.org})
    assert answer.json() == {"active": False}
    assert a.app.get("/whoami", headers=bearer(token)).status_code == 401


# PAR + authorisation code + PKCE


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def push(m: Member, challenge: str, **extra: str) -> httpx.Response:
    return m.app.post(
        "/oauth/par",
        data={
            "response_type": "code",
            "client_id": m.org,
            "redirect_uri": REDIRECT,
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        },
    )


def approve(m: Member, request_uri: str, approver: httpx.Client | None = None) -> httpx.Response:
    approver = approver or m.admin
    page = approver.get("/oauth/authorize", params={"client_id": m.org, "request_uri": request_uri})
    assert page.status_code == 200, page.text
    consent = page.text.split('name="consent" value="', 1)[1].split('"', 1)[0]
    return approver.post(
        "/oauth/authorize",
        data={
            "client_id": m.org,
            "request_uri": request_uri,
            "consent": consent,
            "decision": "approve",
        },
    )


def code_flow(m: Member) -> tuple[str, str]:
    """Returns the code and its verifier."""
    verifier, challenge = pkce()
    pushed = push(m, challenge)
    assert pushed.status_code == 201, pushed.text
    redirect = approve(m, pushed.json()["request_uri"])
    assert redirect.status_code == 302, redirect.text
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    return query["code"][0], verifier


def exchange(m: Member, code: str, verifier: str) -> httpx.Response:
    return m.app.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": m.org,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )


def test_par_code_and_pkce_give_a_bound_token_and_refresh_token(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    verifier, challenge = pkce()
    pushed = push(a, challenge)
    assert pushed.status_code == 201 and pushed.json()["expires_in"] == 60
    redirect = approve(a, pushed.json()["request_uri"])
    location = urlsplit(redirect.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert query["state"] == ["s-1"] and query["iss"] == [server.base]  # RFC 9207
    answer = exchange(a, query["code"][0], verifier)
    assert answer.status_code == 200, answer.text
    assert "refresh_token" in answer.json()
    seen = claims(server, answer.json()["access_token"])
    assert seen["cnf"] == {"x5t#S256": thumbprint(a.app_pem)}
    assert a.app.get("/whoami", headers=bearer(answer.json()["access_token"])).status_code == 200


def test_a_code_is_used_once(members: tuple[Member, Member]) -> None:
    a, _ = members
    code, verifier = code_flow(a)
    assert exchange(a, code, verifier).status_code == 200
    again = exchange(a, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_code_with_the_wrong_verifier_is_refused(members: tuple[Member, Member]) -> None:
    a, _ = members
    code, _ = code_flow(a)
    answer = exchange(a, code, pkce()[0])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_pushed_request_without_pkce_s256_is_refused(members: tuple[Member, Member]) -> None:
    a, _ = members
    answer = push(a, "x" * 43, code_challenge_method="plain")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_another_members_administrator_cannot_approve(members: tuple[Member, Member]) -> None:
    a, b = members
    pushed = push(a, pkce()[1]).json()
    answer = b.admin.get(
        "/oauth/authorize", params={"client_id": a.org, "request_uri": pushed["request_uri"]}
    )
    assert answer.status_code == 403


def test_the_authorisation_endpoint_takes_only_pushed_requests(
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    answer = a.admin.get(
        "/oauth/authorize",
        params={
            "client_id": a.org,
            "request_uri": f"urn:ietf:params:oauth:request_uri:{uuid.uuid4()}",
        },
    )
    assert answer.status_code == 400


def test_a_refresh_token_works_only_with_its_certificate_and_only_once(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    refresh = exchange(a, *code_flow(a)).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "client_id": a.org, "refresh_token": refresh}
    stolen = a.admin.post("/oauth/token", data=data)  # same organisation, another certificate
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    renewed = a.app.post("/oauth/token", data=data)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != refresh
    assert a.app.post("/oauth/token", data=data).json()["error"] == "invalid_grant"


def test_private_key_jwt_authenticates_with_the_certificates_key(
    server: Running,
    members: tuple[Member, Member],
) -> None:
    a, _ = members
    serial = a.app.get("/whoami").json()["certificate"]
    key = ECKey.import_key(a.app_key)
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256", "kid": serial},
        {
            "iss": a.org,
            "sub": a.org,
            "aud": server.base,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(8),
        },
        key,
    )
    data = {
        "grant_type": "client_credentials",
        "client_id": a.org,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    answer = a.app.post("/oauth/token", data=data)
    assert answer.status_code == 200, answer.text
    replayed = a.app.post("/oauth/token", data=data)
    assert replayed.json()["error"] == "invalid_client"


def test_without_https_the_token_endpoint_answers_an_oauth_error_not_a_crash() -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from registry.base.settings import Settings

    with TestClient(create_app(Settings(data_dir=None, base_iri="http://registry.test/"))) as c:
        answer = c.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error"] == "insecure_transport"


def test_a_code_or_refresh_token_is_taken_once_even_by_racing_requests():
    from concurrent.futures import ThreadPoolExecutor

    from registry.trust.oauth_objects import Expiring

    store = Expiring()
    store.put("token", "value", 60)
    with ThreadPoolExecutor(16) as pool:
        taken = list(pool.map(lambda _: store.take("token"), range(64)))
    assert taken.count("value") == 1
    store.put("other", "value", 60)
    assert store.take("other", lambda v: v == "not it") is None  # refused: left in place
    assert store.take("other") == "value"
    assert store.add("jti", True, 60) and not store.add("jti", True, 60)  # a replay is seen
