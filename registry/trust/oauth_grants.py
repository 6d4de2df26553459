"""The grants, client authentication and introspection the authorisation server registers with
authlib, as FAPI 2.0 wants them (registry.trust.authorisation_server)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey, Key, KeySet, RSAKey

from registry.base.errors import Unauthenticated
from registry.trust import access_tokens, certificates, membership_view
from registry.trust.ca import load_certificate
from registry.trust.oauth_objects import (
    ASSERTION_ALGORITHMS,
    AUTH_METHODS,
    CODE_SECONDS,
    Client,
    Code,
    Expiring,
    OAuthRequest,
    Owner,
    Refresh,
)
from registry.trust.schemes import name_of

if TYPE_CHECKING:
    from registry.trust.authorisation_server import Server


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    error = "invalid_target"  # RFC 8707 section 2


class PKCE(CodeChallenge):  # type: ignore[misc]
    """PKCE as FAPI 2.0 wants it: always, and S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with method S256")
        super().validate_code_challenge(grant, redirect_uri)


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: Server) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server
        self._seen = Expiring()

    def get_audiences(self) -> list[str]:
        return [self.server.issuer, self.server.issuer + "oauth/token"]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return self._seen.add(f"{claims['sub']} {jti}", True, 600)  # a replay finds it there

    def extract_assertion(self, assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
        headers, claims = super().extract_assertion(assertion)
        if headers.get("alg") not in ASSERTION_ALGORITHMS:
            raise InvalidClientError(description="private_key_jwt must be signed ES256 or PS256")
        return headers, claims

    def resolve_client_public_key(self, client: Client) -> KeySet:
        """The public keys of the client's active certificates, each under its serial."""
        keys: list[Key] = []
        for held in certificates.certificates_of(self.server.registry, client.client_id):
            if held["status"] != "active":
                continue
            public = load_certificate(certificates.pem(self.server.registry, held["serial"]))
            pem = public.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            kind = ECKey if isinstance(public.public_key(), ec.EllipticCurvePublicKey) else RSAKey
            keys.append(kind.import_key(pem, {"kid": held["serial"]}))
        return KeySet(keys)


class Issuing:
    """Grants whose tokens the server makes bound to the request's certificate."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    GRANT_TYPE: str
    request: OAuthRequest
    server: Server

    def generate_token(
        self,
        user: Owner | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.server.issue(
            self.request, grant_type or self.GRANT_TYPE, user, scope, include_refresh_token
        )


class ClientCredentials(Issuing, ClientCredentialsGrant):  # type: ignore[misc]
    pass


class AuthorizationCode(Issuing, AuthorizationCodeGrant):  # type: ignore[misc]
    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        data = request.payload.data
        self.server.codes.put(
            code,
            Code(
                code,
                request.client.client_id,
                data["redirect_uri"],
                request.scope or "",
                data["code_challenge"],
                data["code_challenge_method"],
                request.user,
                data.get("resource") or self.server.issuer,
                time.time() + CODE_SECONDS,
            ),
            CODE_SECONDS,
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        # Taken, not read: two concurrent exchanges of one code cannot both succeed.
        found: Code | None = self.server.codes.take(code, lambda c: c.client_id == client.client_id)
        return found

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.codes.pop(authorization_code.code)

    def authenticate_user(self, authorization_code: Code) -> Owner:
        return authorization_code.user


class RefreshToken(Issuing, RefreshTokenGrant):  # type: ignore[misc]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotated on every use

    def authenticate_refresh_token(self, refresh_token: str) -> Refresh | None:
        pem = self.request.call.certificate
        if pem is None:
            return None
        thumbprint = access_tokens.thumbprint(pem)
        # Sender-constrained, and taken in one step: only the certificate it was issued to may
        # use it (another's attempt leaves it in place), and only once even when raced.
        found: Refresh | None = self.server.refresh_tokens.take(
            refresh_token, lambda r: r.thumbprint == thumbprint
        )
        return found

    def authenticate_user(self, refresh_token: Refresh) -> Owner:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Refresh) -> None:
        self.server.refresh_tokens.pop(refresh_token.token)


class IntrospectedToken(dict[str, Any]):
    def __init__(self, claims: dict[str, Any], revoked: bool) -> None:
        super().__init__(claims)
        self.revoked = revoked

    def is_expired(self) -> bool:
        return bool(self["exp"] <= time.time())

    def is_revoked(self) -> bool:
        return self.revoked


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: Server

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> IntrospectedToken | None:
        if token_type_hint == "refresh_token":
            return None  # refresh tokens are the client's own business
        try:
            claims = self.server.key.verify(token_string, audience=None, issuer=self.server.issuer)
        except Unauthenticated:
            return None
        return IntrospectedToken(claims, revoked=not self.server.still_valid(claims))

    def check_permission(
        self, token: IntrospectedToken, client: Client, request: OAuthRequest
    ) -> bool:
        return True  # any member's resource server may ask

    def introspect_token(self, token: IntrospectedToken) -> dict[str, Any]:
        roles, scopes = membership_view.held(self.server.registry, token["sub_organisation"])
        answer = {k: v for k, v in token.items() if k != "sub_organisation"}
        return {
            **answer,
            "active": True,
            "token_type": "Bearer",
            "organisation": token["sub_organisation"],
            "roles": sorted(name_of(r) for r in roles),
            "scopes": sorted(name_of(s) for s in scopes),
        }
