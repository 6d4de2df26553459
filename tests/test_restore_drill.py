"""Issue 11, item 4: a backup holds everything the registry needs to serve.

The restore drill: a registry serves over real TLS, issues certificates (one then revoked) and a
receipt; it is backed up while serving, its data directory is lost, the backup is restored into
a fresh directory and served again at the same address. Every certificate issued before the
backup authenticates as before (a real TLS handshake with real client certificates), the
revoked one stays revoked (also in the CRL, signed by the same CA), and the receipt still
verifies against the restored registry's keys and record.
"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509

from api.app import create_app
from api.cli import main
from registry.base.settings import Settings
from registry.trust.ca import new_key_and_csr
from tests.conftest import EXAMPLES
from tests.servers import free_port, serve_tls
from tests.tls_world import Running, onboard_over_tls, operator_client


@contextmanager
def serving(data_dir: Path, base: str, port: int, folder: Path) -> Iterator[Running]:
    """The registry in ``data_dir`` over HTTPS at ``base``, client certificates checked against
    its own CA; the server's certificate and key are kept in ``folder`` (outside the data
    directory, as an operator keeps them), made on first use."""
    app = create_app(Settings(data_dir=data_dir, base_iri=base))
    with serve_tls(app, folder, port):
        # Clients trust the CA certificate they saved before the backup, not the restored one.
        running = Running(base, folder / "ca.pem", folder, app)
        try:
            yield running
        finally:
            for client in running.clients:
                client.close()


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Everything issued before the backup, and the restored registry's data directory."""
    tmp = tmp_path_factory.mktemp("drill")
    port = free_port()
    base = f"https://127.0.0.1:{port}/"
    live, restored = tmp / "live", tmp / "restored"
    before: dict = {"base": base, "port": port, "folder": tmp, "restored": restored}
    with serving(live, base, port, tmp) as server:
        (tmp / "ca.pem").write_bytes(server.app.state.ca.pem)  # type: ignore[attr-defined]
        so = operator_client(server)
        org, admin, fsp = onboard_over_tls(server, so)
        registered = fsp.post(
            "/assets",
            content=(EXAMPLES / "asset.ttl").read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
        assert registered.status_code == 201, registered.text
        before["receipt"] = registered.json()["receipt"]
        before["asset"] = registered.json()["records"][0]["id"]
        uid = org.rsplit("/", 1)[-1]
        key, csr = new_key_and_csr("Example Flex spare")
        spare = admin.post(
            f"/organisations/{uid}/certificates",
            content=csr,
            headers={"Content-Type": "application/pkcs10"},
        ).json()
        revoked = admin.post(f"/certificates/{spare['serial']}/revoke", json={"reason": "lost"})
        assert revoked.status_code == 200, revoked.text
        before["revoked"] = (spare["certificate"], key, int(spare["serial"], 16))
        before["whoami"] = {
            name: client.get("/whoami").json() for name, client in (("so", so), ("fsp", fsp))
        }
        backup = CliRunner().invoke(main, ["backup", str(tmp / "backup"), "--data-dir", str(live)])
        assert backup.exit_code == 0, backup.output
    shutil.rmtree(live)  # the machine is lost: only the backup is left
    result = CliRunner().invoke(main, ["restore", str(tmp / "backup"), "--data-dir", str(restored)])
    assert result.exit_code == 0, result.output
    before["restore_output"] = result.output
    return before


@pytest.fixture
def restored(drill: dict) -> Iterator[Running]:
    with serving(drill["restored"], drill["base"], drill["port"], drill["folder"]) as server:
        yield server


def test_restore_drill_certificates_issued_before_the_backup_authenticate_after_it(
    drill: dict, restored: Running
) -> None:
    for name in ("so", "fsp"):  # the operator's and the FSP's, as saved before the backup
        answer = _saved_client(drill, restored, name).get("/whoami")
        assert answer.status_code == 200, answer.text
        assert answer.json()["authenticated"] is True
        assert answer.json() == drill["whoami"][name]


def test_restore_drill_a_revoked_certificate_stays_revoked(drill: dict, restored: Running) -> None:
    pem, key, serial = drill["revoked"]
    answer = restored.client(pem, key, "revoked").get("/whoami")
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]
    crl = x509.load_der_x509_crl(restored.client().get("/ca/crl").content)
    ca = x509.load_pem_x509_certificate((drill["folder"] / "ca.pem").read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_restore_drill_receipts_issued_before_the_backup_verify(
    drill: dict, restored: Running, tmp_path: Path
) -> None:
    anonymous = restored.client()
    (tmp_path / "receipt.json").write_text(json.dumps(drill["receipt"]))
    (tmp_path / "jwks.json").write_text(anonymous.get("/.well-known/jwks.json").text)
    path = drill["asset"][len(drill["base"]) - 1 :]
    record = _saved_client(drill, restored, "fsp").get(path, headers={"Accept": "text/turtle"})
    assert record.status_code == 200, record.text
    (tmp_path / "record.ttl").write_bytes(record.content)
    result = CliRunner().invoke(
        main,
        [
            "receipt",
            "verify",
            str(tmp_path / "receipt.json"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            "--record",
            str(tmp_path / "record.ttl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "matches the receipt" in result.output


def test_restore_drill_the_restored_registry_goes_on_from_the_backup(
    drill: dict, restored: Running
) -> None:
    assert f"FDI_BASE_IRI={drill['base']}" in drill["restore_output"]
    fsp = _saved_client(drill, restored, "fsp")
    duplicate = fsp.post(
        "/assets",
        content=(EXAMPLES / "asset.ttl").read_bytes(),
        headers={"Content-Type": "text/turtle"},
    )
    assert duplicate.status_code == 409  # the asset registered before the backup is known
    other = (
        (EXAMPLES / "asset.ttl")
        .read_bytes()
        .replace(b"2143967712809", b"1212345678902")
        .replace(b'"_K"', b'"_C"')
    )
    again = fsp.post("/assets", content=other, headers={"Content-Type": "text/turtle"})
    assert again.status_code == 201, again.text
    assert again.json()["seq"] > drill["receipt"]["seq"]


def test_restore_drill_the_ca_key_stays_readable_by_the_owner_only(drill: dict) -> None:
    key = drill["restored"] / "ca" / "ca-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def _file(name: str) -> str:
    return {"so": "operator", "fsp": "app"}[name]


def _saved_client(drill: dict, restored: Running, name: str) -> httpx.Client:
    """A client presenting the certificate and key ``name`` saved before the backup."""
    saved = drill["folder"] / _file(name)
    pem, key = saved.with_suffix(".pem").read_text(), saved.with_suffix(".key").read_bytes()
    return restored.client(pem, key, f"again-{name}")
