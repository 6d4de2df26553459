"""``fdi ca server-cert``, ``fdi ca admin-cert`` and ``fdi csr``."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509

from api.cli import main
from registry.assembly import Registry
from registry.base.identity import SCHEME_OPERATOR
from registry.base.settings import Settings
from registry.trust.authentication import authenticate
from registry.trust.ca import CertificateAuthority, load_csr
from tests.conftest import BASE


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_server_cert_is_signed_by_the_registry_ca_for_the_hosts(tmp_path: Path) -> None:
    run(
        "ca",
        "server-cert",
        "--out",
        str(tmp_path / "tls"),
        "--data-dir",
        str(tmp_path / "data"),
        "--host",
        "registry.example.org",
        "--host",
        "127.0.0.1",
    )
    cert = x509.load_pem_x509_certificate((tmp_path / "tls" / "server.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert names.get_values_for_type(x509.DNSName) == ["registry.example.org"]
    assert CertificateAuthority.open(tmp_path / "data").issued(cert)
    assert stat.S_IMODE((tmp_path / "tls" / "server.key").stat().st_mode) == 0o600


def test_admin_cert_authenticates_as_the_scheme_operator(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run(
        "ca",
        "admin-cert",
        "--out",
        str(tmp_path / "operator"),
        "--data-dir",
        str(data),
        "--base-iri",
        BASE,
    )
    registry = Registry(Settings(data_dir=data, base_iri=BASE))
    try:
        principal = authenticate(
            registry,
            CertificateAuthority.open(data),
            (tmp_path / "operator" / "admin.pem").read_text(),
        )
    finally:
        registry.close()
    assert principal.is_scheme_operator and SCHEME_OPERATOR in principal.roles
    assert (tmp_path / "operator" / "ca.pem").read_bytes() == CertificateAuthority.open(data).pem


def test_csr_writes_a_key_and_a_request(tmp_path: Path) -> None:
    run("csr", "--name", "Example Flex dispatch", "--out", str(tmp_path), "--prefix", "dispatch")
    request = load_csr((tmp_path / "dispatch.csr").read_text())

    assert request.subject.rfc4514_string() == "CN=Example Flex dispatch"
    assert stat.S_IMODE((tmp_path / "dispatch.key").stat().st_mode) == 0o600
