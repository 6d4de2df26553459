"""Derived state is checked against the journal: a register edited outside the registry (here,
to reactivate a revoked certificate in a copy of the data) is reported by
``fdi journal verify`` and never authenticates anyone."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from api.cli import main
from registry.assembly import Registry
from registry.base.errors import DerivedStateTampered
from registry.base.settings import Settings
from registry.trust.authentication import revoke_certificate
from tests.conftest import BASE
from tests.servers import PROXY_ENV, fdi_serve, forwarded, free_port
from tests.trust import Member, Onboarding


@pytest.fixture
def revoked(tmp_path: Path) -> tuple[Path, Member, str]:
    """A data directory where an FSP's application certificate has been revoked; returns the
    directory, the member and the certificate's IRI."""
    data_dir = tmp_path / "data"
    registry = Registry(Settings(data_dir=data_dir, base_iri=BASE))
    world = Onboarding.of_registry(registry)
    fsp = world.member("Revoked Flex Ltd", "SC111222")
    serial = fsp.principal.certificate_serial
    assert serial is not None
    revoke_certificate(registry, fsp.admin_principal, serial, "key lost")
    iri = f"{BASE}id/certificate/{serial}"
    assert registry.info(iri).status == "revoked"  # type: ignore[union-attr]
    registry.close()
    return data_dir, fsp, iri


def tampered_copy(data_dir: Path, iri: str) -> Path:
    copy = data_dir.parent / "copy"
    shutil.copytree(data_dir, copy)
    db = sqlite3.connect(copy / "journal.sqlite")
    with db:
        assert db.execute("UPDATE record SET status = 'active' WHERE iri = ?", (iri,)).rowcount
    db.close()
    return copy


def verify(data_dir: Path) -> object:
    return CliRunner().invoke(main, ["journal", "verify", "--data-dir", str(data_dir)])


def test_an_untouched_copy_verifies(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, _, _ = revoked
    result = verify(data_dir)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "derived tables match the journal" in result.output  # type: ignore[attr-defined]


def test_verify_reports_a_revoked_certificate_reactivated_in_the_register(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, _, iri = revoked
    result = verify(tampered_copy(data_dir, iri))
    assert result.exit_code == 1
    assert f"record {iri}: status is 'active' where the journal gives 'revoked'" in result.output  # type: ignore[attr-defined]


def test_verify_reports_a_deleted_version_row(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, _, iri = revoked
    db = sqlite3.connect(data_dir / "journal.sqlite")
    with db:
        db.execute("DELETE FROM version WHERE iri = ? AND version = 2", (iri,))
    db.close()
    result = verify(data_dir)
    assert result.exit_code == 1
    assert f"version {iri}, 2: the database lacks a row the journal gives" in result.output  # type: ignore[attr-defined]


def test_a_registry_will_not_open_on_a_register_the_journal_disowns(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, _, iri = revoked
    with pytest.raises(DerivedStateTampered) as refused:
        Registry(Settings(data_dir=tampered_copy(data_dir, iri), base_iri=BASE))
    assert iri in refused.value.detail


def test_fdi_serve_on_a_disowned_register_ends_in_one_line_not_a_traceback(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, _, iri = revoked
    result = CliRunner().invoke(
        main, ["serve", "--data-dir", str(tampered_copy(data_dir, iri))], env={"FDI_BASE_IRI": BASE}
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("✗ ") and iri in result.output
    assert "Traceback" not in result.output


def test_a_reactivated_certificate_gets_no_one_in_over_a_real_server(revoked) -> None:  # type: ignore[no-untyped-def]
    data_dir, fsp, iri = revoked
    copy = tampered_copy(data_dir, iri)
    env = {**PROXY_ENV, "FDI_BASE_IRI": BASE}
    with (
        pytest.raises(RuntimeError) as refused,  # noqa: PT012 - the server must not start
        fdi_serve(["--data-dir", str(copy)], env, free_port()) as url,
    ):
        answer = httpx.get(url + "whoami", headers=forwarded(fsp.certificate), timeout=30)
        pytest.fail(f"the server started and answered {answer.status_code}: {answer.text}")
    assert "fdi journal verify" in str(refused.value)
