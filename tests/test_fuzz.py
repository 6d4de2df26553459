"""Schema-driven fuzzing: schemathesis generates requests for every operation in the OpenAPI
document, valid and invalid ones, as each kind of requester (anonymous, a flexibility service
provider, a market operator, the scheme operator, and an organisation holding every role); none
may get a server error (a 5xx, or an exception escaping the app). Then the extremes random
generation rarely reaches, on every operation: integers at and past 2^63 in every integer
parameter, and huge, one-token and deeply nested bodies in every body media type.

schemathesis is driven through its Python API (each operation's Hypothesis strategy, run by
Hypothesis itself), not its pytest plugin: the plugin's lazy schema fixture renames pytest's
test items through the private ``Item._nodeid``, which pytest 9.2 no longer has (every test
failed with ``AttributeError: 'Function' object has no attribute '_nodeid'``).

Bounded to stay quick in CI: a few examples per operation, derandomised so that a run is
repeatable (a new failure is a new bug, not bad luck).
"""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.app import create_app
from api.auth import current_principal
from registry.base.identity import FSP, MARKET_OPERATOR, SCHEME_OPERATOR, Principal
from registry.base.settings import Settings
from registry.trust.schemes import FDI_SCHEME
from tests.conftest import BASE, EXAMPLES, new_app

# Submission bodies are documented as strings in their media types; send them as text.
for _media in (
    "text/turtle",
    "application/n-triples",
    "text/csv",
    "application/ld+json",
    "application/sparql-query",
    "application/sparql-update",
):

    @schemathesis.serializer(_media)
    def _as_text(ctx, value):  # noqa: ARG001 - the serializer's signature
        return (
            value.encode("utf-8", "surrogatepass")
            if isinstance(value, str)
            else str(value).encode()
        )


def _member(name: str, *roles: str) -> Principal:
    scopes = {s for r in roles for s in FDI_SCHEME.default_scopes.get(r, FDI_SCHEME.scopes)}
    return Principal(BASE + f"id/org/{name}", frozenset(roles), frozenset(scopes))


PRINCIPALS = {
    "anonymous": None,
    "flexibility service provider": _member("fsp", FSP),
    "market operator": _member("mo", MARKET_OPERATOR),
    "scheme operator": _member("so", SCHEME_OPERATOR),
    "every role": _member("all", SCHEME_OPERATOR, FSP, MARKET_OPERATOR),
}
LIMITS = {"max_body_bytes": 256 * 1024, "anonymous_max_body_bytes": 64 * 1024}
FUZZ = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the first failure is reported as is
)


def _app(principal=None, **limits):
    app = create_app(Settings(data_dir=None, base_iri=BASE, **(limits or LIMITS)))
    if principal is not None:
        app.dependency_overrides[current_principal] = lambda: principal
    return app


def _schema(principal=None):
    return schemathesis.openapi.from_asgi("/openapi.json", _app(principal))


def _server_errors(schema) -> list[str]:
    """Run every operation's valid and invalid cases; the server errors met, one per operation."""
    errors = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(mode) for mode in GenerationMode)

        @FUZZ
        @given(case=cases)
        def run(case):
            response = case.call()
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{response.text[:500]}"
            )
            if response.status_code >= 400:  # every refusal is a problem document
                media = (response.headers.get("content-type") or [""])[0]  # schemathesis: lists
                assert _refusal_format(case.formatted_path, media, response.text), (
                    f"{case.method} {case.formatted_path} → {response.status_code} as {media}"
                )

        try:
            run()
        except Exception as e:  # noqa: BLE001 - an exception escaping the app is a finding too
            errors.append(f"{operation.label}: {type(e).__name__}: {e}")
    return errors


def _refusal_format(path: str, media: str, body: str) -> bool:
    """A refusal is an RFC 9457 problem document (or the HTML page a browser asked for); the
    OAuth endpoints' protocol errors are the JSON object with an ``error`` code that RFC 6749
    section 5.2 fixes."""
    oauth_error = path.startswith("/oauth/") and media.startswith("application/json")
    if oauth_error and '"error"' in body:
        return True
    return media.startswith(("application/problem+json", "text/html"))


