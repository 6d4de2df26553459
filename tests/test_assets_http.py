"""BUC.2 over HTTP, with identities injected (certificate authentication has its own tests)."""

import pytest
from fastapi.testclient import TestClient

from api.auth import current_principal
from registry.base.identity import MARKET_OPERATOR, Principal
from registry.trust.access_log import send_digests
from registry.trust.schemes import FDI_SCHEME
from tests.conftest import BASE, EXAMPLES
from tests.test_assets import make_fsp

MO_SCOPES = frozenset(FDI_SCHEME.default_scopes[MARKET_OPERATOR])

ASSET = (EXAMPLES / "asset.ttl").read_bytes()


pytestmark = pytest.mark.app(started=True)


@pytest.fixture
def as_principal(app):
    """Make a client that acts as a given principal."""
    from fastapi import Request

    principals: dict[str, Principal] = {}

    def who(request: Request) -> Principal:
        return principals.get(request.headers.get("x-test-principal", ""), Principal.anonymous())

    app.dependency_overrides[current_principal] = who

    def make(principal: Principal) -> TestClient:
        principals[principal.actor] = principal
        client = TestClient(app)
        client.headers["x-test-principal"] = principal.actor
        return client

    return make


def path_of(iri: str) -> str:
    return iri.removeprefix(BASE.rstrip("/"))


def test_registering_needs_authentication(app):
    response = TestClient(app).post(
        "/assets", content=ASSET, headers={"Content-Type": "text/turtle"}
    )
    assert response.status_code == 401


@pytest.fixture
def registered(app, as_principal) -> tuple[TestClient, str, bytes]:  # type: ignore[no-untyped-def]
    """An FSP's client, the asset it registered (at version 1) and a changed body for it."""
    client = as_principal(make_fsp(app.state.registry, "00000001"))
    created = client.post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"})
    assert created.status_code == 201, created.text
    iri = created.json()["ids"]["battery-cardiff-1"]
    body = ASSET.replace(b"<#battery-cardiff-1>", f"<{iri}>".encode()).replace(
        b"Powerwall 2", b"Powerwall 3"
    )
    return client, iri, body


def test_a_registered_asset_reads_with_its_version_as_etag(registered):
    client, iri, _ = registered
    got = client.get(path_of(iri), headers={"Accept": "text/turtle"})
    assert got.headers["etag"] == '"1.ttl"'


def test_an_update_without_if_match_is_428(registered):
    client, iri, body = registered
    answer = client.put(path_of(iri), content=body, headers={"Content-Type": "text/turtle"})
    assert answer.status_code == 428


def test_an_update_with_the_etag_read_makes_version_2(registered):
    client, iri, body = registered
    got = client.get(path_of(iri), headers={"Accept": "text/turtle"})
    updated = client.put(
        path_of(iri),
        content=body,
        headers={"Content-Type": "text/turtle", "If-Match": got.headers["etag"]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    versions = client.get(path_of(iri) + "/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    first = client.get(path_of(iri) + "/versions/1", headers={"Accept": "text/turtle"})
    assert "Powerwall 2" in first.text


def test_an_update_with_an_etag_of_a_superseded_version_is_412(registered):
    client, iri, body = registered
    turtle = {"Content-Type": "text/turtle"}
    assert (
        client.put(
            path_of(iri), content=body, headers={**turtle, "If-Match": '"1.ttl"'}
        ).status_code
        == 200
    )
    stale = client.put(path_of(iri), content=body, headers={**turtle, "If-Match": '"1.ttl"'})
    assert stale.status_code == 412


def test_a_duplicate_is_409_with_a_pointer(app, as_principal):
    registry = app.state.registry
    first = as_principal(make_fsp(registry, "00000001"))
    second = as_principal(make_fsp(registry, "00000002"))
    iri = first.post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"}).json()[
        "ids"
    ]["battery-cardiff-1"]
    refused = second.post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"})
    assert refused.status_code == 409
    assert refused.json()["existing"] == iri
    assert refused.headers["location"] == iri


def test_market_operator_reads_are_logged_and_digested_to_the_fsp(app, as_principal):
    registry = app.state.registry
    fsp = make_fsp(registry, "00000001")
    iri = (
        as_principal(fsp)
        .post("/assets", content=ASSET, headers={"Content-Type": "text/turtle"})
        .json()["ids"]["battery-cardiff-1"]
    )
    # Share the asset with the market operator by a copy in its shared graph (agreements do this).
    from registry.kernel import access

    mo = Principal(BASE + "id/org/mo-1", frozenset({MARKET_OPERATOR}), MO_SCOPES)
    with registry.transaction("test", "share") as tx:
        tx.copy(access.shared_graph(BASE, mo.organisation), iri, registry.record(iri, fsp))
    reader = as_principal(mo)
    assert reader.get(path_of(iri), headers={"Accept": "text/turtle"}).status_code == 200
    reads = as_principal(fsp).get("/reads").json()["reads"]
    assert [(r["reader"], r["record"]) for r in reads] == [(mo.organisation, iri)]
    assert send_digests(registry) == 1
    assert send_digests(registry) == 0  # nothing new since the last digest


def test_a_bulk_job_reports_progress_and_bad_rows(app, as_principal):
    fsp = make_fsp(app.state.registry, "00000001")
    client = as_principal(fsp)
    body = (EXAMPLES / "assets.csv").read_bytes().replace(b"1212345678902", b"1212345678901")
    accepted = client.post("/jobs", content=body, headers={"Content-Type": "text/csv"})
    assert accepted.status_code == 202
    app.state.jobs.wait(60)
    job = client.get(accepted.headers["location"]).json()
    assert job["status"] == "finished"
    assert job["registered"] == 3
    assert [(f["record"], f["field"]) for f in job["refused"]] == [
        ("row 3 (id battery-london-2)", "mpan")
    ]


def test_an_authorisation_refusal_is_journaled_in_the_audit_trail(app, as_principal):
    mo = Principal(BASE + "id/org/mo-1", frozenset({MARKET_OPERATOR}))
    refused = as_principal(mo).post(
        "/assets", content=ASSET, headers={"Content-Type": "text/turtle", "X-Request-Id": "req-42"}
    )
    assert refused.status_code == 403
    rows = app.state.registry.journal.read(
        "SELECT organisation, action, target, request_id FROM audit WHERE action = 'refused'"
    )
    assert rows == [(mo.organisation, "refused", "POST /assets", "req-42")]
