"""No input makes the registry fetch anything (server-side request forgery).

Every JSON-LD feature that can name another document is sent, as an attacker would, to every
route of the OpenAPI document that takes JSON, to a registry served by uvicorn on loopback. The
documents point at a listening socket that answers with a valid context (so a fetch would
succeed and go unnoticed), at a closed port, at files, at relative IRIs and at the registry
itself; the socket must see zero connections, the answer must be the same 4xx whatever the
target, and the registry must be unchanged. An audit hook (``sys.addaudithook``) is the
independent witness for files: the context file must never be opened.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from api.auth import current_principal
from registry.base.identity import FSP, MARKET_OPERATOR, SCHEME_OPERATOR, Principal
from registry.base.vocab import FDI
from registry.submissions.formats import REMOTE_REFUSED
from registry.trust.schemes import FDI_SCHEME
from tests.conftest import BASE, new_app
from tests.servers import free_port, serve

CONTEXT = {"@context": {"ex": "http://e.example/", "p": "http://e.example/p"}}
# Every role and scope, so that no route refuses before it reads the body.
EVERYTHING = Principal(
    BASE + "id/org/ssrf",
    frozenset({SCHEME_OPERATOR, FSP, MARKET_OPERATOR}),
    frozenset(FDI_SCHEME.scopes),
)
JSON_TYPES = ("application/ld+json", "application/json", "application/activity+json")


class Canary(ThreadingHTTPServer):
    """A loopback HTTP server answering every request with a valid JSON-LD context; counts the
    connections it accepts."""

    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        super().__init__(("127.0.0.1", 0), _ContextHandler)

    def verify_request(self, request, client_address) -> bool:  # type: ignore[no-untyped-def]
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _ContextHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps(CONTEXT).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


_opened: list[str] = []


def _audit(event: str, args: tuple) -> None:
    """Note every opening of a context file for reading (the tests write them first)."""
    reading = event == "open" and (args[1] is None or "r" in str(args[1]))
    if reading and isinstance(args[0], str) and "ssrf-context" in args[0]:
        _opened.append(args[0])


sys.addaudithook(_audit)  # hooks cannot be removed; this one only notes our own file names


def features(target: str) -> dict[str, object]:
    """Every way a JSON-LD document can refer to ``target`` (an absolute IRI), by name."""
    inline = {"ex": "http://e.example/"}
    node = {"@id": "http://e.example/a", "http://e.example/q": "v"}
    v11 = {"@version": 1.1}
    return {
        "string @context": {"@context": target, **node},
        "array @context": {"@context": [inline, target], **node},
        "@import": {"@context": {**v11, "@import": target}, **node},
        "@import after @base (relative)": {
            "@context": [{"@base": target}, {**v11, "@import": "ssrf-context.jsonld"}],
            **node,
        },
        "relative @context after @base": {
            "@context": {"@base": target},
            "@graph": [{"@context": "ssrf-context.jsonld", **node}],
        },
        "scoped context on a term": {
            "@context": {**v11, "p": {"@id": "http://e.example/p", "@context": target}},
            "@id": "http://e.example/a",
            "p": {"http://e.example/q": "v"},
        },
        "scoped context on a type": {
            "@context": {**v11, "T": {"@id": "http://e.example/T", "@context": target}},
            "@type": "T",
            **node,
        },
        "@import in a scoped context": {
            "@context": {
                **v11,
                "p": {"@id": "http://e.example/p", "@context": {"@import": target}},
            },
            "@id": "http://e.example/a",
            "p": {"http://e.example/q": "v"},
        },
        "context inside @graph": {"@context": inline, "@graph": [{"@context": target, **node}]},
        "context in a nested node": {
            "@context": inline,
            "@id": "http://e.example/a",
            "ex:p": {"@context": target, "http://e.example/q": "v"},
        },
        "context in a list item": {
            "@context": inline,
            "@id": "http://e.example/a",
            "ex:p": {"@list": [{"@context": target, "http://e.example/q": "v"}]},
        },
        "top-level array of documents": [{"@context": target, **node}],
    }


def json_routes(app) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    """(method, path, JSON media types) of every operation whose body may be JSON."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            types = [t for t in content if t in JSON_TYPES]
            if types:
                found.append((method.upper(), path.replace("{", "").replace("}", ""), types))
    return found


