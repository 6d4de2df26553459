"""Issue 11 item 7: every page of the registry is self-contained. In a real browser, the API
documentation (Swagger UI at /docs) renders from the registry's own origin, and
no page reached from the home page asks any other origin for anything."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.browser import chromium, demo_server


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    """``fdi serve --demo`` as the README starts it, with a small demo, on a free port."""
    with demo_server(60) as url:
        yield url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _visit(context, url: str) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """Open ``url``; the URLs of every request the page made and the links it shows. A link to
    a download (a record as Turtle, a CSV of results) is no page: it is fetched, not opened."""
    kind = context.request.get(url).headers.get("content-type", "")
    if not kind.startswith("text/html"):
        return [url], []
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url, wait_until="networkidle")
    # getAttribute, not a.href: an SVG link's href is an object, not a string (the charts)
    links = page.eval_on_selector_all(
        "a[href]", "as => as.map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
    )
    page.close()
    return requested, links


def test_item_7_swagger_ui_renders_from_the_registrys_own_origin(demo: str) -> None:
    with chromium() as context:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(demo + "docs", wait_until="networkidle")
        title = page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert title is not None and "FDI registry" in title.inner_text()
        assert page.locator(".opblock").count() > 20  # the operations are listed
    assert any(u.endswith("swagger-ui-bundle.js") for u in requested)
    assert {_origin(u) for u in requested if u.startswith("http")} == {_origin(demo)}


def test_item_7_no_redoc_page_that_would_load_redoclys_logo(demo: str) -> None:
    with chromium() as context:
        response = context.new_page().goto(demo + "redoc")
        assert response is not None and response.status == 404


def test_item_7_no_page_requests_another_origin(demo: str) -> None:
    """Every page reachable from the home page in two steps, plus the documented entry points,
    loads with requests to the registry's origin only (data: and blob: URLs are local)."""
    own = _origin(demo)
    start = [demo, demo + "docs", demo + "ns", demo + "shapes", demo + "catalogue"]
    seen: set[str] = set()
    foreign: dict[str, list[str]] = {}
    frontier = start
    with chromium() as context:
        for _depth in range(2):
            following: list[str] = []
            for url in frontier:
                if url in seen or len(seen) >= 40:
                    continue
                seen.add(url)
                requested, links = _visit(context, url)
                elsewhere = [u for u in requested if u.startswith("http") and _origin(u) != own]
                if elsewhere:
                    foreign[url] = elsewhere
                following += [urldefrag(link)[0] for link in links if _origin(link) == own]
            frontier = following
    assert len(seen) >= 10, seen  # the crawl reached records, not only the entry points
    assert foreign == {}
