"""The vocabulary and rules pages in a real browser (playwright driving Debian's chromium): a
term's page renders, asks no other origin for anything, and is accessible (one h1, headings in
order, lang, in-page links that land, no serious or critical axe-core violation)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser import chromium, demo_server
from tests.test_browser_pages import serious

PAGES = ["ns", "ns/0.1.0", "shapes", "shapes/0.1.0/asset", "ns/diff"]


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    with demo_server(5) as url:
        yield url


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_a_term_renders_at_its_own_iris_fragment(demo: str) -> None:
    with chromium() as context:
        page = context.new_page()
        page.goto(demo + "ns#FlexibleAsset")
        term = page.locator("section#FlexibleAsset")
        assert term.locator("h3").inner_text().startswith("Flexible asset")
        assert "https://w3id.org/fdi/ns#FlexibleAsset" in term.inner_text()
        assert term.locator("table caption").inner_text() == "Rules that mention fdi:FlexibleAsset"
        assert page.evaluate("document.documentElement.lang") == "en"


@pytest.mark.parametrize("path", PAGES)
def test_the_page_asks_no_other_origin_for_anything(demo: str, path: str) -> None:
    with chromium() as context:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(demo + path, wait_until="networkidle")
    assert requested  # the page itself, at least
    assert {origin(u) for u in requested if u.startswith("http")} == {origin(demo)}


@pytest.mark.parametrize("path", PAGES)
def test_the_page_is_accessible(demo: str, path: str) -> None:
    with chromium() as context:
        page = context.new_page()
        page.goto(demo + path)
        assert page.evaluate("document.documentElement.lang") == "en"
        levels = page.eval_on_selector_all(
            "main h1, main h2, main h3, main h4", "hs => hs.map(h => Number(h.tagName[1]))"
        )
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        missing = page.eval_on_selector_all(  # links into this page that land nowhere
            "main a[href]",
            "as => as.map(a => new URL(a.getAttribute('href'), document.baseURI))"
            ".filter(u => u.origin === location.origin && u.pathname === location.pathname)"
            ".map(u => decodeURIComponent(u.hash.slice(1)))"
            ".filter(id => id && !document.getElementById(id))",
        )
        assert missing == []
        assert serious(page) == []
