"""Every refusal leaves a trace: 4xx answers are counted per source, logged with a rate limit,
and listed for the scheme operator at ``GET /refusals``."""

import logging

from fastapi.testclient import TestClient

from api.auth import current_principal
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.operations.refusals import MAX_REQUESTS_PER_SOURCE, Refusals
from tests.conftest import BASE, new_app

OPERATOR = Principal(BASE + "id/org/scheme-operator", frozenset({SCHEME_OPERATOR}))


def _app(**settings):
    return new_app(**settings)


def test_anonymous_401s_are_counted_per_source_and_shown_to_the_operator():
    app = _app()
    head = app.state.registry.journal.last()
    anonymous = TestClient(app)  # its requests come from the address "testclient"
    for _ in range(5):
        response = anonymous.post("/assets", content=b"", headers={"Content-Type": "text/turtle"})
        assert response.status_code == 401
    assert anonymous.get("/refusals").status_code == 401
    assert app.state.registry.journal.last() == head  # counted, not journaled
    app.dependency_overrides[current_principal] = lambda: OPERATOR
    listed = anonymous.get("/refusals").json()["sources"]
    assert listed[0]["source"] == "testclient"
    assert listed[0]["statuses"] == {"401": 6}
    assert listed[0]["requests"]["POST /assets"] == 5


def test_refusals_are_visible_only_to_the_scheme_operator():
    app = _app()
    member = Principal(
        BASE + "id/org/fsp", frozenset({"https://w3id.org/fdi/ns#FlexibilityServiceProvider"})
    )
    app.dependency_overrides[current_principal] = lambda: member
    assert TestClient(app).get("/refusals").status_code == 403


def test_a_body_refused_by_the_size_limit_is_counted_too():
    app = _app(anonymous_max_body_bytes=1000)
    response = TestClient(app).post(
        "/validate", content=b"#" * 2000, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 413
    assert app.state.refusals.summary()[0]["statuses"] == {"413": 1}


def test_a_flood_is_logged_once_per_interval_per_source(caplog):
    now = [0.0]
    refusals = Refusals(interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="fdi.refusals"):
        for i in range(10_000):
            now[0] = i / 1000  # 10,000 refusals in 10 s
            refusals.record("192.0.2.7", 401, "POST /assets")
        refusals.record("198.51.100.1", 404, "GET /nothing")
        now[0] = 61
        refusals.record("192.0.2.7", 401, "POST /assets")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused 401 POST /assets from 192.0.2.7",
        "refused 404 GET /nothing from 198.51.100.1",
        "refused 401 POST /assets from 192.0.2.7, and 9999 more from it since the last line",
    ]
    assert refusals.summary()[0]["total"] == 10_001


def test_only_the_most_recently_active_sources_are_kept():
    refusals = Refusals(max_sources=3)
    for n in range(10):
        refusals.record(f"192.0.2.{n}", 400, "GET /x")
    assert {s["source"] for s in refusals.summary()} == {"192.0.2.7", "192.0.2.8", "192.0.2.9"}


def test_successful_requests_are_not_counted():
    app = _app()
    assert TestClient(app).get("/whoami").status_code == 200
    assert app.state.refusals.summary() == []


def test_a_source_refused_on_endless_new_paths_keeps_a_bounded_count():
    # An attacker chooses the paths: 404s on ever new ones must not grow memory without bound.
    refusals = Refusals()
    for n in range(MAX_REQUESTS_PER_SOURCE + 500):
        refusals.record("192.0.2.1", 404, f"GET /nothing-{n}")
    (source,) = refusals.summary()
    # past the first MAX_REQUESTS_PER_SOURCE distinct paths, every refusal counts as (other)
    assert source["requests"]["(other)"] == 500 and source["total"] == MAX_REQUESTS_PER_SOURCE + 500


def test_behind_the_proxy_refusals_count_the_client_not_the_proxy():
    secret = "s" * 40
    app = _app(proxy_secret=secret)
    with TestClient(app) as client:
        client.get("/refusals", headers={"X-Real-IP": "198.51.100.7", "X-FDI-Proxy-Secret": secret})
        client.get("/refusals", headers={"X-Real-IP": "198.51.100.9"})  # no secret: not believed
    sources = {s["source"] for s in app.state.refusals.summary()}
    assert sources == {"198.51.100.7", "testclient"}
