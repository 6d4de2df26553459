"""Schema-driven fuzzing: schemathesis generates requests for every operation in the OpenAPI
document, valid and invalid ones, as an anonymous requester and as an organisation holding
every role; none may get a server error (a 5xx, or an exception escaping the app).

Bounded to stay quick in CI: a few examples per operation, derandomised so that a run is
repeatable (a new failure is a new bug, not bad luck).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

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


@pytest.fixture(scope="module")
def anonymous_api():
    return _schema()


@pytest.fixture(scope="module")
def organisation_api():
    return _schema(EVERY_ROLE)


anonymous = schemathesis.pytest.from_fixture("anonymous_api")
organisation = schemathesis.pytest.from_fixture("organisation_api")


def _no_server_error(case):
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:500]}"
    )


@anonymous.parametrize()
@FUZZ
def test_no_server_error_for_anonymous_requests(case):
    _no_server_error(case)


@organisation.parametrize()
@FUZZ
def test_no_server_error_for_an_organisation_with_every_role(case):
    _no_server_error(case)
