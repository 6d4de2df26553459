"""``FDI-Min-Sequence`` as an attacker sends it (api/sequence.py): never a 500, never a wait
for a sequence the journal has not reached, never more than a few requests waiting at once."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.conftest import new_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(new_app(catch_up_wait=60.0))


@pytest.mark.parametrize(
    "value", [b"\xb2", "9" * 5000, "-1", "1e3", " ", "\u0663".encode()], ids=repr
)
def test_a_value_that_is_no_sequence_number_is_a_400(client: TestClient, value) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/ns", headers=[(b"FDI-Min-Sequence", value)])
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_sequence_beyond_the_journal_is_503_at_once(client: TestClient) -> None:
    started = time.monotonic()
    answer = client.get("/ns", headers={"FDI-Min-Sequence": "9" * 19})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert time.monotonic() - started < 30  # not catch_up_wait (60 s)


def test_a_sequence_already_applied_is_answered(client: TestClient) -> None:
    applied = client.get("/ns").headers["fdi-sequence"]
    assert client.get("/ns", headers={"FDI-Min-Sequence": applied}).status_code == 200
