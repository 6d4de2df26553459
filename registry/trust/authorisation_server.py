"""The authorisation server: OAuth 2.0 under the FAPI 2.0 security profile, on authlib.

Clients are the scheme's member organisations (``client_id`` is the organisation's registry IRI).
A client authenticates with a client certificate the registry issued to it (``tls_client_auth``,
RFC 8705: the certificate is the registration) or with a JWT signed by the key of one of its
active certificates (``private_key_jwt``, RFC 7523; ``kid`` names the certificate's serial).
Either way every token is bound to the certificate the request came with (``cnf.x5t#S256``).

Grants: client credentials (machine access), and the authorisation code with PKCE (S256 only)
whose request must be pushed first (PAR, RFC 9126); its resource owner is an administrator of the
client organisation, authenticated by their certificate. Refresh tokens (code flow only) are
rotated on use and bound to the certificate too. Access tokens are ES256 JWTs (RFC 9068), valid
``access_token_seconds``. Introspection (RFC 7662) answers any member's resource server, with the
roles and scopes the token's organisation holds in the scheme now.

Codes, pushed requests and refresh tokens live in this process's memory (they are short-lived);
a restart ends them, and clients start over with client credentials or a new PAR.

authlib does the protocol: request validation, client authentication, grants, PKCE, the RFC 9207
``iss`` parameter and the error responses. This module supplies its storage and policies. The
interfaces hand it a ``Call`` and render the ``Reply``; nothing here knows the web framework.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InsecureTransportError,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc9207 import IssuerParameter

from registry.base.errors import Unauthenticated, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.trust import access_tokens, certificates, membership_view, people
from registry.trust.authentication import authenticate
from registry.trust.schemes import FDI_SCHEME, name_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry
    from registry.trust.ca import CertificateAuthority

from registry.trust.oauth_grants import (
    PKCE,
    AuthorizationCode,
    ClientCredentials,
    Introspection,
    InvalidTargetError,
    PrivateKeyJWT,
    RefreshToken,
)
from registry.trust.oauth_objects import (
    ASSERTION_ALGORITHMS,
    AUTH_METHODS,
    GRANT_TYPES,
    PUSHED_SECONDS,
    REQUEST_URI_PREFIX,
    Call,
    Client,
    Expiring,
    OAuthRequest,
    Owner,
    Pushed,
    Refresh,
    Reply,
)


class Server(AuthorizationServer):  # type: ignore[misc]
    """The registry's authorisation server (see the module's docstring)."""

    def __init__(self, registry: Registry, ca: CertificateAuthority) -> None:
        super().__init__(scopes_supported=[name_of(s) for s in FDI_SCHEME.scopes])
        self.registry = registry
        self.ca = ca
        data_dir = registry.settings.data_dir
        self.key = access_tokens.SigningKey(data_dir / "oauth" if data_dir else None)
        self.issuer = registry.settings.base_iri
        self.codes = Expiring()
        self.pushed = Expiring()
        self.refresh_tokens = Expiring()
        self.register_client_auth_method("tls_client_auth", self._tls_client_auth)
        self.register_client_auth_method("private_key_jwt", PrivateKeyJWT(self))
        self.register_grant(ClientCredentials)
        self.register_grant(AuthorizationCode, [PKCE(required=True)])
        self.register_grant(RefreshToken)
        self.register_endpoint(Introspection)
        issuer = IssuerParameter()
        issuer.get_issuer = lambda: self.issuer
        self.register_extension(lambda server: issuer(server))

    # authlib's framework hooks

    def query_client(self, client_id: str | None) -> Client | None:
        info = self.registry.info(client_id) if client_id else None
        if info is None or info.type != FDI.Organisation.value or info.status != "verified":
            return None
        _, scopes = membership_view.held(self.registry, info.iri)
        return Client(info.iri, frozenset(name_of(s) for s in scopes))

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        pass  # access tokens are self-contained; refresh tokens are kept as they are made

    def create_oauth2_request(self, request: Call | OAuthRequest) -> OAuthRequest:
        return request if isinstance(request, OAuthRequest) else OAuthRequest(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Reply:
        return Reply(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # client authentication by certificate (RFC 8705 section 2.1)

    def _tls_client_auth(self, query_client: Any, request: OAuthRequest) -> Client | None:
        client_id = request.payload.client_id
        pem = request.call.certificate
        if not client_id or pem is None or request.form.get("client_assertion"):
            return None
        principal = self._certificate_principal(pem)
        if principal.organisation != client_id:
            raise InvalidClientError(
                description="the client certificate belongs to another organisation"
            )
        return query_client(client_id)  # type: ignore[no-any-return]

    def _certificate_principal(self, pem: str) -> Principal:
        try:
            return authenticate(self.registry, self.ca, pem)
        except Unauthenticated as e:
            raise InvalidClientError(description=e.detail, status_code=401) from None

    # the endpoints

    def token(self, call: Call) -> Reply:
        request = _secure(call)
        if isinstance(request, Reply):
            return request
        return self.create_token_response(request)  # type: ignore[no-any-return]

    def introspect(self, call: Call) -> Reply:
        request = _secure(call)
        if isinstance(request, Reply):
            return request
        return self.create_endpoint_response("introspection", request)  # type: ignore[no-any-return]

    def push(self, call: Call) -> Reply:
        """A pushed authorisation request (RFC 9126): validated now, kept for 60 seconds."""
        request = _secure(call)
        if isinstance(request, Reply):
            return request
        try:
            client = self.authenticate_client(request, AUTH_METHODS, "par")
            data = request.payload.data
            if "request_uri" in data:
                raise InvalidRequestError("request_uri may not be pushed")
            if data.get("client_id") != client.client_id:
                raise InvalidRequestError("client_id must name the authenticated client")
            _check_resource(data.get("resource"))
            request.client = client
            grant = self.get_authorization_grant(request)
            grant.validate_authorization_request()
        except OAuth2Error as error:
            error.redirect_uri = None  # RFC 9126 section 2.3: errors answer the client directly
            return self.handle_error_response(request, error)  # type: ignore[no-any-return]
        uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        params = {k: v for k, v in data.items() if k not in ("client_assertion",)}
        self.pushed.put(uri, Pushed(client.client_id, params), PUSHED_SECONDS)
        return Reply(
            201,
            {"request_uri": uri, "expires_in": PUSHED_SECONDS},
            [("Cache-Control", "no-store")],
        )

    def consent(self, principal: Principal, client_id: str, request_uri: str) -> dict[str, Any]:
        """What the administrator is asked to approve. Raises UnusableInput (no such pushed
        request), Unauthenticated, Forbidden (not an administrator of the client)."""
        pushed = self._pushed(client_id, request_uri)
        people.require_admin(principal, pushed.client_id, operator_may=False)
        return {
            "client_id": pushed.client_id,
            "request_uri": request_uri,
            "scope": pushed.params.get("scope") or "all the scopes the organisation holds",
            "redirect_uri": pushed.params["redirect_uri"],
            "consent": pushed.consent,
        }

    def authorize(
        self,
        call: Call,
        principal: Principal,
        client_id: str,
        request_uri: str,
        consent: str,
        approve: bool,
    ) -> Reply:
        """The administrator's decision: a redirect carrying a code (or access_denied). The
        pushed request is used up. Raises UnusableInput, Unauthenticated, Forbidden."""
        pushed = self._pushed(client_id, request_uri)
        people.require_admin(principal, pushed.client_id, operator_may=False)
        if not secrets.compare_digest(consent, pushed.consent):
            raise UnusableInput("the consent form is stale: open the authorisation page again")
        request = _secure(call, pushed.params)
        if isinstance(request, Reply):
            return request
        self.pushed.pop(request_uri)
        owner = Owner(principal.user or principal.organisation or "")
        request.user = owner
        try:
            grant = self.get_authorization_grant(request)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)  # type: ignore[no-any-return]
        return self.create_authorization_response(  # type: ignore[no-any-return]
            request, grant_user=owner if approve else None, grant=grant
        )

    def _pushed(self, client_id: str, request_uri: str) -> Pushed:
        pushed: Pushed | None = self.pushed.get(request_uri)
        if pushed is None or pushed.client_id != client_id:
            raise UnusableInput(
                "no pushed authorisation request with this request_uri for this client "
                "(they last 60 seconds and are used once): push it again at /oauth/par"
            )
        return pushed

    # tokens

    def issue(
        self,
        request: OAuthRequest,
        grant_type: str,
        user: Owner | None,
        scope: str | None,
        include_refresh_token: bool,
    ) -> dict[str, Any]:
        """An access token bound to the request's certificate (and, for the code flow, a
        refresh token bound to it too). Raises authlib's OAuth2Error subclasses."""
        pem = request.call.certificate
        if pem is None:
            raise InvalidRequestError(
                "tokens are bound to the client certificate: connect with it (RFC 8705)"
            )
        client: Client = request.client
        holder = self._certificate_principal(pem)
        if holder.organisation != client.client_id:
            raise InvalidClientError(
                description="the client certificate belongs to another organisation"
            )
        allowed = client.scopes & {name_of(s) for s in holder.scopes}
        wanted = scope.split() if scope else sorted(allowed)
        if not set(wanted) <= allowed:
            raise InvalidScopeError(
                "not held by this certificate: " + " ".join(sorted(set(wanted) - allowed))
            )
        resource = self._resource(request, grant_type)
        now = int(time.time())
        lifetime = self.registry.settings.access_token_seconds
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.iri if user else client.client_id,
            "aud": resource,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(wanted),
            "cnf": {"x5t#S256": access_tokens.thumbprint(pem)},
            "sub_organisation": client.client_id,
            "certificate": holder.certificate_serial,
        }
        token = {
            "access_token": self.key.sign(claims),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": claims["scope"],
        }
        if include_refresh_token and user is not None:
            seconds = self.registry.settings.refresh_token_seconds
            refresh = Refresh(
                secrets.token_urlsafe(32),
                client.client_id,
                claims["scope"],
                user,
                resource,
                claims["cnf"]["x5t#S256"],
                time.time() + seconds,
            )
            self.refresh_tokens.put(refresh.token, refresh, seconds)
            token["refresh_token"] = refresh.token
        return token

    def _resource(self, request: OAuthRequest, grant_type: str) -> str:
        if grant_type == "authorization_code":
            return str(request.authorization_code.resource)
        if grant_type == "refresh_token":
            return str(request.refresh_token.resource)
        given = request.payload.data.get("resource")
        _check_resource(given)
        return given or self.issuer

    def still_valid(self, claims: dict[str, Any]) -> bool:
        """The certificate a token is bound to is still active and its holder verified."""
        serial = claims.get("certificate")
        if not isinstance(serial, str):
            return False
        cert = self.registry.info(certificates.certificate_iri(self.issuer, serial))
        org = self.registry.info(str(claims.get("sub_organisation")))
        return bool(
            cert is not None
            and cert.status == "active"
            and org is not None
            and org.status == "verified"
        )

    # discovery

    def metadata(self, openid: bool = False) -> dict[str, Any]:
        """RFC 8414 authorisation server metadata (with ``openid``: OpenID discovery)."""
        base = self.issuer
        document: dict[str, Any] = {
            "issuer": base,
            "authorization_endpoint": base + "oauth/authorize",
            "token_endpoint": base + "oauth/token",
            "pushed_authorization_request_endpoint": base + "oauth/par",
            "require_pushed_authorization_requests": True,
            "introspection_endpoint": base + "oauth/introspect",
            "jwks_uri": base + "oauth/jwks",
            "scopes_supported": list(self.scopes_supported),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "code_challenge_methods_supported": ["S256"],
            "tls_client_certificate_bound_access_tokens": True,
            "authorization_response_iss_parameter_supported": True,
        }
        if openid:
            document["subject_types_supported"] = ["public"]
            document["id_token_signing_alg_values_supported"] = [access_tokens.ALGORITHM]
        return document


def _secure(call: Call, params: dict[str, str] | None = None) -> OAuthRequest | Reply:
    """The request, or the error for one that did not come over https (the registry's base
    IRI, which the interfaces build request URIs from, must be https)."""
    try:
        return OAuthRequest(call, params)
    except InsecureTransportError as error:
        return Reply(
            400,
            {"error": error.error, "error_description": "the authorisation server needs https"},
            [("Cache-Control", "no-store")],
        )


def _check_resource(resource: str | None) -> None:
    if resource is None:
        return
    parts = urlsplit(resource)
    if parts.scheme != "https" or not parts.netloc or parts.fragment:
        raise InvalidTargetError(description="resource must be an absolute https URI (RFC 8707)")
