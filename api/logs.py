"""Logging: one JSON line per record, each carrying the ID of the request it was written in.

Every request gets an ID: the client's ``X-Request-ID`` when it is a short safe token (ASCII
letters, digits and ``._:-``, at most 64 characters), else a fresh random one, so that nothing a
client sends reaches a header, a log line or the audit trail raw. The answer carries it back in
``X-Request-ID``; while the request is handled it is held in a context variable (which the thread
pool inherits), and ``RequestIdFilter`` stamps it on every log record. ``configure`` (which
``fdi serve`` calls once) writes records to standard error as JSON lines with ``time``,
``level``, ``logger``, ``request_id`` and ``message`` (and ``traceback`` for an exception).

>>> safe_request_id("req-42")
'req-42'
>>> len(safe_request_id("two\\nlines")), len(safe_request_id("x" * 65)), len(safe_request_id(None))
(32, 32, 32)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from typing import Any, TextIO

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.auth import client_address
from registry.base.errors import RegistryError

HEADER = b"x-request-id"
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)
log = logging.getLogger("api.requests")


def safe_request_id(given: str | None) -> str:
    """``given`` when it is a short safe token, else a fresh ID (32 hex digits)."""
    if given is not None and _SAFE.fullmatch(given):
        return given
    return uuid.uuid4().hex


def request_id() -> str | None:
    """The ID of the request being handled (None outside a request)."""
    return _current.get()


class RequestIds:
    """ASGI middleware (outermost): give each request its ID, send it back in ``X-Request-ID``,
    log one line per answer and, with its traceback, any error no handler caught, which it
    answers as a 500 problem naming the ID (api/problems.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k.lower() == HEADER), None)
        rid = safe_request_id(given.decode("latin-1") if given is not None else None)
        token = _current.set(rid)
        began = time.monotonic()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if not isinstance(error, RegistryError) or status is not None:
                log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if status is not None:
                raise  # the answer has begun: the server ends the connection
            problem = error if isinstance(error, RegistryError) else problems.unexpected(rid)
            await problems.send(scope, send_with_id, problem)
        finally:
            took = (time.monotonic() - began) * 1000
            log.info(
                "%s %s %s %s %.0f ms", _source(scope), scope["method"], scope["path"], status, took
            )
            _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamp each record with ``request_id``: the request it was written in, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


class JsonLines(logging.Formatter):
    """A record as one line of JSON: time (UTC), level, logger, request_id, message, and the
    traceback of an exception (newlines escaped, so a record is always one line)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line)


def configure(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send every record (the registry's, the web server's) to ``stream`` (standard error) as
    JSON lines stamped with the request ID; calling it again replaces the handler it made."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "fdi_json_lines", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.fdi_json_lines = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()  # theirs would print a second, plain copy
        logging.getLogger(name).propagate = True
    threading.excepthook = _thread_died
    return handler


def _thread_died(args: threading.ExceptHookArgs) -> None:
    """A background thread that ends with an error (one without a catch-all of its own, such
    as a bulk job's) is logged with its traceback, not printed around the log."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("threads").error(
        "thread %s stopped with an error",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )


def _source(scope: Scope) -> str:
    """Who sent the request, for the answer's log line: the proxy's ``X-Real-IP`` on a request
    the proxy forwarded (proved by its secret), else the peer's address (api.auth)."""
    try:
        return client_address(Request(scope))
    except (KeyError, AttributeError):  # an app without settings (a bare ASGI app): the peer
        client = scope.get("client")
        return str(client[0]) if client else "unknown"
