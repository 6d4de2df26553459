"""Issue 16 items 1, 2, 3, 5, 6 in a real browser (playwright driving Debian's chromium): the
Done-when flow, every page accessible (axe-core: no serious or critical violation), core flows
without JavaScript, and the member pages over mutual TLS with a real client certificate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from registry.operations.demo import generate
from tests.browser import MemberServer, chromium, demo_server, member_server

ASSETS = 60
BAD_CSV = (
    b"id,name,technology,status,mpan,gsp_group,postcode,import_kw\n"
    b"bad-1,Broken battery,BatteryStorage,Commissioned,1234567890123,_K,CF10 1EP,-5\n"
)


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    with demo_server(ASSETS) as url:
        yield url


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemberServer]:
    with member_server(tmp_path_factory.mktemp("member-pages"), assets=20) as server:
        yield server


@pytest.fixture(scope="module")
def asset_row() -> dict[str, str]:
    """The first demo asset, as the generator made it (an independent record of what the
    pages should show)."""
    return next(iter(generate(ASSETS, 1).asset_rows))


def public_pages(page: Any, demo: str, asset_row: dict[str, str]) -> list[str]:
    """Every kind of public page: found by following links, as a person would."""
    page.goto(demo + "search?q=" + asset_row["mpan"])
    asset = page.locator("#search-results a").first.get_attribute("href")
    page.goto(demo + asset.lstrip("/"))
    organisation = page.locator("#operator a").first.get_attribute("href")
    right = page.locator("#operator a").nth(1).get_attribute("href")
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 120"
    return [
        demo,
        demo + "search?q=" + asset_row["mpan"],
        demo + "search?q=nothing-matches-this",
        demo + asset.lstrip("/"),  # type: ignore[union-attr]
        demo + organisation.lstrip("/"),  # type: ignore[union-attr]
        demo + right.lstrip("/"),  # type: ignore[union-attr]
        demo + "assets",
        demo + "assets?technology=HeatPump&area=_G",
        demo + "directory",
        demo + "licences",
        demo + "sparql",
        demo + "sparql?query=" + query,
        demo + "sparql?query=SELECT%20*%20%7B",
        demo + "catalogue",
        demo + "shapes/asset",
        demo + "me",
    ]


def serious(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the open page (axe from its PyPI wheel,
    injected into the page: nothing is fetched)."""
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# --- Done when --------------------------------------------------------------------------------


