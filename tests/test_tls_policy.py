"""The TLS policy of the IB1/FAPI baseline, tested with ``openssl s_client``: TLS 1.3, and TLS
1.2 only with ECDHE key exchange and an AEAD cipher; nothing older.

Against ``fdi serve --tls-cert`` (api/tls.py) and against nginx set up as docs/operations.md
says. The oracle for which suites are ECDHE + AEAD is OpenSSL's own description of each suite
(``openssl ciphers -v``), not a list in this test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from registry.trust.ca import CertificateAuthority
from tests.servers import fdi_serve, free_port, nginx

OPENSSL = "openssl"


def suites() -> dict[str, dict[str, str]]:
    """Every TLS 1.2 suite this OpenSSL knows that an ECDSA server certificate could serve
    (the registry's are ECDSA), with OpenSSL's description (``Kx``, ``Enc``, ``Mac``)."""
    listing = subprocess.run(
        [OPENSSL, "ciphers", "-v", "ALL:@SECLEVEL=0"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in listing.splitlines():
        name, version, *fields = line.split()
        described = dict(f.split("=", 1) for f in fields if "=" in f)
        if version in ("TLSv1", "SSLv3", "TLSv1.2") and described["Au"] == "ECDSA":
            found[name] = described
    return found


def handshake(port: int, *options: str) -> bool:
    done = subprocess.run(
        [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"]
        + list(options),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode == 0 and "Cipher is (NONE)" not in done.stdout


@pytest.fixture(scope="module", params=["fdi serve", "nginx"])
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("tls")
    ca = CertificateAuthority.open(directory / "data")
    key, cert = ca.sign_server(["127.0.0.1", "localhost"])
    (directory / "server.key").write_bytes(key)
    (directory / "server.pem").write_bytes(cert)
    port = free_port()
    if request.param == "nginx":
        with nginx(directory, ca.ca_file(), port, free_port(), "x" * 32):
            yield port
        return
    args = ["--data-dir", str(directory / "data"), "--tls-cert", str(directory / "server.pem")]
    with fdi_serve([*args, "--tls-key", str(directory / "server.key")], {}, port):
        yield port


def test_tls_1_3_is_accepted(port: int) -> None:
    assert handshake(port, "-tls1_3")


@pytest.mark.parametrize("option", ["-tls1", "-tls1_1"])
def test_tls_before_1_2_is_refused(port: int, option: str) -> None:
    assert not handshake(port, option, "-cipher", "ALL:@SECLEVEL=0")


def test_tls_1_2_is_accepted_only_with_ecdhe_and_an_aead_cipher(port: int) -> None:
    known = suites()
    accepted = {
        name for name in known if handshake(port, "-tls1_2", "-cipher", f"{name}:@SECLEVEL=0")
    }
    assert accepted, "no TLS 1.2 suite at all was accepted"
    for name in accepted:
        assert known[name]["Kx"] == "ECDH" and known[name]["Mac"] == "AEAD", name
    assert {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"} <= accepted


def test_no_cbc_suite_is_accepted(port: int) -> None:
    cbc = [n for n, d in suites().items() if d["Mac"] != "AEAD"]
    assert cbc, "this OpenSSL knows no CBC suite to try"
    assert not handshake(port, "-tls1_2", "-cipher", ":".join(cbc) + ":@SECLEVEL=0")
