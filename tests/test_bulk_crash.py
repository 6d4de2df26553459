"""BUC.2 step 8: the server is killed with SIGKILL in the middle of a 10,000-asset bulk job.

After a restart the job carries on by itself; at the end every row that had been acknowledged
before the crash is registered exactly once (under the same ID), every other good row is
registered too, and no record is half-written.

The server is a real ``fdi serve`` process on an on-disk store; the FSP authenticates with a
real certificate from the registry's CA, forwarded by a (simulated) trusted TLS proxy.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from registry.assembly import Registry
from registry.base.settings import Settings
from tests.servers import PROXY_ENV, forwarded, wait_until
from tests.test_jobs import demo_csv
from tests.trust import Onboarding

ASSETS = 10_000
METERED = """SELECT (COUNT(?a) AS ?assets) (COUNT(DISTINCT ?m) AS ?mpans)
WHERE { ?a <https://w3id.org/fdi/ns#mpanCore> ?m }"""  # one asset per meter: no row twice


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **PROXY_ENV,
        "FDI_BASE_IRI": f"http://127.0.0.1:{port}/",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def home_page() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(home_page, 60, "the server's start", interval=0.2)
    except RuntimeError:
        process.kill()
        raise
    return process


def onboard_fsp(data_dir: Path, port: int) -> str:
    """Onboard an FSP directly in the data directory (before the server opens it)."""
    registry = Registry(Settings(data_dir=data_dir, base_iri=f"http://127.0.0.1:{port}/"))
    fsp = Onboarding.of_registry(registry).member("Crash Test Flex Ltd", "09876543")
    registry.close()
    return fsp.certificate


def test_sigkill_during_a_bulk_job_loses_and_duplicates_nothing(tmp_path: Path):
    data_dir = tmp_path / "data"
    port = free_port()
    certificate = onboard_fsp(data_dir, port)
    headers = forwarded(certificate)
    body, bad_rows = demo_csv(ASSETS, bad_every=100)
    base = f"http://127.0.0.1:{port}"

    server = start_server(data_dir, port)
    try:
        accepted = httpx.post(
            f"{base}/jobs",
            content=body,
            timeout=120,
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert accepted.status_code == 202, accepted.text
        location = base + accepted.headers["location"]

        def a_chunk_registered() -> dict | None:  # type: ignore[type-arg]
            job = httpx.get(location, headers=headers, timeout=30).json()
            return job if job["registered"] > 0 else None

        job = wait_until(a_chunk_registered, 600, "an acknowledged chunk", interval=0.1)
        acknowledged: dict[str, str] = job["ids"]
        assert acknowledged, "no chunk was acknowledged before the deadline"
        assert job["status"] == "running", "the job finished before it could be interrupted"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    server = start_server(data_dir, port)  # the job resumes on start
    try:

        def finished() -> dict | None:  # type: ignore[type-arg]
            job = httpx.get(location, headers=headers, timeout=30).json()
            return job if job["status"] == "finished" else None

        job = wait_until(finished, 600, "the resumed job's end", interval=0.5)
        assert job["status"] == "finished"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)

    good = ASSETS - len(bad_rows)
    assert job["registered"] == good
    assert {int(f["record"].split()[1]) for f in job["refused"]} == bad_rows  # 1% bad rows
    assert {f["field"] for f in job["refused"]} == {"mpan"}  # each reported by row and field
    for local, iri in acknowledged.items():
        assert job["ids"][local] == iri  # acknowledged rows kept their IDs: not registered again
    registry = Registry(Settings(data_dir=data_dir, base_iri=f"http://127.0.0.1:{port}/"))
    try:
        assert registry.counts()["asset"] == good
        row = next(iter(registry.index.query(METERED, None)))
        assert int(row["assets"].value) == int(row["mpans"].value)  # type: ignore[index]
    finally:
        registry.close()
