"""A real browser for tests: Debian's chromium (``apt-get install chromium``, which
``scripts/install-test-deps`` does) driven by playwright, never a downloaded browser build."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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


@contextmanager
def demo_server(assets: int = 60) -> Iterator[str]:
    """``fdi serve --demo`` (the README's quick start) with ``assets`` demo assets on a free
    loopback port, in a scratch data directory; yields its URL."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.servers import _stop, free_port, wait_for

    fdi = str(Path(sys.executable).parent / "fdi")
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(
            [fdi, "serve", "--demo", "--demo-assets", str(assets), "--port", str(port)]
            + ["--data-dir", data + "/fdi-data"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for(url + "ns", process, seconds=120)
            yield url
        finally:
            _stop(process)


@dataclass
class MemberServer:
    """The registry over real TLS (mutual TLS), with a demo and one onboarded provider whose
    certificate and key are on disk for the browser."""

    url: str
    certificate: Path
    key: Path
    name: str
    app: Any

    def browser_certificate(self) -> list[dict[str, str]]:
        """playwright's ``client_certificates`` for this provider."""
        return [
            {
                "origin": self.url.rstrip("/"),
                "certPath": str(self.certificate),
                "keyPath": str(self.key),
            }
        ]


@contextmanager
def member_server(directory: Path, assets: int = 60) -> Iterator[MemberServer]:
    """A TLS server (the registry CA's server certificate, client certificates verified) on a
    free loopback port; "Flex One Ltd" is onboarded and has registered examples/asset.ttl and
    nothing else."""
    from api.app import create_app
    from registry.assets.assets import register_assets
    from registry.base.settings import Settings
    from registry.submissions.formats import read_file
    from tests.conftest import EXAMPLES
    from tests.servers import free_port, serve_tls
    from tests.trust import Onboarding

    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    app = create_app(Settings(data_dir=directory / "data", base_iri=url), demo_assets=assets)
    member = Onboarding.of(app).member("Flex One Ltd", "11111111")
    register_assets(app.state.registry, read_file(EXAMPLES / "asset.ttl"), member.principal)
    (directory / "member.pem").write_text(member.certificate)
    (directory / "member.key").write_bytes(member.key)
    with serve_tls(app, directory, port, lifespan="off"):
        yield MemberServer(
            url, directory / "member.pem", directory / "member.key", "Flex One Ltd", app
        )
        app.state.registry.close()
