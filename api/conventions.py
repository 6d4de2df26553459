"""HTTP conventions every route follows, applied once in front of the routes:

- ``HEAD`` wherever ``GET`` is: answered as the ``GET``, without its body;
- ``OPTIONS`` answers ``204`` with the ``Allow`` set of the path, and a ``405`` lists every
  method any route offers at the path (not only the first route's);
- CORS for public reads (``/sparql``, records, the context, ontology, shapes, catalogue and
  graph IRIs): any origin may read what an anonymous requester may. No
  ``Access-Control-Allow-Credentials`` is ever sent, so a browser never lets another site read
  what a member's client certificate (a credential in the Fetch standard) would show.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import Match, Route, compile_path

from api import problems

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

PUBLIC_READS = ("/sparql", "/id/", "/ns", "/shapes", "/catalogue", "/graph/", "/technology/")
CORS_METHODS = "GET, HEAD, POST, OPTIONS"
CORS_REQUEST_HEADERS = "Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since"
CORS_EXPOSED = (
    "ETag, Link, Location, Vary, Content-Length, FDI-Result-Limit, FDI-Results-Truncated, "
    "FDI-Sequence"
)


def is_public_read(path: str, method: str) -> bool:
    """Whether another origin may read ``method path``: GET and HEAD of the public documents,
    and POST of a query to ``/sparql`` (a read too)."""
    if not path.startswith(PUBLIC_READS):
        return False
    return method in ("GET", "HEAD") or (method == "POST" and path == "/sparql")


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """Every method some route of ``app`` answers at ``scope``'s path, HEAD with GET: the
    operations of its OpenAPI document (which is what it publishes about itself), and the
    plain routes (the documentation pages) that document leaves out."""
    path = scope["path"]
    methods: set[str] = set()
    for pattern, operations in _operations(app):
        if pattern.match(path):
            methods |= operations
    probe = {**scope, "type": "http"}
    for route in app.router.routes:
        if isinstance(route, Route) and route.matches(probe)[0] != Match.NONE:
            methods |= set(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: order.index(m) if m in order else len(order))


def _operations(app: Any) -> list[tuple[re.Pattern[str], set[str]]]:
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in app.openapi()["paths"].items()
        ]
        app.state.allowed_methods = table
    return table


class Conventions:
    """ASGI middleware for HEAD, OPTIONS, complete ``Allow`` sets and CORS (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cors = "origin" in headers and is_public_read(
            path, headers.get("access-control-request-method", method)
        )
        if method == "OPTIONS":
            await self._options(scope, send, cors)
            return
        head = method == "HEAD"
        inner = {**scope, "method": "GET"} if head else scope

        async def send_wrapped(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = []
                if cors:
                    extra += [
                        (b"access-control-allow-origin", b"*"),
                        (b"access-control-expose-headers", CORS_EXPOSED.encode()),
                    ]
                if message["status"] == 405:
                    allow = ", ".join(allowed_methods(scope["app"], scope)).encode()
                    message["headers"] = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"
                    ] + [(b"allow", allow)]
                message["headers"] = list(message.get("headers", [])) + extra
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(inner, receive, send_wrapped)

    async def _options(self, scope: Scope, send: Any, cors: bool) -> None:
        allow = allowed_methods(scope["app"], scope)
        if not allow:
            await problems.send(scope, send, problems.protocol_error(HTTPException(404)))
            return
        headers = [(b"allow", ", ".join(allow).encode())]
        if cors:
            headers += [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", CORS_METHODS.encode()),
                (b"access-control-allow-headers", CORS_REQUEST_HEADERS.encode()),
                (b"access-control-max-age", b"86400"),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
