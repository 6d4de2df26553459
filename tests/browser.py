"""A real browser for tests: Debian's chromium (``apt-get install chromium``, which
``scripts/install-test-deps`` does) driven by playwright, never a downloaded browser build."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, chromium contacts Google's services on its own (not a page's requests).
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium(**context: Any) -> Iterator[Any]:
    """A new browser context (``playwright`` ``BrowserContext``) in headless chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET)
        try:
            yield browser.new_context(**context)
        finally:
            browser.close()
