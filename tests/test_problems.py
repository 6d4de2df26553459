"""One error path: every error the service answers is an RFC 9457 problem document of one
shape, built in api/problems.py; each request has an ID that every log record written while
handling it carries; catch-alls log their traceback."""

from __future__ import annotations

import doctest
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import logs, problems
from api.app import create_app
from registry.base.errors import JournalUnavailable, QueryCapacity, QueryFailed, RegistryError
from registry.base.settings import Settings
from registry.query.query import Dataset
from registry.query.sparql_endpoint import InProcessRunner
from registry.query.sparql_results import QueryRequest
from tests.conftest import BASE

PROBLEM_TYPES = "https://w3id.org/fdi/problems/"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app() -> Any:
    """The service in memory, anonymous bodies limited to 1000 bytes (closed by the client)."""
    settings = Settings(data_dir=None, store="memory", base_iri=BASE, anonymous_max_body_bytes=1000)
    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:  # raises what the app lets out
        yield test_client


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The test's log records (``.records``), each stamped with its request ID as ``fdi serve``
    stamps them."""
    stamp = logs.RequestIdFilter()
    caplog.handler.addFilter(stamp)
    caplog.set_level(logging.INFO)
    yield caplog
    caplog.handler.removeFilter(stamp)


def assert_problem(response: Any, status: int, slug: str, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= problem.keys()
    assert problem["type"] == PROBLEM_TYPES + slug
    assert problem["status"] == status
    assert problem["instance"] == path
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem  # type: ignore[no-any-return]


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/no/such/page"), 404, "http-error", "/no/such/page")


def test_options_on_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.options("/no/such/page"), 404, "http-error", "/no/such/page")


def test_a_method_the_path_does_not_offer_is_a_405_problem_with_allow(client: TestClient) -> None:
    refused = client.delete("/sparql")
    assert_problem(refused, 405, "http-error", "/sparql")
    assert "GET" in refused.headers["allow"]


def test_fastapis_request_validation_is_a_422_problem_naming_the_parameter(
    client: TestClient,
) -> None:
    refused = client.get("/journal/checkpoints", params={"limit": "many"})
    problem = assert_problem(refused, 422, "invalid-request", "/journal/checkpoints")
    assert [e["where"] for e in problem["errors"]] == ["query.limit"]
    assert "detail" in problem and not isinstance(problem["detail"], list)


def test_a_registry_error_in_a_route_is_a_problem(client: TestClient) -> None:
    assert_problem(client.put("/id/asset/1", content=b""), 401, "unauthenticated", "/id/asset/1")


def test_the_body_limit_is_a_413_problem(client: TestClient) -> None:
    refused = client.post("/assets", content=b"x" * 5000, headers={"content-type": "text/turtle"})
    problem = assert_problem(refused, 413, "payload-too-large", "/assets")
    assert problem["limit"] == 1000


def test_a_browser_gets_the_body_limit_as_a_page(client: TestClient) -> None:
    refused = client.post(
        "/assets",
        content=b"x" * 5000,
        headers={"content-type": "text/turtle", "accept": "text/html"},
    )
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/html")
    assert "Payload too large" in refused.text


def test_a_malformed_query_is_a_400_problem(client: TestClient) -> None:
    assert_problem(
        client.get("/sparql", params={"query": "SELEC"}), 400, "query-refused", "/sparql"
    )


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (QueryCapacity("every query worker stayed busy for 5 s"), 503, "query-capacity"),
        (QueryFailed("the query failed: a peer did not answer"), 502, "query-failed"),
    ],
)
def test_the_sparql_endpoints_capacity_and_failure_are_problems(
    client: TestClient,
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
    error: RegistryError,
    status: int,
    slug: str,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(app.state.registry.sparql, "answer", refuse)
    answer = client.get("/sparql", params={"query": "ASK {}"})
    assert assert_problem(answer, status, slug, "/sparql")["detail"] == error.detail


def test_an_unexpected_error_is_a_500_problem_that_hides_it_and_logs_its_traceback(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, logged: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("registry.proof.checkpoints.published", broken)
    answer = client.get("/journal/checkpoints", headers={"X-Request-ID": "trace-500"})
    problem = assert_problem(answer, 500, "internal-error", "/journal/checkpoints")
    assert "secret" not in answer.text and "trace-500" in problem["detail"]
    assert answer.headers["x-request-id"] == "trace-500"
    tracebacks = [r for r in logged.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(tracebacks) == 1 and tracebacks[0].request_id == "trace-500"  # type: ignore[attr-defined]


def test_a_registry_error_raised_in_a_middleware_is_its_own_problem(
    client: TestClient, app: Any, monkeypatch: pytest.MonkeyPatch, logged: pytest.LogCaptureFixture
) -> None:
    def unavailable() -> int:  # api/sequence.py asks it for every answer
        raise JournalUnavailable("the journal's database does not answer")

    monkeypatch.setattr(app.state.registry, "applied", unavailable)
    answer = client.get("/no/such/page")
    assert_problem(answer, 503, "journal-unavailable", "/no/such/page")
    assert not [r for r in logged.records if r.exc_info]  # a known error, no traceback


def test_every_answer_carries_the_clients_safe_request_id(client: TestClient) -> None:
    answer = client.get("/no/such/page", headers={"X-Request-ID": "req-42.a:b"})
    assert answer.headers["x-request-id"] == "req-42.a:b"


def test_an_answer_without_a_request_id_gets_a_fresh_one(client: TestClient) -> None:
    first, second = client.get("/"), client.get("/")
    assert GENERATED_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "hostile",
    [
        b"x" * 65,  # too long
        b"one\ntwo",  # a second line in a log
        b"a\r\nSet-Cookie: session=stolen",  # a second header
        "caf\u00e9".encode(),  # not ASCII
        b"<script>",
        b"",
    ],
)
def test_a_malformed_request_id_is_replaced_in_the_header_and_the_logs(
    client: TestClient, logged: pytest.LogCaptureFixture, hostile: bytes
) -> None:
    answer = client.get("/no/such/page", headers=[(b"X-Request-ID", hostile)])
    given = answer.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(given)
    assert answer.headers.get_list("x-request-id") == [given]
    assert "set-cookie" not in answer.headers
    stamped = {r.request_id for r in logged.records if r.name == "api.requests"}  # type: ignore[attr-defined]
    assert stamped == {given}


def test_a_log_record_written_while_handling_a_request_carries_its_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, logged: pytest.LogCaptureFixture
) -> None:
    def published_and_logs(*args: object) -> list[object]:  # in the thread pool, as handlers
        logging.getLogger("registry.test").warning("listing checkpoints")
        return []

    monkeypatch.setattr("registry.proof.checkpoints.published", published_and_logs)
    client.get("/journal/checkpoints", headers={"X-Request-ID": "list-1"})
    client.get("/journal/checkpoints", headers={"X-Request-ID": "list-2"})
    inside = [r.request_id for r in logged.records if r.name == "registry.test"]  # type: ignore[attr-defined]
    assert inside == ["list-1", "list-2"]
    answered = [r for r in logged.records if r.name == "api.requests"]
    assert [r.request_id for r in answered] == ["list-1", "list-2"]  # type: ignore[attr-defined]
    assert answered[0].getMessage().startswith("testclient GET /journal/checkpoints 200 ")


def test_the_answers_line_names_who_sent_the_request(
    client: TestClient, logged: pytest.LogCaptureFixture
) -> None:
    client.get("/no/such/page")
    (line,) = [r.getMessage() for r in logged.records if r.name == "api.requests"]
    assert line.startswith("testclient GET /no/such/page 404 ")


def test_the_answers_line_believes_x_real_ip_only_from_the_proxy(
    logged: pytest.LogCaptureFixture,
) -> None:
    secret = "s" * 32
    settings = Settings(data_dir=None, store="memory", base_iri=BASE, proxy_secret=secret)
    with TestClient(create_app(settings)) as proxied:
        proxied.get("/whoami", headers={"X-Real-IP": "192.0.2.7"})  # forged: no secret
        proxied.get(
            "/whoami",
            headers={"X-Real-IP": "192.0.2.8", settings.proxy_secret_header: secret},
        )
    lines = [r.getMessage() for r in logged.records if r.name == "api.requests"]
    assert [line.split()[0] for line in lines] == ["testclient", "192.0.2.8"]


def test_a_record_outside_any_request_has_no_id(logged: pytest.LogCaptureFixture) -> None:
    logging.getLogger("registry.test").warning("between requests")
    assert [r.request_id for r in logged.records] == [None]  # type: ignore[attr-defined]


def test_json_lines_put_a_record_and_its_traceback_on_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.getLogger("registry.test").makeRecord(
            "registry.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    logs.RequestIdFilter().filter(record)
    line = logs.JsonLines().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["level"] == "ERROR" and fields["logger"] == "registry.test"
    assert fields["message"] == "failed x" and fields["request_id"] is None
    assert fields["time"].endswith("+00:00")
    assert "ValueError: bad\nvalue" in fields["traceback"]


def test_a_query_workers_catch_all_logs_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    def run_query(request: QueryRequest) -> Any:
        raise KeyError("lost")

    runner = InProcessRunner(run_query, slots=1)
    query = QueryRequest("ASK {}", Dataset((), ()), "application/json", "text/turtle", 10)
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(QueryFailed, match="KeyError"):
            runner.run(query, 5.0)
    finally:
        runner.close()
    failures = [r for r in caplog.records if r.name == "registry.query.sparql_endpoint"]
    assert len(failures) == 1 and failures[0].exc_info and failures[0].exc_info[0] is KeyError


def test_a_thread_that_dies_is_logged_with_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # restored afterwards
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)
    stream = io.StringIO()
    handler = logs.configure(stream=stream)
    try:

        def job() -> None:
            raise OSError("disk gone")

        thread = threading.Thread(target=job, name="job-7")
        thread.start()
        thread.join()
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    died = [line for line in lines if line["logger"] == "threads"]
    assert len(died) == 1 and "job-7" in died[0]["message"]
    assert "OSError: disk gone" in died[0]["traceback"]


@pytest.mark.parametrize("module", [logs, problems])
def test_the_docstring_examples_hold(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
