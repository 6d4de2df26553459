"""The command line maps errors to exit statuses in one place (api/cli.py's command group): a
registry error in any command, or a file, peer or TLS key that cannot be used, ends in one line
on standard error and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from registry.base.errors import JournalCorrupt, NotFound, UnusableInput
from tests.servers import free_port

FDI = str(Path(sys.executable).parent / "fdi")


def fdi(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FDI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line(done: subprocess.CompletedProcess[str], status: int, says: str) -> None:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert says in done.stderr


def test_a_demo_file_of_an_unknown_kind_is_one_line(tmp_path: Path) -> None:
    assert_one_line(fdi("demo", "--assets", "5", "--out", "x.pdf", cwd=tmp_path), 2, "error: ")


def test_a_nested_command_without_a_journal_is_one_line(tmp_path: Path) -> None:
    done = fdi("journal", "verify", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert_one_line(done, 2, "no journal")


def test_a_registry_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "assets.ttl").write_text("<a> <b> <c> .\n")
    url = f"http://127.0.0.1:{free_port()}"
    done = fdi("load", "--url", url, "assets.ttl", cwd=tmp_path)
    assert_one_line(done, 2, "error: ")


def test_serve_with_an_unusable_tls_key_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    done = fdi("serve", "--memory", "--tls-cert", "bad.pem", "--tls-key", "bad.pem", cwd=tmp_path)
    assert_one_line(done, 2, "error: ")


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (UnusableInput("the file is empty"), 2, "error: the file is empty"),
        (NotFound("no such erasure"), 2, "error: no such erasure"),
        (JournalCorrupt("entry 7 does not follow entry 6"), 1, "✗ entry 7 does not follow entry 6"),
    ],
)
def test_a_registry_error_in_any_command_ends_in_the_groups_line_and_status(
    monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, line: str
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("registry.operations.demo_files.write_demo", fail)
    result = CliRunner().invoke(main, ["demo", "--out", "x.ttl"])
    assert result.exit_code == status
    assert result.stderr == line + "\n"
    assert isinstance(result.exception, SystemExit)


def test_an_error_the_group_does_not_know_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("registry.operations.demo_files.write_demo", fail)
    result = CliRunner().invoke(main, ["demo", "--out", "x.ttl"])
    assert isinstance(result.exception, ZeroDivisionError)