@pytest.mark.parametrize("who", PRINCIPALS)
def test_no_server_error_for_any_kind_of_requester(who):
    errors = _server_errors(_schema(PRINCIPALS[who]))
    assert not errors, "\n".join(errors)


# --- the extremes ------------------------------------------------------------------------------

HUGE = [2**63 - 1, 2**63, -(2**63) - 1, 10**30]


def _operations(app):
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _fill(path: str, values: dict[str, object]) -> str:
    for name in path.split("{")[1:]:
        name = name.split("}")[0]
        path = path.replace("{" + name + "}", str(values.get(name, "x")))
    return path


OWNER = "the asset's owner"


def _app_with_an_asset(who: str):
    """An app holding one registered asset (so that record routes reach the journal), whose
    requests then come from ``who`` (its owner, or one of PRINCIPALS); and the asset's path
    parameters."""
    app = new_app(fsp=True, **LIMITS)
    client = TestClient(app)
    registered = client.post(
        "/assets",
        content=(EXAMPLES / "asset.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
    )
    assert registered.status_code == 201, registered.text
    kind, uid = next(iter(registered.json()["ids"].values())).removeprefix(BASE + "id/").split("/")
    if who == OWNER:
        pass
    elif PRINCIPALS[who] is None:
        del app.dependency_overrides[current_principal]
    else:
        app.dependency_overrides[current_principal] = lambda: PRINCIPALS[who]
    return client, {"kind": kind, "uid": uid}


@pytest.mark.parametrize("who", [*PRINCIPALS, OWNER])
def test_integers_at_and_past_2_63_are_never_a_server_error(who):
    """``GET /id/{kind}/{uid}/versions/9223372036854775808`` was a 500 for the record's owner
    (SQLite's integers are 64-bit); ``within_days`` past 10^9 overflowed a timedelta."""
    client, record = _app_with_an_asset(who)
    errors = []
    for method, path, operation in _operations(client.app):
        parameters = operation.get("parameters", [])
        for parameter in [p for p in parameters if p.get("schema", {}).get("type") == "integer"]:
            for value in HUGE:
                where, name = parameter["in"], parameter["name"]
                url = _fill(path, {**record, name: value} if where == "path" else record)
                query = {name: value} if where == "query" else {}
                response = client.request(method, url, params=query)
                if response.status_code >= 500:
                    errors.append(f"{method} {url} {query} → {response.status_code}")
    assert not errors, "\n".join(errors)


def _bodies(member: bool) -> dict[str, bytes]:
    size = (LIMITS["max_body_bytes"] if member else LIMITS["anonymous_max_body_bytes"]) - 100
    return {
        "deep JSON array": b"[" * 200_000 + b"]" * 200_000,
        "deep JSON object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "deep Turtle": b"<http://e/a> <http://e/p> " + b"( " * 100_000 + b")" * 100_000 + b" .",
        "one long token": b'"' + b"a" * size + b'"',
        "huge": b"x" * (LIMITS["max_body_bytes"] + 1),
        "not UTF-8": b"\xff\xfe" * 1000,
    }


@pytest.mark.parametrize("who", PRINCIPALS)
def test_huge_and_deep_bodies_are_never_a_server_error(who):
    client = TestClient(_app(PRINCIPALS[who]))
    errors = []
    for method, path, operation in _operations(client.app):
        media_types = operation.get("requestBody", {}).get("content", {})
        for media in media_types:
            for name, body in _bodies(PRINCIPALS[who] is not None).items():
                url = _fill(path, {})
                response = client.request(
                    method, url, content=body, headers={"Content-Type": media}
                )
                answered = response.headers.get("content-type", "")
                refused = response.status_code >= 400
                if refused and not _refusal_format(url, answered, response.text):
                    errors.append(f"{name} as {media} to {method} {url}: {answered}")
                if response.status_code >= 500:
                    errors.append(f"{name} as {media} to {method} {url} → {response.status_code}")
    assert not errors, "\n".join(errors)
