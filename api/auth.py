"""Who is asking: the principal of a request, from its client certificate.

The certificate comes either from the TLS connection itself (``fdi serve --tls-cert``: the
verified peer certificate is put into the ASGI scope as ``extensions.tls.client_cert_chain`` by
``api.tls``), or, behind a TLS-terminating proxy, from the header named by the
``client_cert_header`` setting, believed only on a request that carries the deployment's
``proxy_secret`` (which the proxy adds and clients cannot know; from one of the
``trusted_proxies`` too, when they are given). A request carrying the certificate header
without the secret is refused (401): it is someone posing as the proxy. Either way the
certificate is checked against the registry on every request
(``registry.trust.authentication.authenticate``): revoked, expired, unknown certificates and those
of
organisations that are not verified are refused with 401.

Dependencies for routes::

    principal: Principal = Depends(current_principal)         # anonymous when no certificate
    principal: Principal = Depends(authenticated_principal)   # 401 without one
    principal: Principal = Depends(require_role(FSP))         # 401, or 403 without any of the roles
    principal: Principal = Depends(require_scope(SCOPE_ASSETS_WRITE))  # 403 without all scopes

In tests, ``app.dependency_overrides[current_principal] = lambda: principal`` injects an
identity for every one of them.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from registry.base.errors import Forbidden, InvalidToken, Unauthenticated
from registry.base.identity import Principal
from registry.base.settings import Settings
from registry.trust.access_tokens import principal_for_bearer
from registry.trust.authentication import ALL_ROLES, authenticate
from registry.trust.schemes import FDI_SCHEME, name_of

router = APIRouter(tags=["Authentication"])

_BY_NAME = {name_of(r): r for r in ALL_ROLES + FDI_SCHEME.scopes}


def client_certificate(request: Request) -> str | None:
    """The client certificate (PEM) of the request, if it came with one we may believe."""
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if chain:
        pem: str = chain[0]
        return pem
    settings = request.app.state.settings
    forwarded = request.headers.get(settings.client_cert_header)
    if not forwarded:
        return None
    if not from_proxy(request, settings):
        raise Unauthenticated(
            f"a {settings.client_cert_header} header is believed only from the registry's TLS "
            "proxy; present the client certificate in the TLS handshake instead"
        )
    return _pem(forwarded)


def presents_certificate(request: Request) -> bool:
    """Whether the request comes with a client certificate of any kind (from the TLS layer or
    in the forwarded-certificate header), believable or not. Never raises."""
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    header = request.app.state.settings.client_cert_header
    return bool(tls.get("client_cert_chain") or request.headers.get(header))


def client_address(request: Request) -> str:
    """The requester's network address: the proxy's ``X-Real-IP`` on a request the proxy
    forwarded (proved by its secret), else the peer's own address."""
    settings = request.app.state.settings
    forwarded = request.headers.get("x-real-ip")
    if forwarded and from_proxy(request, settings):
        return forwarded
    return request.client.host if request.client else "unknown"


def from_proxy(request: Request, settings: Settings) -> bool:
    """Whether the request was forwarded by the deployment's TLS proxy: it carries the proxy
    secret (compared in constant time) and, when ``trusted_proxies`` are given, comes from one
    of them. An address alone is no proof: every local process shares 127.0.0.1."""
    if not settings.proxy_secret:
        return False
    given = request.headers.get(settings.proxy_secret_header, "")
    if not hmac.compare_digest(given.encode(), settings.proxy_secret.encode()):
        return False
    if not settings.trusted_proxies:
        return True
    return request.client is not None and _trusted(settings.trusted_proxies, request.client.host)


async def current_principal(request: Request) -> Principal:
    """The requester: anonymous without a certificate. Raises Unauthenticated for a
    certificate the registry does not accept (revoked, expired, unknown, organisation not
    verified). A request with no certificate and no token is anonymous at once, on the event
    loop; any other is authenticated in the thread pool (:func:`principal_of` reads the
    register), one trip for the request: a plain ``def`` dependency would cost one always."""
    given: Principal | None = getattr(request.state, "principal", None)  # set by a middleware
    if given is not None:
        return given
    if (
        not presents_certificate(request)
        and "authorization" not in request.headers
        and "access_token" not in request.query_params
    ):
        return Principal.anonymous()
    return await run_in_threadpool(principal_of, request)


