"""Federation: two registries with different IRI bases, each a real uvicorn server on
127.0.0.1 with the other on its ``federation_peers`` allow-list, find each other's records by
natural key (``SERVICE <peer>``), and report the ``owl:sameAs`` links between them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import current_principal
from registry.assembly import Registry
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.settings import Settings
from registry.base.vocab import FDI
from registry.publishing.federation import _peer_query, lookup
from tests.conftest import BASE, EXAMPLES, external_store, new_app
from tests.servers import PROXY_ENV, forwarded, free_port, registry_server
from tests.trust import Onboarding

MPAN = "2143967712809"
TURTLE = {"Content-Type": "text/turtle"}
SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"


OPERATORS: dict[str, str] = {}  # base URL -> the scheme operator's certificate (PEM)
ORGANISATIONS: dict[str, str] = {}  # base URL -> the organisation applied there


def prepare(data_dir: Path, base: str, company_number: str) -> dict[str, str]:
    """A data directory with the scheme operator's certificate issued and one organisation
    applied, before the server opens it; the server then believes the
    certificate forwarded by the (simulated) TLS proxy on 127.0.0.1."""
    registry = Registry(Settings(data_dir=data_dir, base_iri=base))
    onboarding = Onboarding.of_registry(registry)
    OPERATORS[base] = onboarding.operator_certificate
    ORGANISATIONS[base], _ = onboarding.apply("FlexCo Energy Services Ltd", company_number)
    registry.close()
    return {"FDI_DATA_DIR": str(data_dir), **PROXY_ENV}


@pytest.fixture(scope="module")
def two_registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    port_a, port_b = free_port(), free_port()
    base_a, base_b = f"http://127.0.0.1:{port_a}/", f"http://127.0.0.1:{port_b}/"
    env_a = prepare(tmp_path_factory.mktemp("a") / "data", base_a, "87654321")
    env_b = prepare(tmp_path_factory.mktemp("b") / "data", base_b, "12345678")
    with (
        registry_server({**env_a, "FDI_FEDERATION_PEERS": base_b + "sparql"}, port_a) as a,
        registry_server({**env_b, "FDI_FEDERATION_PEERS": base_a + "sparql"}, port_b) as b,
    ):
        yield a, b


def submit(base: str, body: bytes) -> str:
    """Register public records as the scheme operator of the registry at ``base``."""
    headers = {**TURTLE, **forwarded(OPERATORS[base])}
    response = httpx.post(base + "submissions", content=body, headers=headers, timeout=60)
    assert response.status_code == 201, response.text
    return next(iter(response.json()["ids"].values()))


def registered(base: str) -> str | None:
    """The registry's own record of the example asset, if it has one."""
    found = httpx.get(base + "lookup", params={"mpan": MPAN}, timeout=60).json()
    return next((m["record"] for m in found["matches"] if m["source"] == "local"), None)


def test_registries_find_each_others_records_by_natural_key(two_registries) -> None:  # type: ignore[no-untyped-def]
    a, b = two_registries
    asset_b = submit(b, (EXAMPLES / "asset.ttl").read_bytes())
    org_b = ORGANISATIONS[b]
    assert asset_b.startswith(b) and org_b.startswith(b)

    by_mpan = httpx.get(a + "lookup", params={"mpan": MPAN}, timeout=60).json()
    assert [(m["source"], m["record"]) for m in by_mpan["matches"]] == [(b + "sparql", asset_b)]
    assert by_mpan["peers"] == [{"endpoint": b + "sparql", "status": "answered"}]

    by_company = httpx.get(a + "lookup", params={"company_number": "1234 5678"}, timeout=60).json()
    assert [m["record"] for m in by_company["matches"]] == [org_b]


def test_equivalent_records_are_linked_across_registries(two_registries) -> None:  # type: ignore[no-untyped-def]
    a, b = two_registries
    asset_b = registered(b) or submit(b, (EXAMPLES / "asset.ttl").read_bytes())
    linked = (
        (EXAMPLES / "asset.ttl")
        .read_text()
        .replace(
            'fdi:serialNumber "TG1234567890" .',
            f'fdi:serialNumber "TG1234567890" ;\n    {SAME_AS} <{asset_b}> .',
        )
    )
    asset_a = submit(a, linked.encode())
    found = httpx.get(b + "lookup", params={"mpan": MPAN}, timeout=60).json()
    records = {(m["source"], m["record"]) for m in found["matches"]}
    assert ("local", asset_b) in records and (a + "sparql", asset_a) in records
    assert sorted([asset_a, asset_b]) in found["equivalent"]


def test_a_peer_that_is_down_is_reported_not_fatal() -> None:
    port = free_port()
    settings = Settings(
        data_dir=None,
        base_iri=BASE,
        federation_peers=f"http://127.0.0.1:{port}/sparql",
        **external_store(),
    )
    app = create_app(settings)
    with TestClient(app) as client:
        found = client.get("/lookup", params={"mpan": MPAN}).json()
    assert found["matches"] == []
    assert found["peers"][0]["status"].startswith("failed")


def test_only_allow_listed_peers_are_asked() -> None:
    from registry.assembly import Registry

    registry = Registry(Settings(data_dir=None, base_iri=BASE))
    assert lookup(registry, "mpan", MPAN)["peers"] == []
    registry.close()


def test_the_key_is_sent_inside_the_service_pattern() -> None:
    text = _peer_query("http://127.0.0.1:9/sparql", FDI.mpanCore, ox.Literal('1" } ?s ?p ?o {'))
    assert (
        "SERVICE <http://127.0.0.1:9/sparql> {\n    VALUES (?key ?value) { "
        '(<https://w3id.org/fdi/ns#mpanCore> "1\\" } ?s ?p ?o {") }' in text
    )


def test_lookup_needs_exactly_one_key() -> None:
    app = new_app()
    with TestClient(app) as client:
        assert client.get("/lookup").status_code == 400
        assert client.get("/lookup", params={"mpan": MPAN, "lei": "x"}).status_code == 400


def test_a_record_is_linked_with_same_as() -> None:
    app = new_app(external=True)
    app.dependency_overrides[current_principal] = lambda: Principal(
        BASE + "id/org/scheme-operator", frozenset({SCHEME_OPERATOR})
    )
    with TestClient(app) as client:
        iri = client.post(
            "/submissions", content=(EXAMPLES / "asset.ttl").read_bytes(), headers=TURTLE
        ).json()
        iri = next(iter(iri["ids"].values()))
        path = iri.removeprefix(BASE.rstrip("/"))
        other = "http://peer.test/id/asset/1"
        linked = client.post(path + "/same-as", json={"sameAs": other}, headers={"If-Match": '"1"'})
        assert linked.status_code == 200, linked.text
        found = client.get("/lookup", params={"mpan": MPAN}).json()
    assert found["matches"][0]["sameAs"] == [other]
    assert found["equivalent"] == [sorted([iri, other])]
