"""docs/replicas.md's nginx configuration, as written there, balancing three replicas over one
PostgreSQL journal: Debian's nginx terminates TLS and checks real client certificates; a
replica killed with SIGKILL is skipped, and writes and reads through nginx go on.

Only the addresses and file locations of the page's ``nginx`` block are rewritten (loopback
ports, the test's directory); everything else is the page's text.
"""

from __future__ import annotations

import re
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.assembly import Registry
from registry.base.settings import Settings
from registry.trust.ca import CertificateAuthority
from tests import postgres
from tests.servers import PROXY_SECRET, free_port, nginx_serving
from tests.test_replicas import TURTLE, Replica, asset
from tests.trust import Member, Onboarding

ROOT = Path(__file__).resolve().parent.parent


def documented_config() -> str:
    """The ``nginx`` fence of docs/replicas.md."""
    page = (ROOT / "docs" / "replicas.md").read_text()
    (config,) = re.findall(r"```nginx\n(.*?)```", page, re.S)
    return config


def localised(config: str, directory: Path, ca_file: Path, port: int, upstreams: list[int]) -> str:
    for i, upstream in enumerate(upstreams):
        config = config.replace(f"10.0.0.1{i + 1}:8000", f"127.0.0.1:{upstream}")
    config = config.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    config = config.replace("/etc/fdi/", f"{directory}/").replace("/etc/nginx/", f"{directory}/")
    return config.replace("/srv/fdi/ca/ca.pem", str(ca_file))


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, list]]:
    directory = tmp_path_factory.mktemp("balanced")
    data_dir = directory / "data"
    port = free_port()
    public = f"https://127.0.0.1:{port}/"
    with postgres.cluster() as cluster:
        url = cluster.database()
        settings = Settings(data_dir=data_dir, base_iri=public, journal_url=url, store="memory")
        registry = Registry(settings)
        ca = CertificateAuthority.open(data_dir)
        fsp: Member = Onboarding(registry, ca).member("Balanced Flex Ltd", "08765432")
        key, cert = ca.sign_server(["127.0.0.1", "localhost"])
        registry.close()
        (directory / "server.key").write_bytes(key)
        (directory / "server.pem").write_bytes(cert)
        replicas = [Replica(data_dir, url, public) for _ in range(3)]
        config = localised(
            documented_config(), directory, ca.ca_file(), port, [r.port for r in replicas]
        )
        context = ssl.create_default_context(cafile=str(ca.ca_file()))
        (directory / "client.pem").write_text(fsp.certificate)
        (directory / "client.key").write_bytes(fsp.key)
        context.load_cert_chain(directory / "client.pem", directory / "client.key")
        try:
            for r in replicas:
                r.start()
            for r in replicas:
                r.wait()
            with (
                nginx_serving(directory, config, port, PROXY_SECRET),
                httpx.Client(base_url=public, verify=context, timeout=60) as client,
            ):
                yield client, replicas
        finally:
            for r in replicas:
                r.stop()


def test_the_documented_nginx_balances_writes_and_reads_over_three_replicas(balanced):
    client, replicas = balanced
    me = client.get("/whoami").json()
    assert me["authenticated"] is True  # the client certificate came through nginx
    created = [client.post("/assets", content=asset(100 + n), headers=TURTLE) for n in range(6)]
    assert [c.status_code for c in created] == [201] * 6
    for c in created:
        wanted = {"FDI-Min-Sequence": c.headers["FDI-Sequence"], "Accept": "text/turtle"}
        assert client.get(c.headers["location"], headers=wanted).status_code == 200


def test_through_nginx_writes_and_reads_go_on_when_a_replica_is_killed(balanced):
    client, replicas = balanced
    replicas[0].stop(signal.SIGKILL)
    created = [client.post("/assets", content=asset(200 + n), headers=TURTLE) for n in range(6)]
    assert [c.status_code for c in created] == [201] * 6
    for c in created:
        wanted = {"FDI-Min-Sequence": c.headers["FDI-Sequence"], "Accept": "text/turtle"}
        assert client.get(c.headers["location"], headers=wanted).status_code == 200
