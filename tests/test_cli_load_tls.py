"""Issue 11 item 3: ``fdi load`` over real TLS, as the README runs it: a live HTTPS server with
the registry's CA, the FSP application's certificate and key as files, and the ``fdi`` command
of the interpreter running the tests (httpx as locked; docs/facts.md, fact 19 is the regression)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.tls_world import Running, onboard_over_tls, operator_client

FDI = str(Path(sys.executable).parent / "fdi")


def _load(server: Running, *credentials: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FDI, "load", str(EXAMPLES / "assets.csv"), "--url", server.base.rstrip("/"),
         *credentials, "--interval", "0.1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_item_3_fdi_load_registers_over_tls_with_a_client_certificate(server: Running) -> None:
    onboard_over_tls(server, operator_client(server))
    d = server.directory
    done = _load(
        server, "--cert", str(d / "app.pem"), "--key", str(d / "app.key"),
        "--cacert", str(server.ca_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 registered, 0 refused" in done.stderr
    assert server.app.state.registry.counts()["asset"] == 4  # type: ignore[attr-defined]


def test_item_3_fdi_load_without_a_certificate_is_refused_and_registers_nothing(
    server: Running,
) -> None:
    done = _load(server, "--cacert", str(server.ca_file))
    assert done.returncode == 2
    assert "refused (401)" in done.stderr or "refused (403)" in done.stderr
    assert server.app.state.registry.counts()["asset"] == 0  # type: ignore[attr-defined]
