"""Shared fixtures: fresh registries (in memory or on disk) and the examples directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.core import Registry
from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BASE = "http://registry.test/"


@pytest.fixture
def registry():
    """A fresh in-memory registry."""
    reg = Registry(Settings(data_dir=None, base_iri=BASE))
    yield reg
    reg.close()


@pytest.fixture
def disk_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", base_iri=BASE)
