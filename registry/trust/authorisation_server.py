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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InsecureTransportError,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey, KeySet, RSAKey

from registry.base.errors import Unauthenticated, UnusableInput
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.trust import access_tokens, certificates, memberships, people
from registry.trust.authentication import authenticate
from registry.trust.ca import load_certificate
from registry.trust.schemes import FDI_SCHEME, name_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry
    from registry.trust.ca import CertificateAuthority

AUTH_METHODS = ["tls_client_auth", "private_key_jwt"]
GRANT_TYPES = ["authorization_code", "client_credentials", "refresh_token"]
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PUSHED_SECONDS = 60
CODE_SECONDS = 60
ASSERTION_ALGORITHMS = ("ES256", "PS256")


@dataclass
class Call:
    """An HTTP request as the authorisation server sees it."""

    method: str
    uri: str
    headers: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    certificate: str | None = None


@dataclass
class Reply:
    """What to answer: status, body (a dict for JSON, or text) and headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))


class _Request(OAuth2Request):
    def __init__(self, call: Call, params: dict[str, str] | None = None) -> None:
        super().__init__(call.method, call.uri, headers=call.headers)
        self.call = call
        self.payload = BasicOAuth2Payload(params if params is not None else call.query | call.form)

    @property
    def args(self) -> dict[str, str]:
        return self.call.query

    @property
    def form(self) -> dict[str, str]:
        return self.call.form


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """A member organisation as an OAuth client; ``scopes`` are the scope names it holds now."""

    client_id: str
    scopes: frozenset[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        wanted = scope.split() if scope else sorted(self.scopes)
        return " ".join(s for s in wanted if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9126 section 2.4: pushed (authenticated) requests may carry any redirect URI;
        # FAPI 2.0 wants it https.
        parts = urlsplit(redirect_uri)
        return parts.scheme == "https" and bool(parts.netloc) and not parts.fragment

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class Owner:
    """The resource owner who approved a code: an administrator of the client organisation."""

    iri: str

    def get_user_id(self) -> str:
        return self.iri


@dataclass
class Pushed:
    client_id: str
    params: dict[str, str]
    consent: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    user: Owner
    resource: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class Refresh:
    token: str
    client_id: str
    scope: str
    user: Owner
    resource: str
    thumbprint: str
    expires_at: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at


class _Expiring:
    """A small thread-safe map whose entries vanish after their time."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: Any, seconds: float) -> None:
        with self._lock:
            now = time.time()
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + seconds, value)

    def get(self, key: str) -> Any:
        with self._lock:
            found = self._items.get(key)
            return found[1] if found and found[0] > time.time() else None

    def pop(self, key: str) -> Any:
        with self._lock:
            found = self._items.pop(key, None)
            return found[1] if found and found[0] > time.time() else None

    def take(self, key: str, accept: Callable[[Any], bool] = lambda _: True) -> Any:
        """Remove and return the live value at ``key`` if ``accept(value)``, in one step, so
        two concurrent callers can never both have it (a code or refresh token used once)."""
        with self._lock:
            found = self._items.get(key)
            if not found or found[0] <= time.time() or not accept(found[1]):
                return None
            del self._items[key]
            return found[1]

    def add(self, key: str, value: Any, seconds: float) -> bool:
        """Store ``value`` unless ``key`` is live already; whether it was stored (one step)."""
        with self._lock:
            found = self._items.get(key)
            if found and found[0] > time.time():
                return False
            self._items[key] = (time.time() + seconds, value)
            return True


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    error = "invalid_target"  # RFC 8707 section 2


class _PKCE(CodeChallenge):  # type: ignore[misc]
    """PKCE as FAPI 2.0 wants it: always, and S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with method S256")
        super().validate_code_challenge(grant, redirect_uri)


class _PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: Server) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server
        self._seen = _Expiring()

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
        keys = []
        for held in certificates.certificates_of(self.server.registry, client.client_id):
            if held["status"] != "active":
                continue
            public = load_certificate(certificates.pem(self.server.registry, held["serial"]))
            pem = public.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            kind = ECKey if isinstance(public.public_key(), ec.EllipticCurvePublicKey) else RSAKey
            keys.append(kind.import_key(pem, {"kid": held["serial"]}))
        return KeySet(keys)


class _Issuing:
    """Grants whose tokens the server makes bound to the request's certificate."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    GRANT_TYPE: str
    request: _Request
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


