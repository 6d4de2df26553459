"""Schema-driven fuzzing: schemathesis generates requests for every operation in the OpenAPI
document, valid and invalid ones, as an anonymous requester and as an organisation holding
every role; none may get a server error (a 5xx, or an exception escaping the app).

schemathesis is driven through its Python API (each operation's Hypothesis strategy, run by
Hypothesis itself), not its pytest plugin: the plugin's lazy schema fixture renames pytest's
test items through the private ``Item._nodeid``, which pytest 9.2 no longer has (every test
failed with ``AttributeError: 'Function' object has no attribute '_nodeid'``).

Bounded to stay quick in CI: a few examples per operation, derandomised so that a run is
repeatable (a new failure is a new bug, not bad luck).
"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.app import create_app
from api.auth import current_principal
from registry.identity import FSP, MARKET_OPERATOR, SCHEME_OPERATOR, Principal
from registry.settings import Settings
from tests.conftest import BASE

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


EVERY_ROLE = Principal(BASE + "id/org/fuzz", frozenset({SCHEME_OPERATOR, FSP, MARKET_OPERATOR}))
FUZZ = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _schema(principal=None):
    app = create_app(Settings(data_dir=None, base_iri=BASE, max_body_bytes=256 * 1024))
    if principal is not None:
        app.dependency_overrides[current_principal] = lambda: principal
    return schemathesis.openapi.from_asgi("/openapi.json", app)


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

        try:
            run()
        except Exception as e:  # noqa: BLE001 - an exception escaping the app is a finding too
            errors.append(f"{operation.label}: {type(e).__name__}: {e}")
    return errors


def test_no_server_error_for_anonymous_requests():
    errors = _server_errors(_schema())
    assert not errors, "\n".join(errors)


def test_no_server_error_for_an_organisation_with_every_role():
    errors = _server_errors(_schema(EVERY_ROLE))
    assert not errors, "\n".join(errors)
