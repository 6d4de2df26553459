"""Endpoint monitoring against local endpoints over real TLS: one up, one slow, one down, one
serving the wrong media type, one presenting a certificate about to expire; the directory shows
each state, keeps the history, and the publisher's inbox hears of failures."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import current_principal
from registry.base import outbound
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.settings import Settings
from registry.operations import monitoring
from registry.publishing.member_catalogues import submit_catalogue
from registry.submissions.formats import read_bytes
from registry.trust.ca import CertificateAuthority
from registry.trust.schemes import operator_iri
from tests.conftest import BASE
from tests.servers import free_port
from tests.test_catalogue import organisation
from tests.test_sparql_safety import connections, listening
from tests.tls_world import Running, onboard_over_tls, operator_client


@dataclass
class Endpoints:
    """Local HTTPS endpoints; ``seen`` lists every path any of them was asked for."""

    good: str
    expiring: str
    down: str
    ca_file: Path
    seen: list[str] = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        if self.path == "/slow.csv":
            time.sleep(0.8)  # the behaviour: an endpoint slower than monitor_slow_ms
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/secret")
            self.end_headers()
            return
        kind = "text/html" if self.path == "/html.csv" else "text/csv; charset=utf-8"
        body = b"period,kw\n2026-12-07T00:00Z,100\n"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def https_server(
    ca: CertificateAuthority, days: int, tmp: Path, seen: list[str]
) -> tuple[http.server.ThreadingHTTPServer, str]:
    key, cert = ca.sign_server(["127.0.0.1"], days=days)
    (tmp / f"{days}.key").write_bytes(key)
    (tmp / f"{days}.pem").write_bytes(cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / f"{days}.pem", tmp / f"{days}.key")
    handler = type("H", (Handler,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def endpoints(tmp_path: Path) -> Iterator[Endpoints]:
    web_ca = CertificateAuthority.open(tmp_path / "web-ca")  # stands for a public web CA
    seen: list[str] = []
    good, good_url = https_server(web_ca, 397, tmp_path, seen)
    expiring, expiring_url = https_server(web_ca, 5, tmp_path, seen)
    yield Endpoints(
        good_url, expiring_url, f"https://127.0.0.1:{free_port()}", web_ca.ca_file(), seen
    )
    for server in (good, expiring):
        server.shutdown()
        server.server_close()


def catalogue(urls: dict[str, str]) -> bytes:
    distributions = "".join(
        f"""
<#{name}> a dcat:Distribution ;
    dcat:accessURL <{url}> ; dcat:downloadURL <{url}> ;
    dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> ."""
        for name, url in urls.items()
    )
    return f"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct:  <http://purl.org/dc/terms/> .
@prefix fdi:  <https://w3id.org/fdi/ns#> .
<#catalogue> a fdi:MemberCatalogue ;
    dct:title "Monitored data"@en ; dct:description "Endpoints for the monitor."@en ;
    dcat:dataset <#data> .
<#data> a dcat:Dataset ;
    dct:title "Availability"@en ; dct:description "Half-hourly availability."@en ;
    dcat:distribution {", ".join(f"<#{n}>" for n in urls)} .
{distributions}
""".encode()


@pytest.fixture
def registry_app(tmp_path: Path, endpoints: Endpoints):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=None,
        base_iri=BASE,
        monitor_interval=0,
        monitor_timeout=2.0,
        monitor_slow_ms=500,
        monitor_ca_file=str(endpoints.ca_file),
        monitor_denied_networks="",  # the test endpoints are on loopback
    )
    app = create_app(settings)
    member = organisation(app, "Endpoint Owner Ltd", "07654321")
    urls = {
        "up": endpoints.good + "/up.csv",
        "slow": endpoints.good + "/slow.csv",
        "down": endpoints.down + "/gone.csv",
        "html": endpoints.good + "/html.csv",
        "expiring": endpoints.expiring + "/up.csv",
        "redirect": endpoints.good + "/redirect",
    }
    parsed = read_bytes(catalogue(urls), "turtle", source="catalogue.ttl")
    submit_catalogue(app.state.registry, parsed, member)
    app.state.member = member
    app.state.urls = urls
    yield app
    app.dependency_overrides.clear()


def states(client: TestClient) -> dict[str, str]:
    return {r["url"]: r["state"] for r in client.get("/directory/endpoints").json()}