class _ClientCredentials(_Issuing, ClientCredentialsGrant):  # type: ignore[misc]
    pass


class _AuthorizationCode(_Issuing, AuthorizationCodeGrant):  # type: ignore[misc]
    def save_authorization_code(self, code: str, request: _Request) -> None:
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


class _RefreshToken(_Issuing, RefreshTokenGrant):  # type: ignore[misc]
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


class _Token(dict):  # type: ignore[type-arg]
    def __init__(self, claims: dict[str, Any], revoked: bool) -> None:
        super().__init__(claims)
        self.revoked = revoked

    def is_expired(self) -> bool:
        return bool(self["exp"] <= time.time())

    def is_revoked(self) -> bool:
        return self.revoked


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        if token_type_hint == "refresh_token":
            return None  # refresh tokens are the client's own business
        try:
            claims = self.server.key.verify(token_string, audience=None, issuer=self.server.issuer)
        except Unauthenticated:
            return None
        return _Token(claims, revoked=not self.server.still_valid(claims))

    def check_permission(self, token: _Token, client: Client, request: _Request) -> bool:
        return True  # any member's resource server may ask

    def introspect_token(self, token: _Token) -> dict[str, Any]:
        roles, scopes = memberships.held(self.server.registry, token["sub_organisation"])
        answer = {k: v for k, v in token.items() if k != "sub_organisation"}
        return {
            **answer,
            "active": True,
            "token_type": "Bearer",
            "organisation": token["sub_organisation"],
            "roles": sorted(name_of(r) for r in roles),
            "scopes": sorted(name_of(s) for s in scopes),
        }


class Server(AuthorizationServer):  # type: ignore[misc]
    """The registry's authorisation server (see the module's docstring)."""

    def __init__(self, registry: Registry, ca: CertificateAuthority) -> None:
        super().__init__(scopes_supported=[name_of(s) for s in FDI_SCHEME.scopes])
        self.registry = registry
        self.ca = ca
        data_dir = registry.settings.data_dir
        self.key = access_tokens.SigningKey(data_dir / "oauth" if data_dir else None)
        self.issuer = registry.settings.base_iri
        self.codes = _Expiring()
        self.pushed = _Expiring()
        self.refresh_tokens = _Expiring()
        self.register_client_auth_method("tls_client_auth", self._tls_client_auth)
        self.register_client_auth_method("private_key_jwt", _PrivateKeyJWT(self))
        self.register_grant(_ClientCredentials)
        self.register_grant(_AuthorizationCode, [_PKCE(required=True)])
        self.register_grant(_RefreshToken)
        self.register_endpoint(_Introspection)
        issuer = IssuerParameter()
        issuer.get_issuer = lambda: self.issuer  # type: ignore[method-assign]
        self.register_extension(lambda server: issuer(server))

    # authlib's framework hooks

    def query_client(self, client_id: str | None) -> Client | None:
        info = self.registry.info(client_id) if client_id else None
        if info is None or info.type != FDI.Organisation.value or info.status != "verified":
            return None
        _, scopes = memberships.held(self.registry, info.iri)
        return Client(info.iri, frozenset(name_of(s) for s in scopes))

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        pass  # access tokens are self-contained; refresh tokens are kept as they are made

    def create_oauth2_request(self, request: Call | _Request) -> _Request:
        return request if isinstance(request, _Request) else _Request(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Reply:
        return Reply(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # client authentication by certificate (RFC 8705 section 2.1)

    def _tls_client_auth(self, query_client: Any, request: _Request) -> Client | None:
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
        request: _Request,
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
        claims = {
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

    def _resource(self, request: _Request, grant_type: str) -> str:
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


def _secure(call: Call, params: dict[str, str] | None = None) -> _Request | Reply:
    """The request, or the error for one that did not come over https (the registry's base
    IRI, which the interfaces build request URIs from, must be https)."""
    try:
        return _Request(call, params)
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