class Counted:
    """ASGI wrapper counting the HTTP requests that reach the application."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.requests = 0

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def registry_app():
    app = new_app()
    app.dependency_overrides[current_principal] = lambda: EVERYTHING
    return app


@pytest.fixture(scope="module")
def url(registry_app) -> Iterator[str]:
    with serve(registry_app) as base:
        yield base


def state(app) -> tuple:  # type: ignore[no-untyped-def]
    """What the registry holds: its journal entries other than the audit of refusals (each
    refused request is journaled as such on purpose) and its index, less the marker of the
    last journal entry applied."""
    registry = app.state.registry
    entries = registry.journal.read("SELECT seq, kind, hash FROM entry WHERE kind != 'audit'")
    quads = [q for q in registry.index.dump() if q.predicate != FDI.journalSequence]
    return entries, len(quads)


def send_everywhere(app, url: str, target: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every feature to every JSON route; the detail of each submission route's answer."""
    details = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, doc in features(target).items():
            for method, path, types in json_routes(app):
                for media in types:
                    response = client.request(
                        method, path, content=json.dumps(doc), headers={"Content-Type": media}
                    )
                    where = f"{name}: {method} {path} as {media}"
                    assert 400 <= response.status_code < 500, f"{where}: {response.text[:300]}"
                    if "turtle" in str(app.openapi()["paths"][_template(app, path)]):
                        details[where] = response.json()["detail"]
    return details


def _template(app, path: str) -> str:  # type: ignore[no-untyped-def]
    for template in app.openapi()["paths"]:
        if template.replace("{", "").replace("}", "") == path:
            return template
    raise KeyError(path)


def test_no_json_ld_feature_on_any_route_connects_to_a_listening_server(canary, registry_app, url):
    before = state(registry_app)
    details = send_everywhere(registry_app, url, canary.url + "context.jsonld")
    assert canary.connections == 0
    assert details, "no submission route was driven"
    assert {d.split(": ", 1)[1] for d in details.values()} == {REMOTE_REFUSED}, details
    assert state(registry_app) == before


def test_the_routes_driven_include_anonymous_validate_and_every_submission_route(registry_app):
    routes = {(m, p) for m, p, _ in json_routes(registry_app)}
    assert {("POST", "/validate"), ("POST", "/submissions"), ("POST", "/jobs")} <= routes
    assert ("POST", "/id/org/uid/inbox") in routes
    assert len(routes) >= 15


def test_the_answer_says_nothing_about_the_target(canary, registry_app, url, tmp_path):
    """Listening and answering, closed port, existing file, missing file: the same answers,
    so the registry cannot be used as a port scanner or a file prober."""
    context_file = tmp_path / "ssrf-context.jsonld"
    context_file.write_text(json.dumps(CONTEXT))
    targets = [
        canary.url + "context.jsonld",
        f"http://127.0.0.1:{free_port()}/context.jsonld",
        context_file.as_uri(),
        (tmp_path / "ssrf-context-missing.jsonld").as_uri(),
    ]
    answers = [send_everywhere(registry_app, url, target) for target in targets]
    assert all(a == answers[0] for a in answers[1:])
    assert canary.connections == 0
    assert _opened == []


def test_a_context_at_the_registrys_own_address_is_refused_at_once(registry_app):
    """It hung the server until SIGKILL: the fetch ran on the event loop, waiting for itself."""
    counted = Counted(registry_app)
    with serve(counted) as url:
        targets = [url + "sparql?query=ASK%7B%7D", url + "ns", url + "ns/context.jsonld#import"]
        sent = 0
        start = time.monotonic()
        with httpx.Client(base_url=url, timeout=10) as client:
            for target in targets:
                for doc in (
                    {"@context": target, "@id": "http://e.example/a"},
                    {"@context": {"@version": 1.1, "@import": target}, "@id": "http://e.example/a"},
                ):
                    response = client.post(
                        "/validate",
                        content=json.dumps(doc),
                        headers={"Content-Type": "application/ld+json"},
                    )
                    sent += 1
                    assert response.status_code == 400, response.text
        assert counted.requests == sent
        assert time.monotonic() - start < 20


def test_the_registrys_own_context_by_iri_still_works_without_a_fetch(canary, registry_app, url):
    doc = {
        "@context": "https://w3id.org/fdi/context.jsonld",
        "id": "a",
        "type": "FlexibleAsset",
    }
    response = httpx.post(
        url + "validate", content=json.dumps(doc), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 200, response.text
    assert canary.connections == 0


def test_a_file_context_is_never_opened(tmp_path):
    from registry.base.errors import UnusableInput
    from registry.submissions.formats import read_bytes

    context_file = tmp_path / "ssrf-context.jsonld"
    context_file.write_text(json.dumps(CONTEXT))
    for doc in features(context_file.as_uri()).values():
        with pytest.raises(UnusableInput, match="never fetched"):
            read_bytes(json.dumps(doc).encode(), "jsonld")
    assert _opened == []