def test_the_directory_shows_each_endpoints_state(registry_app) -> None:  # type: ignore[no-untyped-def]
    monitoring.check_all(registry_app.state.registry)
    urls = registry_app.state.urls
    with TestClient(registry_app) as client:
        assert states(client) == {
            urls["up"]: "up",
            urls["slow"]: "slow",
            urls["down"]: "down",
            urls["html"]: "wrong-media-type",
            urls["expiring"]: "certificate-expiring",
            urls["redirect"]: "down",
        }


def test_a_members_only_catalogues_endpoints_are_reported_to_members_only(
    registry_app, endpoints: Endpoints
) -> None:  # type: ignore[no-untyped-def]
    registry = registry_app.state.registry
    private = endpoints.good + "/private.csv"
    parsed = read_bytes(catalogue({"private": private}), "turtle", source="members.ttl")
    submit_catalogue(registry, parsed, registry_app.state.member, audience="members")
    monitoring.check_all(registry)
    with TestClient(registry_app) as client:
        assert private not in states(client)
        registry_app.dependency_overrides[current_principal] = lambda: registry_app.state.member
        assert states(client)[private] == "up"


def test_only_registered_urls_are_contacted_and_redirects_are_not_followed(
    registry_app, endpoints: Endpoints
) -> None:  # type: ignore[no-untyped-def]
    monitoring.check_all(registry_app.state.registry)
    assert sorted(endpoints.seen) == sorted(
        ["/up.csv", "/slow.csv", "/html.csv", "/up.csv", "/redirect"]
    )


