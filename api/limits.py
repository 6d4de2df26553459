"""Request body limits, enforced as bytes arrive (ASGI middleware), per kind of requester.

Anonymous requests may send at most ``anonymous_max_body_bytes`` (default 1 MiB: a query, an
application to join, a file to check); members, authenticated by a client certificate, up to
``max_body_bytes`` (default 50 MiB: bulk jobs). Who is asking is only worked out when a body
would pass the anonymous limit, so small requests cost nothing extra; a certificate the
registry does not accept counts as anonymous.

A body whose ``Content-Length`` is over the limit is refused before any of it is read; a body
without one (chunked transfer encoding) is counted chunk by chunk and refused as soon as the
count passes the limit, so nothing ever buffers more than the limit. Either way the answer is
a 413 problem document, and the handler that was reading the body is abandoned: whatever it
would have answered is dropped, and it stored nothing (bodies are read whole before any work).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api import problems
from api.auth import requester
from registry.base.errors import PayloadTooLarge, RegistryError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised into the handler reading the body; the middleware has answered already."""


class BodySizeLimit:
    """Refuse request bodies larger than the requester's limit with 413, without buffering
    them: ``anonymous`` bytes for anonymous requesters, ``limit`` for members."""

    def __init__(self, app: ASGIApp, limit: int, anonymous: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.anonymous = min(limit, anonymous if anonymous is not None else limit)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits: dict[str, int] = {}

        async def limit_for(size: int) -> int:
            if size <= self.anonymous:
                return self.anonymous
            if "limit" not in limits:
                member = await run_in_threadpool(_is_member, scope)
                limits["limit"] = self.limit if member else self.anonymous
            return limits["limit"]

        declared = _content_length(scope)
        limit = await limit_for(declared) if declared is not None else None
        if declared is not None and limit is not None and declared > limit:
            await self._refuse(scope, send, f"the body ({declared} bytes) is larger than", limit)
            return
        state = {"received": 0, "started": False, "refused": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                limit = await limit_for(state["received"])
                if state["received"] > limit and not state["started"]:
                    state["refused"] = True
                    await self._refuse(scope, send, "the body is larger than", limit)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return  # the 413 is out; drop the abandoned handler's answer
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise

    async def _refuse(
        self, scope: MutableMapping[str, Any], send: Send, what: str, limit: int
    ) -> None:
        whose = "an anonymous request's" if limit < self.limit else "the"
        error = PayloadTooLarge(f"{what} {whose} limit of {limit} bytes", limit=limit)
        # the rest of the body is never read
        await problems.send(scope, send, error, Connection="close")


def _is_member(scope: MutableMapping[str, Any]) -> bool:
    """Whether the request comes from a member the registry accepts (as routes will see it)."""
    try:
        return requester(Request(scope)).authenticated
    except RegistryError:  # a certificate the registry refuses: the route will answer 401
        return False


def _content_length(scope: MutableMapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
