"""Screenshots of every page, for docs/pages.md: ``python -m tests.screenshots`` (needs the
test extra and Debian's chromium, as the browser tests do).

Starts ``fdi serve --demo`` and a mutual-TLS server with one onboarded provider, opens each
page in chromium as a person would reach it, and writes ``docs/screenshots/<name>.png``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from tests.browser import chromium, demo_server, member_server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
CAPACITY = "Capacity by technology"
BAD_CSV = (
    b"id,name,technology,status,mpan,gsp_group,postcode,import_kw\n"
    b"bad-1,Broken battery,BatteryStorage,Commissioned,1234567890123,_K,CF10 1EP,-5\n"
)


def public(url: str, out: Path) -> list[str]:
    """Screenshots of the public pages; returns the names written."""
    from registry.operations.demo import generate

    first = next(iter(generate(200, 1).asset_rows))
    shots: list[str] = []
    with chromium(viewport=VIEWPORT) as context:
        page = context.new_page()

        def shot(name: str) -> None:
            page.screenshot(path=out / f"{name}.png", full_page=False)
            shots.append(name)

        page.goto(url)
        shot("home")
        page.get_by_role("searchbox", name="Search the registry").fill(first["mpan"])
        page.get_by_role("button", name="Search").first.click()
        shot("search")
        page.get_by_role("link", name=first["name"]).click()
        shot("asset")
        page.locator("#operator a").first.click()
        shot("organisation")
        page.goto(url + "assets?technology=BatteryStorage")
        shot("assets")
        page.goto(url + "directory")
        shot("directory")
        page.goto(url + "licences")
        shot("licences")
        page.goto(url + "sparql")
        page.get_by_role("link", name=CAPACITY).click()
        page.get_by_role("button", name="Run query").click()
        shot("sparql")
        page.get_by_label("Query").fill("SELECT * WHERE {")
        page.get_by_role("button", name="Run query").click()
        shot("sparql-error")
    return shots


def members(server: Any, out: Path) -> list[str]:
    shots: list[str] = []
    certificate = server.browser_certificate()
    with chromium(
        viewport=VIEWPORT, ignore_https_errors=True, client_certificates=certificate
    ) as context:
        page = context.new_page()
        for path, name in (
            ("me", "me"),
            ("me/assets", "me-assets"),
            ("me/notifications", "me-notifications"),
            ("me/reads", "me-reads"),
            ("me/agreements", "me-agreements"),
        ):
            page.goto(server.url + path)
            page.screenshot(path=out / f"{name}.png")
            shots.append(name)
        page.goto(server.url + "me/validate")
        page.get_by_label("File").set_input_files(
            files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV}]
        )
        page.get_by_role("button", name="Validate").click()
        page.screenshot(path=out / "me-validate.png")
        shots.append("me-validate")
    return shots


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_server(200) as url:
        written = public(url, args.out)
    with (
        tempfile.TemporaryDirectory() as scratch,
        member_server(Path(scratch), assets=50) as server,
    ):
        written += members(server, args.out)
    print(f"wrote {len(written)} screenshots to {args.out}: {', '.join(written)}")


if __name__ == "__main__":
    main()
