"""Issue 11 item 1: the lock files pin, with hashes, everything pyproject.toml asks for, inside
its ranges; a dependency added to pyproject.toml without refreshing the lock fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _pins(lock: str) -> dict[str, str]:
    return {canonicalize_name(n): v for n, v in PIN.findall((ROOT / lock).read_text())}


def _asked(*extras: str) -> list[Requirement]:
    wanted = list(PROJECT["dependencies"])
    for extra in extras:
        wanted += PROJECT["optional-dependencies"][extra]
    build = (ROOT / "requirements" / "build.in").read_text().splitlines()
    wanted += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(r) for r in wanted]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements/run.lock", ()), ("requirements/test.lock", ("test", "bench"))],
)
def test_item_1_every_dependency_is_pinned_inside_its_range(lock: str, extras: tuple) -> None:
    pins = _pins(lock)
    outside = {
        str(r): pins.get(canonicalize_name(r.name))
        for r in _asked(*extras)
        if pins.get(canonicalize_name(r.name)) not in r.specifier
    }
    assert outside == {}, f"refresh the lock (scripts/refresh-lock --no-upgrade): {outside}"


@pytest.mark.parametrize("lock", ["requirements/run.lock", "requirements/test.lock"])
def test_item_1_every_pin_carries_its_hashes(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text())
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert unhashed == []


def test_item_1_the_readme_installs_from_the_lock_files() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements/run.lock" in readme
    assert "scripts/install-test-deps && python3 -m pytest" in readme
    script = (ROOT / "scripts" / "install-test-deps").read_text()
    assert "pip install -q -r requirements/test.lock" in script
    assert "scripts/install-test-deps && python3 -m pytest" in (ROOT / ".ci" / "run").read_text()
