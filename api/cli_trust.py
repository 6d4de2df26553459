"""``fdi ca`` and ``fdi csr``: the registry's certificate authority from the command line.

- ``fdi ca server-cert --out DIR``: a TLS server certificate for ``fdi serve --tls-cert``, signed
  by the registry CA (needs only the CA files, so it works while the server runs).
- ``fdi ca admin-cert --out DIR``: the scheme operator administrator's client certificate (opens
  the registry, so run it before ``fdi serve`` or while it is stopped).
- ``fdi ca certificate``: print the CA certificate (what clients trust the server by).
- ``fdi csr --name NAME --out DIR``: a new private key and a certificate signing request, for an
  applicant or member (the same as ``openssl req -new -newkey ec ...``).

Use the same ``--data-dir`` and ``--base-iri`` (or ``FDI_DATA_DIR`` and ``FDI_BASE_IRI``) as
``fdi serve``: certificates name organisations by their IRIs, which are minted under the base.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from registry.assembly import Registry
from registry.base.settings import Settings
from registry.trust.ca import CertificateAuthority, new_key_and_csr
from registry.trust.operator import admin_certificate

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The registry's data directory (default: FDI_DATA_DIR or ./fdi-data).",
)
_OUT = click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the files to (made if missing).",
)


@click.group("ca")
def ca() -> None:
    """The registry's certificate authority: server and scheme operator certificates."""


@ca.command("server-cert")
@_OUT
@_DATA_DIR
@click.option(
    "--host",
    "hosts",
    multiple=True,
    default=("localhost", "127.0.0.1"),
    show_default=True,
    help="A DNS name or IP address the server is reached by (repeat for more).",
)
@click.option("--days", default=397, show_default=True, help="Validity in days.")
def server_cert(out: Path, data_dir: Path | None, hosts: tuple[str, ...], days: int) -> None:
    """Write server.pem, server.key and ca.pem: a TLS server certificate from the registry CA."""
    authority = _authority(data_dir)
    key, cert = authority.sign_server(list(hosts), days=days)
    _write(out, {"server.key": key, "server.pem": cert, "ca.pem": authority.pem})
    click.echo(f"wrote {out}/server.pem, {out}/server.key and {out}/ca.pem for {', '.join(hosts)}")


@ca.command("admin-cert")
@_OUT
@_DATA_DIR
@click.option("--base-iri", help="IRI base of the registry (default: FDI_BASE_IRI).")
@click.option(
    "--csr",
    "csr_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Certify this CSR instead of making a new key.",
)
@click.option("--days", type=int, help="Validity in days (default: the certificate_days setting).")
def admin_cert(
    out: Path, data_dir: Path | None, base_iri: str | None, csr_file: Path | None, days: int | None
) -> None:
    """Write admin.pem (and admin.key), ca.pem: the scheme operator administrator's client
    certificate (roles Administrator and SchemeOperator, every scope). The registry creates the
    scheme operator organisation on first start if it is not there yet."""

    settings = Settings.from_env(data_dir=data_dir, base_iri=base_iri)
    registry = Registry(settings)
    try:
        authority = CertificateAuthority.open(settings.data_dir)
        csr = csr_file.read_text() if csr_file else None
        key, issued = admin_certificate(registry, authority, csr, days)
    finally:
        registry.close()
    files = {"admin.pem": issued.pem.encode(), "ca.pem": authority.pem}
    if key:
        files["admin.key"] = key
    _write(out, files)
    click.echo(
        f"wrote {', '.join(f'{out}/{n}' for n in files)}: certificate {issued.serial} "
        f"for {issued.organisation}, valid until {issued.not_after}"
    )


@ca.command("certificate")
@_DATA_DIR
def ca_certificate(data_dir: Path | None) -> None:
    """Print the registry CA's certificate (PEM)."""
    click.echo(_authority(data_dir).pem.decode(), nl=False)


@click.command("csr")
@click.option(
    "--name", required=True, help="A name for the key's holder, e.g. 'Example Flex dispatch'."
)
@_OUT
@click.option(
    "--prefix", default="client", show_default=True, help="File names: PREFIX.key, PREFIX.csr."
)
def csr(name: str, out: Path, prefix: str) -> None:
    """Write a new EC P-256 private key and a certificate signing request for it."""
    key, request = new_key_and_csr(name)
    _write(out, {f"{prefix}.key": key, f"{prefix}.csr": request})
    click.echo(f"wrote {out}/{prefix}.key (keep it secret) and {out}/{prefix}.csr")


COMMANDS = (ca, csr)


def _authority(data_dir: Path | None) -> CertificateAuthority:
    return CertificateAuthority.open(Settings.from_env(data_dir=data_dir).data_dir)


def _write(out: Path, files: dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = out / name
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if name.endswith(".key") else 0o644
        )
        with os.fdopen(fd, "wb") as f:
            f.write(data)
