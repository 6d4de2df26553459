"""What the authorisation server hands authlib and keeps: calls and replies, clients, resource
owners, pushed requests, codes, refresh tokens, and a store of entries that expire
(registry.trust.authorisation_server)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import (
    ClientMixin,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

if TYPE_CHECKING:
    pass

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


class OAuthRequest(OAuth2Request):  # type: ignore[misc]  # authlib ships no type hints
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


class Expiring:
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
