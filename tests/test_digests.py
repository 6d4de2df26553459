"""Read digests are sent by the running server, and survive a restart: reads recorded before
it are digested once by the first round after it."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from registry.assets.assets import register_assets
from registry.base.settings import Settings
from registry.submissions.formats import read_file
from registry.trust.access_log import read_record
from tests.conftest import BASE, EXAMPLES
from tests.servers import wait_until
from tests.test_authorisation_tls import SHARE_WITH_DSOS
from tests.trust import Onboarding


def digests(registry, org: str) -> list[str]:  # type: ignore[no-untyped-def]
    rows = registry.journal.read("SELECT body FROM notification WHERE recipient = ?", (org,))
    return [body for (body,) in rows if "AccessDigest" in body]


def test_reads_recorded_before_a_restart_are_digested_once_after_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", base_iri=BASE, digest_interval=0)
    app = create_app(settings)
    with TestClient(app):
        world = Onboarding.of(app)
        fsp = world.member("Restart Flex Ltd", "06543210")
        registry = app.state.registry
        asset = register_assets(registry, read_file(EXAMPLES / "asset.ttl"), fsp.principal)
        assert world.client(fsp).post("/agreements", json=SHARE_WITH_DSOS).status_code == 201
        dso = world.member("Reading DSO plc", "06543211", roles=["DistributionSystemOperator"])
        read_record(registry, asset.ids["battery-cardiff-1"], dso.principal)
        assert digests(registry, fsp.iri) == []  # no rounds while the interval is 0
    restarted = create_app(settings.replace(digest_interval=0.2))
    with TestClient(restarted):
        registry = restarted.state.registry
        wait_until(lambda: digests(registry, fsp.iri), 15, "a digest", interval=0.1)
        time.sleep(0.6)  # the behaviour: a few more rounds (every 0.2 s) find nothing new
        assert len(digests(registry, fsp.iri)) == 1
