"""The README's first quick-start command, verbatim, as a newcomer runs it: in a copy of the
repository, in a fresh virtual environment (activated: ``python3`` and ``fdi`` are its own),
installing from the lock, then ``fdi serve --demo`` until the home page shows the demo data.
(The second command, the test command, is what ``.ci/run`` runs on a fresh clone.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.servers import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)


def test_the_readme_has_two_quick_start_commands() -> None:
    run, test = _quick_start_commands()
    assert run.endswith("fdi serve --demo") and "requirements/run.lock" in run
    assert test == "scripts/install-test-deps && python3 -m pytest"


def test_quick_start_installs_from_the_lock_and_serves_the_demo(tmp_path: Path) -> None:
    run = _quick_start_commands()[0]
    checkout = tmp_path / "fdi-registry"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            (checkout / name).write_bytes(source.read_bytes())
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FDI_", "PYTHON", "VIRTUAL"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))
    log = (tmp_path / "log").open("wb")
    process = subprocess.Popen(
        ["bash", "-c", run], cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:

        def home_page() -> str | None:
            assert process.poll() is None, (tmp_path / "log").read_text()[-3000:]
            try:
                with urllib.request.urlopen("http://127.0.0.1:8000/", timeout=5) as response:
                    return str(response.read().decode())
            except OSError:
                return None

        home = wait_until(home_page, 600, "the quickstart's home page", interval=1)
        assert (venv / "bin" / "fdi").exists()  # installed into the new environment
        assets = re.search(r"<b>([\d,]+)</b>\s*flexible assets", home)
        assert assets and int(assets.group(1).replace(",", "")) == 5000, home[:3000]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        log.close()
