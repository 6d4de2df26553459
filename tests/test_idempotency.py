"""Idempotency-Key: a retried POST gets the original answer and receipt, never a second record."""

import threading

import pytest

from registry.assembly import Registry
from registry.kernel.idempotency import IdempotencyKey
from registry.submissions.formats import read_file
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.app(fsp=True)


OTHER_ASSET = (
    (EXAMPLES / "asset.ttl")
    .read_bytes()
    .replace(b"2143967712809", b"1012345678903")
    .replace(b'"_K"', b'"_A"')
    .replace(b"CF10 1EP", b"NR1 3JU")
)


def post(client, name="asset.ttl", key="retry-1"):
    body = OTHER_ASSET if name == "other" else (EXAMPLES / name).read_bytes()
    return client.post(
        "/submissions",
        content=body,
        headers={"Content-Type": "text/turtle", "Idempotency-Key": key},
    )


def test_a_retry_returns_the_original_answer_and_receipt(client):
    first = post(client)
    again = post(client)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert client.app.state.registry.journal.last()[0] == first.json()["seq"]
    assert client.app.state.registry.counts()["asset"] == 1


def test_the_same_key_with_another_body_is_a_422_problem(client):
    first = post(client)
    other = post(client, "other")
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert client.app.state.registry.journal.last()[0] == first.json()["seq"]


def test_another_key_is_another_request(client):
    first = post(client, "asset.ttl", "a").json()["seq"]
    assert post(client, "other", "b").json()["seq"] == first + 1


def test_racing_retries_register_once(disk_settings):
    registry = Registry(disk_settings)
    parsed = read_file(EXAMPLES / "asset.ttl")
    key = IdempotencyKey.of("alice", "race", b"same body", "text/turtle")
    answers = []

    def attempt():
        answers.append(registry.register(parsed, "alice", idempotency=key).as_dict())

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8 and all(a == answers[0] for a in answers)
    assert registry.journal.last()[0] == 1
    registry.close()


def test_the_stored_answer_survives_a_restart(disk_settings):
    registry = Registry(disk_settings)
    parsed = read_file(EXAMPLES / "asset.ttl")
    key = IdempotencyKey.of("alice", "k", b"body", "text/turtle")
    first = registry.register(parsed, "alice", idempotency=key).as_dict()
    registry.close()
    registry = Registry(disk_settings)
    again = registry.register(parsed, "alice", idempotency=key)
    assert again.replayed and again.as_dict() == first
    registry.close()