def test_done_when_a_person_finds_an_asset_by_mpan_and_runs_the_capacity_query(
    demo: str, asset_row: dict[str, str]
) -> None:
    """From the home page, with nothing but what the pages say: the search box, the result,
    the asset page's operator and capacity in kW, the SPARQL link, the capacity example."""
    with chromium() as context:
        page = context.new_page()
        page.goto(demo)
        page.get_by_role("searchbox", name="Search the registry").fill(asset_row["mpan"])
        page.get_by_role("button", name="Search").first.click()
        page.get_by_role("link", name=asset_row["name"]).click()
        assert page.locator("h1").inner_text() == asset_row["name"]
        facts = page.locator("#asset-facts").inner_text()
        assert re.search(rf"Import capacity\s+{re.escape(asset_row['import_kw'])} kW", facts)
        operator = page.locator("#operator a").first.inner_text()
        assert operator and not re.match(r"[0-9a-f]{8}-", operator)  # a name, not a UUID
        page.get_by_role("link", name="SPARQL").first.click()
        page.get_by_role("link", name="Capacity by technology").click()
        page.get_by_role("button", name="Run query").click()
        table = page.locator("#results")
        assert table.locator("th").all_inner_texts() == ["technology", "assets", "exportKW"]
        technologies = table.locator("tbody tr td:first-child").all_inner_texts()
        counts = [int(n) for n in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    expected: dict[str, int] = {}  # from the generator: every asset with an export capacity
    for row in generate(ASSETS, 1).asset_rows:
        if row["export_kw"]:
            expected["tech:" + row["technology"]] = expected.get("tech:" + row["technology"], 0) + 1
    assert dict(zip(technologies, counts, strict=True)) == expected


# --- pages ------------------------------------------------------------------------------------


def test_no_page_has_a_serious_or_critical_accessibility_violation(
    demo: str, asset_row: dict[str, str]
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    with chromium() as context:
        page = context.new_page()
        for url in public_pages(page, demo, asset_row):
            page.goto(url)
            if problems := serious(page):
                found[url] = problems
    assert found == {}


def test_core_flows_work_without_javascript(demo: str, asset_row: dict[str, str]) -> None:
    with chromium(java_script_enabled=False) as context:
        page = context.new_page()
        page.goto(demo)
        page.get_by_role("searchbox", name="Search the registry").fill(asset_row["postcode"])
        page.get_by_role("button", name="Search").first.click()
        page.get_by_role("link", name=asset_row["name"]).first.click()
        assert "kW" in page.locator("#asset-facts").inner_text()
        page.goto(demo + "assets")
        page.get_by_label("Technology").select_option("HeatPump")
        page.get_by_role("button", name="Show assets").click()
        assert "technology=HeatPump" in page.url
        listed = page.locator("#assets tbody tr td:nth-child(2)").all_inner_texts()
        assert listed and set(listed) == {"Heat pump"}
        page.goto(demo + "sparql")
        page.get_by_label("Query").fill("ASK { ?s ?p ?o }")
        page.get_by_role("button", name="Run query").click()
        assert page.locator("#answer").inner_text() == "Yes (true)"


def test_the_sparql_page_pages_results_offers_downloads_and_shows_check_errors(demo: str) -> None:
    with chromium() as context:
        page = context.new_page()
        page.goto(demo + "sparql")
        page.get_by_label("Query").fill("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 120")
        page.get_by_role("button", name="Run query").click()
        assert "120 rows; showing 1 to 50" in page.locator("#result-count").inner_text()
        page.get_by_role("link", name="Next page").click()
        assert "showing 51 to 100" in page.locator("#result-count").inner_text()
        assert page.locator("#results tbody tr").count() == 50
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[0] == "s,p,o" and len(lines) == 121
        page.get_by_label("Query").fill("SELECT * WHERE {")
        page.get_by_role("button", name="Run query").click()
        alert = page.get_by_role("alert").inner_text()
        assert "The query was not run" in alert and "malformed query" in alert
        assert page.get_by_label("Query").input_value() == "SELECT * WHERE {"


def test_home_page_charts_lead_to_the_assets_they_count(demo: str) -> None:
    with chromium() as context:
        page = context.new_page()
        page.goto(demo)
        bars = page.locator("svg.chart a")
        assert bars.count() > 5
        label = bars.first.get_attribute("aria-label").split(",")[0]  # type: ignore[union-attr]
        bars.first.locator("text").first.click()  # the bar's label, inside its link
        assert "/assets?technology=" in page.url
        assert label in page.locator("#assets").inner_text()


# --- member pages over mutual TLS -------------------------------------------------------------


def test_member_pages_over_mutual_tls_show_the_providers_own_data(members: MemberServer) -> None:
    with chromium(
        ignore_https_errors=True, client_certificates=members.browser_certificate()
    ) as context:
        page = context.new_page()
        assert page.goto(members.url + "me").status == 200  # type: ignore[union-attr]
        assert page.locator("h1").inner_text() == members.name
        page.get_by_role("link", name="My assets and rights").first.click()
        assert "Home battery, Cardiff" in page.locator("#my-records").inner_text()
        page.get_by_role("link", name="Validate a file").first.click()
        page.get_by_label("File").set_input_files(
            files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV}]
        )
        page.get_by_role("button", name="Validate").click()
        assert "does not conform" in page.locator("#verdict").inner_text()
        assert "row 2 (id bad-1)" in page.locator("#findings").inner_text()
        page.get_by_role("link", name="Notifications").click()
        assert page.locator("#notifications tbody tr").count() >= 1
        page.get_by_role("link", name="Who read my data").click()
        assert "0 reads" in page.locator("#read-count").inner_text()


def test_member_pages_are_accessible(members: MemberServer) -> None:
    found = {}
    with chromium(
        ignore_https_errors=True, client_certificates=members.browser_certificate()
    ) as context:
        page = context.new_page()
        for path in (
            "me",
            "me/validate",
            "me/assets",
            "me/reads",
            "me/notifications",
            "me/agreements",
        ):
            page.goto(members.url + path)
            if problems := serious(page):
                found[path] = problems
    assert found == {}


def test_without_a_certificate_the_browser_gets_the_sign_in_page(members: MemberServer) -> None:
    with chromium(ignore_https_errors=True) as context:
        page = context.new_page()
        response = page.goto(members.url + "me/assets")
        assert response is not None and response.status == 401
        assert "Home battery" not in page.content()
        assert "client certificate" in page.locator("main").inner_text()