def principal_of(request: Request) -> Principal:
    """:func:`current_principal`'s answer, worked out in the calling thread."""
    given: Principal | None = getattr(request.state, "principal", None)
    if given is not None:
        return given
    pem = client_certificate(request)
    bearer = bearer_principal(request, pem)
    if bearer is not None:
        return bearer
    if pem is None:
        return Principal.anonymous()
    return authenticate(request.app.state.registry, request.app.state.ca, pem)


def requester(request: Request) -> Principal:
    """The requester as the routes' ``current_principal`` dependency sees it, for code outside
    FastAPI's dependency injection (the ``/sparql`` handler, error rendering): a test's
    ``app.dependency_overrides[current_principal]`` applies here too. Raises Unauthenticated."""
    override = request.app.dependency_overrides.get(current_principal)
    if override is None:
        return principal_of(request)
    try:
        principal: Principal = override(request)
    except TypeError:  # a test's override that takes no arguments
        principal = override()
    return principal


async def authenticated_principal(principal: Principal = Depends(current_principal)) -> Principal:
    """The requester, who must have presented a valid client certificate (401 otherwise).
    ``async``, as the checks below: they read nothing, and a plain ``def`` dependency would cost
    a trip to the thread pool on every request."""
    if not principal.authenticated:
        raise Unauthenticated("this needs a client certificate issued by the registry")
    return principal


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting requesters holding *any* of ``roles`` (IRIs or short names such
    as ``FlexibilityServiceProvider``, ``SchemeOperator``, ``Administrator``)."""
    wanted = {_BY_NAME.get(r, r) for r in roles}

    async def dependency(principal: Principal = Depends(authenticated_principal)) -> Principal:
        if not wanted & principal.roles:
            names = ", ".join(sorted(name_of(r) for r in wanted))
            raise Forbidden(
                f"this needs one of the roles {names}; the certificate presented has "
                + (", ".join(sorted(name_of(r) for r in principal.roles)) or "none")
            )
        return principal

    return dependency


def require_scope(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting requesters holding *all* of ``scopes`` (IRIs or short names such
    as ``assets-write``)."""
    wanted = {_BY_NAME.get(s, s) for s in scopes}

    async def dependency(principal: Principal = Depends(authenticated_principal)) -> Principal:
        missing = wanted - principal.scopes
        if missing:
            raise Forbidden(
                "this needs the scopes " + ", ".join(sorted(name_of(s) for s in missing))
            )
        return principal

    return dependency


@router.get("/whoami", summary="Who the registry takes the requester to be")
async def whoami(principal: Principal = Depends(current_principal)) -> dict[str, object]:
    return {
        "authenticated": principal.authenticated,
        "organisation": principal.organisation,
        "user": principal.user,
        "roles": sorted(name_of(r) for r in principal.roles),
        "scopes": sorted(name_of(s) for s in principal.scopes),
        "certificate": principal.certificate_serial,
    }


# Access tokens from the authorisation server (registry.trust.authorisation_server)
# -----------------


def bearer_principal(request: Request, pem: str | None) -> Principal | None:
    """The principal an ``Authorization: Bearer`` access token speaks for, or None without one.
    The token must come with the certificate it is bound to. Raises InvalidToken (a token in
    the query string, expired, for another audience, bound to another certificate) and
    Unauthenticated (that certificate is no longer accepted)."""
    if "access_token" in request.query_params:
        raise InvalidToken(
            "access tokens are refused in the query string: send Authorization: Bearer",
            "invalid_request",
        )
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    app = request.app
    key = app.state.authorisation.key
    return principal_for_bearer(app.state.registry, app.state.ca, key, token.strip(), pem)


# -------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _networks(setting: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip()
    )


def _trusted(setting: str, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _networks(setting))


def _pem(header: str) -> str:
    """A forwarded certificate as PEM: nginx's URL-encoded PEM, PEM with its newlines folded
    into spaces, or bare base64 DER. Raises Unauthenticated (401) for anything else."""
    try:
        text = unquote(header, errors="strict").strip()
        body = re.sub(r"-----(BEGIN|END) CERTIFICATE-----|\s+", "", text)
        if not body:
            raise ValueError("no certificate")
        base64.b64decode(body, validate=True)  # ValueError for anything but ASCII base64
    except ValueError:  # UnicodeDecodeError is one
        raise Unauthenticated("the forwarded client certificate cannot be read") from None
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
