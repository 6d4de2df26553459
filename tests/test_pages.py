"""Issue 16 item 1: pages a person reads (search, assets, organisations, lists, charts,
directory, licences) show what the requester may see and no more, and link onward."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from registry.base.settings import Settings
from registry.operations.demo import generate
from tests.conftest import BASE, EXAMPLES, act_as_fsp, new_app

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    # Every statistics cell published (disclosure control merges cells under 5 assets, and
    # this demo is small): these tests are about the pages, not disclosure control.
    settings = Settings(data_dir=None, base_iri=BASE, disclosure_threshold=1)
    app = create_app(settings, demo_assets=40)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def first() -> dict[str, str]:
    """The demo's first asset row (the demo is generated the same way every time)."""
    return next(iter(generate(40, 1).asset_rows))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip = tag in ("style", "script")
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def read(client: TestClient, path: str) -> tuple[str, list[str]]:
    """A page's visible text (spaces squeezed) and its links."""
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html")
    parser = _Text()
    parser.feed(response.text)
    text = re.sub(r"\s+", " ", " ".join(parser.parts))
    return re.sub(r" ([,.;:)])", r"\1", text), parser.links


def asset_path(client: TestClient, mpan: str) -> str:
    _, links = read(client, f"/search?q={mpan}")
    (path,) = [link for link in links if link.startswith("/id/asset/")]
    return path


def test_search_by_mpan_finds_the_asset(client: TestClient, first: dict[str, str]) -> None:
    text, _ = read(client, f"/search?q={first['mpan']}")
    assert f"1 result for “{first['mpan']}” (read as MPAN)" in text
    assert first["name"] in text


@pytest.mark.parametrize("field", ["postcode", "name"])
def test_search_by_postcode_or_name_finds_the_asset(
    client: TestClient, first: dict[str, str], field: str
) -> None:
    text, _ = read(client, "/search?q=" + first[field].lower())
    assert first["name"] in text


def test_search_by_company_number_and_lei_finds_the_organisation(client: TestClient) -> None:
    demo = generate(40, 1)
    org = next(o for o in demo.organisations if o.lei)
    for key in (org.company_number, org.lei):
        text, links = read(client, f"/search?q={key}")
        assert org.legal_name in text, key
        assert any(link.startswith("/id/org/") for link in links)


def test_the_asset_page_reads_as_a_person_would(client: TestClient, first: dict[str, str]) -> None:
    response = client.get(asset_path(client, first["mpan"]), headers=HTML)
    assert f"<title>{first['name']} · FDI registry</title>" in response.text
    text, links = read(client, asset_path(client, first["mpan"]))
    assert f"Import capacity {first['import_kw']} kW" in text
    assert "importCapacity" not in text.split("Every statement")[0]
    assert "Licence area North Western (GSP group _G)" in text
    operator = re.search(r"Operator (.+?), under a right to operate from", text)
    assert operator is not None and "-" not in operator.group(1)[:8]  # a name, not a UUID
    assert any(link.startswith("/id/org/") for link in links)
    assert "Rights to operate" in text and "Versions of this record" in text
    assert "Signposting per market" in text or "No market publishes requirements" in text


def test_the_operator_named_is_the_one_holding_the_current_right(
    client: TestClient, first: dict[str, str]
) -> None:
    registry = client.app.state.registry  # type: ignore[attr-defined]
    path = asset_path(client, first["mpan"])
    rights = registry.index.query(
        "SELECT ?name WHERE { ?r <https://w3id.org/fdi/ns#asset> <"
        + BASE
        + path[1:]
        + "> ; <https://w3id.org/fdi/ns#operator> ?o . "
        + "?o <http://www.w3.org/ns/regorg#legalName> ?name }",
        None,
    )
    (name,) = [row["name"].value for row in rights]
    text, _ = read(client, path)
    assert f"Operator {name}, under a right to operate" in text


def test_the_organisation_page_counts_and_links_the_assets_it_operates(
    client: TestClient, first: dict[str, str]
) -> None:
    _, links = read(client, asset_path(client, first["mpan"]))
    org = next(link for link in links if link.startswith("/id/org/"))
    text, org_links = read(client, org)
    count = int(re.search(r"Assets it operates (\d+) asset", text).group(1))  # type: ignore[union-attr]
    listing = next(link for link in org_links if link.startswith("/assets?operator="))
    listed, _ = read(client, listing)
    assert f"{count} asset" in listed and count >= 1


def test_asset_lists_filter_by_technology_area_and_status(client: TestClient) -> None:
    registry = client.app.state.registry  # type: ignore[attr-defined]
    rows = registry.capacity_statistics()
    expected = sum(r["assets"] for r in rows if r["technology"] == "HeatPump")
    text, _ = read(client, "/assets?technology=HeatPump")
    assert f"{expected} asset" in text
    in_area = sum(r["assets"] for r in rows if r["area"] == "_G")
    text, _ = read(client, "/assets?area=_G")
    assert f"{in_area} asset" in text
    both = sum(
        r["assets"] for r in rows if r["area"] == "_G" and r["status"].endswith("Commissioned")
    )
    text, _ = read(client, "/assets?area=_G&status=Commissioned")
    assert f"{both} asset" in text


def test_asset_lists_page_by_fifty(client: TestClient) -> None:
    text, links = read(client, "/assets")
    assert "40 assets" in text and sum(link.startswith("/id/asset/") for link in links) == 40
    app = new_app(demo_assets=120)
    with TestClient(app) as big:
        first_page, links = read(big, "/assets")
        assert "page 1 of 3" in first_page and "/assets?page=2" in links
        last, last_links = read(big, "/assets?page=3")
        assert sum(link.startswith("/id/asset/") for link in last_links) == 20


def test_the_home_page_charts_and_tables_link_onward(client: TestClient) -> None:
    response = client.get("/", headers=HTML)
    assert response.text.count("<svg") == 2 and "<script" not in response.text
    _, links = read(client, "/")
    assert "/assets?technology=HeatPump" in links and "/assets?area=_G" in links


def test_the_directory_and_licence_registry_are_pages(client: TestClient) -> None:
    text, links = read(client, "/directory")
    assert "Directory of members" in text and any(link.startswith("/id/org/") for link in links)
    assert client.get("/directory").headers["content-type"].startswith("application/json")
    text, _ = read(client, "/licences")
    assert "Licence registry" in text


def test_a_providers_own_asset_is_not_found_by_anyone_else() -> None:
    app = new_app()
    with TestClient(app) as c:
        act_as_fsp(app)
        body = (EXAMPLES / "asset.ttl").read_bytes()
        registered = c.post("/assets", content=body, headers={"Content-Type": "text/turtle"})
        assert registered.status_code == 201
        text, _ = read(c, "/search?q=2143967712809")
        assert "1 result" in text  # its provider finds it
        app.dependency_overrides.clear()  # now anonymous
        text, links = read(c, "/search?q=2143967712809")
        assert "0 results" in text and not any("/id/asset/" in link for link in links)
        text, _ = read(c, "/assets")
        assert "0 assets" in text
        path = registered.headers["location"].removeprefix(BASE.rstrip("/"))
        assert c.get(path, headers=HTML).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["technology=Nuclear", "status=Exploded", "operator=not an iri", "operator=http://x/ y"],
)
def test_an_unknown_filter_is_a_400_not_an_error(client: TestClient, query: str) -> None:
    answer = client.get("/assets?" + query, headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.json()["status"] == 400