def test_a_certificate_from_an_untrusted_ca_is_invalid(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    endpoint = monitoring.Endpoint("o", "n", endpoints.good + "/up.csv", "text/csv")
    settings = Settings(data_dir=None, monitor_timeout=2.0, monitor_denied_networks="")
    check = monitoring.probe(endpoint, settings)
    assert check.state == "certificate-invalid" and check.certificate_valid is False


def test_by_default_an_endpoint_in_a_private_network_is_not_contacted(
    endpoints: Endpoints,
) -> None:
    endpoint = monitoring.Endpoint("o", "n", endpoints.good + "/up.csv", "text/csv")
    settings = Settings(data_dir=None, monitor_ca_file=str(endpoints.ca_file))
    check = monitoring.probe(endpoint, settings)
    assert check.state == "refused" and "127.0.0.1" in check.detail
    assert endpoints.seen == []


def test_the_measurements_are_dqv_and_carry_the_certificate_expiry(registry_app) -> None:  # type: ignore[no-untyped-def]
    monitoring.check_all(registry_app.state.registry)
    registry = registry_app.state.registry
    result = registry.index.query(
        """PREFIX dqv: <http://www.w3.org/ns/dqv#>
        PREFIX fdi: <https://w3id.org/fdi/ns#>
        SELECT ?url ?value WHERE {
          ?report fdi:checkedURL ?url ; dqv:hasQualityMeasurement ?m .
          ?m a dqv:QualityMeasurement ; dqv:isMeasurementOf fdi:tlsCertificateExpiry ;
             dqv:value ?value ; dqv:computedOn ?node .
          ?report fdi:monitors ?node .
        }""",
        [registry.public_graph],
    )
    expiries = {row["url"].value: row["value"].value for row in result}
    soon = dt.datetime.fromisoformat(expiries[registry_app.state.urls["expiring"]])
    assert dt.timedelta(days=4) < soon - dt.datetime.now(dt.UTC) < dt.timedelta(days=6)


def test_history_is_kept_and_the_member_is_told_once_of_a_failure(registry_app) -> None:  # type: ignore[no-untyped-def]
    registry = registry_app.state.registry
    monitoring.check_all(registry)
    monitoring.check_all(registry)
    with TestClient(registry_app) as client:
        down = next(
            r for r in client.get("/directory/endpoints").json()
            if r["url"] == registry_app.state.urls["down"]
        )  # fmt: skip
        uid = down["id"].rsplit("/", 1)[-1]
        history = client.get(f"/id/endpoint/{uid}/history").json()
        assert [h["state"] for h in history] == ["down", "down"]
        names = [n.get("name") for n in _notifications(registry, registry_app.state.member)]
    assert names.count("endpoint-down") == 2  # the down endpoint and the redirecting one
    assert names.count("endpoint-certificate-expiring") == 1
    assert names.count("endpoint-wrong-media-type") == 1


def test_only_the_operator_may_start_a_round(registry_app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(registry_app) as client:
        registry_app.dependency_overrides[current_principal] = lambda: registry_app.state.member
        assert client.post("/directory/endpoints/check").status_code == 403
        assert client.get("/directory/endpoints").json() == []
        operator = Principal(operator_iri(BASE), frozenset({SCHEME_OPERATOR}))
        registry_app.dependency_overrides[current_principal] = lambda: operator
        assert len(client.post("/directory/endpoints/check").json()) == 6


def _notifications(registry, member: Principal) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    import json

    rows = registry.journal.read(
        "SELECT body FROM notification WHERE recipient = ?", (member.organisation,)
    )
    return [json.loads(body) for (body,) in rows]


MONITORED = {"monitor_interval": 0, "monitor_timeout": 2.0, "monitor_slow_ms": 500,
             "monitor_denied_networks": ""}  # fmt: skip


@pytest.mark.parametrize("server", [MONITORED], indirect=True)
def test_over_tls_a_member_registers_endpoints_and_anyone_sees_their_states(
    server: Running, endpoints: Endpoints
) -> None:
    # the endpoints' CA exists only once the fixtures run, after the server's settings were
    # made: give the (frozen) settings its file the way FDI_MONITOR_CA_FILE would have
    object.__setattr__(
        server.app.state.registry.settings, "monitor_ca_file", str(endpoints.ca_file)
    )  # type: ignore[attr-defined]
    so = operator_client(server)
    _, _, app = onboard_over_tls(server, so)
    urls = {"up": endpoints.good + "/up.csv", "down": endpoints.down + "/x.csv",
            "expiring": endpoints.expiring + "/up.csv"}  # fmt: skip
    published = app.post(
        "/catalogues", content=catalogue(urls), headers={"Content-Type": "text/turtle"}
    )
    assert published.status_code == 201, published.text
    assert app.post("/directory/endpoints/check").status_code == 403  # members may not
    assert so.post("/directory/endpoints/check").status_code == 200
    with server.client() as anonymous:
        seen = {r["url"]: r["state"] for r in anonymous.get("/directory/endpoints").json()}
    assert seen == {
        urls["up"]: "up",
        urls["down"]: "down",
        urls["expiring"]: "certificate-expiring",
    }


def test_an_ipv4_address_written_as_ipv6_is_denied_as_the_ipv4_host():
    # ::ffff:127.0.0.1 reaches loopback: a member must not slip its endpoint past the ranges.
    ranges = "127.0.0.0/8,10.0.0.0/8,::1/128"
    assert monitoring.denied("http://[::ffff:127.0.0.1]:9/x", ranges) == "127.0.0.1"
    assert monitoring.denied("http://[::ffff:10.1.2.3]:9/x", ranges) == "10.1.2.3"


@pytest.mark.parametrize("host", ["[::]", "[::7f00:1]", "[64:ff9b::a00:1]", "[2002:7f00:1::]"])
def test_ipv6_forms_that_reach_a_local_or_ipv4_host_are_denied_by_default(host: str) -> None:
    # Reported by a review: connecting to "::" reaches a dual-stack listener on loopback.
    assert outbound.denied(f"http://{host}:9/x", outbound.DENIED_NETWORKS) is not None


def rebinding(monkeypatch: pytest.MonkeyPatch, port: int) -> list[str]:
    """``rebind.example`` answers a public address first and loopback from then on."""
    real, answers = socket.getaddrinfo, []

    def lookup(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        answers.append("203.0.113.7" if not answers else "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return answers


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_contacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS rebinding: the check saw a public address, the connection would have gone to loopback.
    sock = listening()
    answers = rebinding(monkeypatch, sock.getsockname()[1])
    endpoint = monitoring.Endpoint(
        "o", "n", f"http://rebind.example:{sock.getsockname()[1]}/x", None
    )
    check = monitoring.probe(endpoint, Settings(data_dir=None, monitor_timeout=2.0))
    assert answers[:2] == ["203.0.113.7", "127.0.0.1"]
    assert connections(sock) == 0
    assert check.state == "down" and "127.0.0.1 is a denied address" in check.detail
    sock.close()


def test_a_webhook_whose_name_rebinds_to_loopback_is_not_contacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sock = listening()
    port = sock.getsockname()[1]
    rebinding(monkeypatch, port)
    with outbound.client(outbound.DENIED_NETWORKS, "", 2.0) as client:
        assert (
            outbound.denied(f"https://rebind.example:{port}/hook", outbound.DENIED_NETWORKS) is None
        )
        with pytest.raises(httpx.ConnectError, match="127.0.0.1 is a denied address"):
            client.post(f"https://rebind.example:{port}/hook", content=b"{}")
    assert connections(sock) == 0
    sock.close()
