"""Three ``fdi serve`` replicas over one real PostgreSQL journal (registry.store.journal_pg).

Each replica is its own process with its own in-memory index, following the shared journal.
An FSP authenticates with a real certificate from the registry's CA, forwarded by a (simulated)
trusted TLS proxy. PostgreSQL itself is the oracle for what was stored: its ``record`` table
and the journal's hash chain, read directly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography import x509

from registry.assembly import Registry
from registry.base.settings import Settings
from registry.base.vocab import FDI
from registry.operations.demo_identifiers import mpan_core
from registry.store.journals import open_journal
from tests import postgres
from tests.conftest import EXAMPLES
from tests.servers import PROXY_ENV, forwarded, free_port, wait_until
from tests.trust import Member, Onboarding

ROOT = Path(__file__).resolve().parent.parent
ASSET = (EXAMPLES / "asset.ttl").read_text()
TURTLE = {"Content-Type": "text/turtle"}


def asset(n: int) -> bytes:
    """The example asset with its own ID, meter and serial number (``n`` < 10^9)."""
    return (
        ASSET.replace("battery-cardiff-1", f"battery-{n}")
        .replace("2143967712809", mpan_core(21, 3_000_000_000 + n))
        .replace("TG1234567890", f"TG{n:010d}")
        .encode()
    )


class Replica:
    def __init__(self, data_dir: Path, url: str, base_iri: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FDI_")},
            **PROXY_ENV,
            "FDI_JOURNAL_URL": url,
            "FDI_STORE": "memory",
            "FDI_BASE_IRI": base_iri,
            "FDI_CATCH_UP_WAIT": "0.5",
            "FDI_QUERY_ISOLATION": "off",
            "PYTHONPATH": str(ROOT),
        }
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve"]
            + ["--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait(self) -> None:
        process = self.process
        assert process is not None

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"replica on {self.port} exited {process.returncode}")
            try:
                return httpx.get(self.base + "/ns", timeout=2).status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(answers, 90, f"the start of the replica on {self.port}", interval=0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class World:
    def __init__(
        self, url: str, replicas: list[Replica], headers: dict[str, str], other: Member
    ) -> None:
        self.url = url
        self.replicas = replicas
        self.headers = headers
        self.other = other  # a second member, whose certificate a test revokes

    def sql(self, query: str, *params: object) -> list[tuple]:  # type: ignore[type-arg]
        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(query, params or None).fetchall()  # type: ignore[arg-type]

    def stored_assets(self) -> set[str]:
        rows = self.sql("SELECT iri FROM record WHERE type = %s", FDI.FlexibleAsset.value)
        return {iri for (iri,) in rows}

    def post(self, replica: Replica, body: bytes, **headers: str) -> httpx.Response:
        return httpx.post(
            replica.base + "/assets",
            content=body,
            headers={**self.headers, **TURTLE, **headers},
            timeout=60,
        )

    def ask(self, replica: Replica, query: str) -> bool:
        answer = httpx.post(
            replica.base + "/sparql",
            content=query,
            headers={
                **self.headers,
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["boolean"])

    def get(self, replica: Replica, iri: str, **headers: str) -> httpx.Response:
        path = iri.split("/", 3)[3]
        return httpx.get(
            f"{replica.base}/{path}",
            headers={**self.headers, "Accept": "text/turtle", **headers},
            timeout=30,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("replicas") / "data"
    base_iri = f"http://127.0.0.1:{free_port()}/"  # the balancer's address: the same for all
    with postgres.cluster() as cluster:
        url = cluster.database()
        # The CA and signing keys are made once and shared (on one machine: one data dir).
        settings = Settings(data_dir=data_dir, base_iri=base_iri, journal_url=url, store="memory")
        registry = Registry(settings)
        onboarding = Onboarding.of_registry(registry)
        fsp = onboarding.member("Replica Flex Ltd", "07654321")
        other = onboarding.member("Revoked Flex Ltd", "07654322")
        registry.close()
        replicas = [Replica(data_dir, url, base_iri) for _ in range(3)]
        try:
            for r in replicas:
                r.start()
            for r in replicas:
                r.wait()
            yield World(url, replicas, forwarded(fsp.certificate), other)
        finally:
            for r in replicas:
                r.stop()


def test_a_20_way_duplicate_race_over_three_replicas_registers_one_asset(world: World):
    body = asset(1)
    start = threading.Barrier(20)
    answers: list[httpx.Response] = [None] * 20  # type: ignore[list-item]

    def submit(i: int) -> None:
        start.wait()
        answers[i] = world.post(world.replicas[i % 3], body)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 19, statuses
    iri = next(a for a in answers if a.status_code == 201).json()["ids"]["battery-1"]
    assert all(a.json()["existing"] == iri for a in answers if a.status_code == 409)
    mpan = mpan_core(21, 3_000_000_001)
    bodies = world.sql("SELECT body FROM entry WHERE body LIKE %s", f"%{mpan}%")
    assert len(bodies) == 1  # one entry holds the meter: the asset was journaled once
    assert iri in world.stored_assets()


def test_a_write_on_one_replica_is_readable_on_another_within_a_second(world: World):
    writer, reader = world.replicas[1], world.replicas[2]
    created = world.post(writer, asset(2))
    assert created.status_code == 201, created.text
    iri = created.json()["ids"]["battery-2"]

    def read() -> httpx.Response | None:
        answer = world.get(reader, iri)
        return None if answer.status_code == 404 else answer

    found = wait_until(read, 1.0, "a read on the other replica", interval=0.02)
    assert found.status_code == 200
    assert mpan_core(21, 3_000_000_002) in found.text


def test_each_replica_follows_the_journal_into_its_own_index_unasked(world: World):
    created = world.post(world.replicas[2], asset(5))
    assert created.status_code == 201, created.text
    written = time.monotonic()
    mpan = mpan_core(21, 3_000_000_005)
    query = f'ASK {{ ?a <https://w3id.org/fdi/ns#mpanCore> "{mpan}" }}'
    for replica in world.replicas[:2]:
        left = max(0.0, written + 1.0 - time.monotonic())  # a second from the write for both
        # A query reads the index alone.
        wait_until(lambda: world.ask(replica, query), left, f"replica {replica.port}", 0.02)  # noqa: B023


def test_a_read_asking_for_the_writes_sequence_sees_it_on_another_replica(world: World):
    created = world.post(world.replicas[0], asset(3))
    seq = int(created.headers["FDI-Sequence"])
    assert seq >= created.json()["seq"]
    iri = created.json()["ids"]["battery-3"]
    read = world.get(world.replicas[1], iri, **{"FDI-Min-Sequence": str(seq)})
    assert read.status_code == 200
    assert int(read.headers["FDI-Sequence"]) >= seq


def test_a_sequence_the_journal_has_not_reached_is_503_with_retry_after(world: World):
    (head,) = world.sql("SELECT max(seq) FROM entry")[0]
    before = world.sql("SELECT count(*) FROM entry")
    read = world.get(world.replicas[1], "http://x/ns", **{"FDI-Min-Sequence": str(head + 1000)})
    assert read.status_code == 503
    assert read.headers["Retry-After"] == "1"
    assert read.json()["type"].endswith("/not-caught-up")
    assert world.sql("SELECT count(*) FROM entry") == before  # refusing wrote nothing


def test_a_retry_on_another_replica_with_its_idempotency_key_gets_the_first_answer(world: World):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = world.post(world.replicas[0], asset(4), **key)
    again = world.post(world.replicas[2], asset(4), **key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (
        len(world.sql("SELECT 1 FROM record WHERE iri = %s", first.json()["ids"]["battery-4"])) == 1
    )


def test_a_certificate_revoked_through_one_replica_is_refused_by_another_at_once(world: World):
    member = world.other
    whoami = world.replicas[2].base + "/whoami"
    before = httpx.get(whoami, headers=forwarded(member.certificate), timeout=30)
    assert before.json()["authenticated"] is True
    serial = format(x509.load_pem_x509_certificate(member.certificate.encode()).serial_number, "x")
    revoked = httpx.post(
        f"{world.replicas[0].base}/certificates/{serial}/revoke",
        json={"reason": "keyCompromise"},
        headers=forwarded(member.admin_certificate),
        timeout=30,
    )
    assert revoked.status_code == 200, revoked.text
    after = httpx.get(whoami, headers=forwarded(member.certificate), timeout=30)
    assert after.status_code == 401 or after.json()["authenticated"] is False


def test_fdi_journal_verify_checks_a_postgresql_journal_and_its_derived_tables(world: World):
    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from api.cli import main; main()", "journal", "verify"],
            env={**world.replicas[0].env, "FDI_DATA_DIR": str(world.replicas[0].data_dir)},
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    intact = verify()
    assert intact.returncode == 0, intact.stderr
    assert "hash chain intact" in intact.stdout
    (seq, actor) = world.sql("SELECT seq, actor FROM version ORDER BY seq LIMIT 1")[0]
    world.sql("UPDATE version SET actor = 'someone else' WHERE seq = %s RETURNING 1", seq)
    try:
        edited = verify()
    finally:
        world.sql("UPDATE version SET actor = %s WHERE seq = %s RETURNING 1", actor, seq)
    assert edited.returncode == 1
    assert "someone else" in edited.stderr


def test_sigkill_of_a_replica_while_8_writers_run_loses_no_acknowledged_write(world: World):
    acknowledged: dict[int, str] = {}
    stop = threading.Event()
    errors: list[str] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            number = 1000 + w * 10_000 + n
            body, key = asset(number), {"Idempotency-Key": f"w{w}-{n}"}
            for attempt in range(6):  # a replica gone: the same request on the next one
                replica = world.replicas[(w + attempt) % 3]
                try:
                    answer = world.post(replica, body, **key)
                except httpx.TransportError:
                    continue
                if answer.status_code == 201:
                    with lock:
                        acknowledged[number] = answer.json()["ids"][f"battery-{number}"]
                else:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")
                break

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    # Writes are acknowledged before the kill and after it (rather than for fixed times, which
    # a loaded machine may fill with no write at all).
    wait_until(lambda: len(acknowledged) >= 8, 60, "8 writes before the kill", interval=0.05)
    victim = world.replicas[0]
    before_kill = len(acknowledged)
    victim.stop(signal.SIGKILL)
    wait_until(lambda: len(acknowledged) >= before_kill + 8, 60, "8 writes after", interval=0.05)
    stop.set()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert before_kill > 0 and len(acknowledged) > before_kill  # writes ran on both sides
    # PostgreSQL holds every acknowledged asset, once, and the hash chain is whole.
    stored = world.stored_assets()
    assert set(acknowledged.values()) <= stored
    mine = {iri for iri in stored if any(iri == v for v in acknowledged.values())}
    assert len(mine) == len(acknowledged)
    check = open_journal(None, world.url)
    try:
        assert check.verify() == world.sql("SELECT count(*) FROM entry")[0][0]
    finally:
        check.close()
    # Every surviving replica, and the killed one restarted, serves every acknowledged write.
    victim.start()
    victim.wait()
    (head,) = world.sql("SELECT max(seq) FROM entry")[0]
    for replica in world.replicas:
        for iri in acknowledged.values():
            read = world.get(replica, iri, **{"FDI-Min-Sequence": str(head)})
            assert read.status_code == 200, (replica.port, iri, read.status_code)
