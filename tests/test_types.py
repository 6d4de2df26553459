"""The types hold: mypy, configured in pyproject.toml ([tool.mypy], strict), finds nothing in
registry/ and api/."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_mypy_finds_nothing_in_every_module():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    # every module is checked (the configuration names the packages, not a few files); mypy
    # also counts folders of data files, such as api/templates, as namespace packages
    modules = [p for package in ("registry", "api") for p in (ROOT / package).rglob("*.py")]
    checked = re.search(r"no issues found in (\d+) source files", result.stdout)
    assert checked is not None and int(checked.group(1)) >= len(modules), result.stdout


def test_mypy_reports_a_wrong_type(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def count(text: str) -> int:\n    return text\n")
    result = mypy(str(wrong))
    assert result.returncode == 1 and "[return-value]" in result.stdout, result.stdout
