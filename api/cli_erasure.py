"""``fdi erasure``: the register of erasures, kept apart from backups and applied again after a
restore of a backup made before some of them (docs/erasure.md).

- ``fdi erasure register --data-dir DIR``: the erasures made, as JSON (IRIs and legal bases,
  never personal values). Reads the journal only, so it runs beside ``fdi serve``.
- ``fdi erasure apply REGISTER.json --data-dir DIR``: erase again, as the scheme operator, each
  subject of a register the registry in DIR still holds personal data about (the others are
  reported as done already). Opens the registry, so run it while ``fdi serve`` is stopped (after
  ``fdi restore``, before serving).

Exit codes: 0 done, 2 unusable input (no data directory, unreadable register).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from registry.assembly import Registry
from registry.base.errors import NotFound
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.settings import Settings
from registry.operations import erasure as erasures
from registry.store.journal import Journal
from registry.trust.schemes import operator_iri

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The registry's data directory (default: FDI_DATA_DIR or ./fdi-data).",
)


def _fail(message: str) -> NoReturn:
    click.echo("error: " + message, err=True)
    sys.exit(2)


def _settings(data_dir: Path | None, base_iri: str | None = None) -> Settings:
    settings = Settings.from_env(data_dir=data_dir, base_iri=base_iri)
    if settings.data_dir is None or not (settings.data_dir / "journal.sqlite").is_file():
        _fail("this command needs the data directory of a registry (--data-dir or FDI_DATA_DIR)")
    return settings


@click.group("erasure")
def erasure() -> None:
    """The register of erasures of personal data (UK GDPR art. 17)."""


@erasure.command("register")
@_DATA_DIR
def register(data_dir: Path | None) -> None:
    """Print the erasures made, oldest first, as JSON."""

    settings = _settings(data_dir)
    assert settings.data_dir is not None
    journal = Journal(settings.data_dir / "journal.sqlite")
    try:
        rows = journal.read(
            "SELECT subject, seq, time, actor, basis, keys FROM erasure ORDER BY seq, subject"
        )
    finally:
        journal.close()
    made = [
        {"subject": s, "seq": seq, "time": t, "actor": a, "basis": b, "keysDestroyed": k}
        for s, seq, t, a, b, k in rows
    ]
    click.echo(json.dumps(made, indent=2))


@erasure.command("apply")
@click.argument(
    "register_file", metavar="REGISTER.json", type=click.Path(dir_okay=False, path_type=Path)
)
@_DATA_DIR
@click.option("--base-iri", help="IRI base of the registry (default: FDI_BASE_IRI).")
def apply(register_file: Path, data_dir: Path | None, base_iri: str | None) -> None:
    """Erase again each subject of REGISTER.json that the registry still holds data about."""

    try:
        made: list[dict[str, Any]] = json.loads(register_file.read_text())
        wanted = [(str(e["subject"]), str(e["basis"])) for e in made]
    except (OSError, ValueError, TypeError, KeyError) as e:
        _fail(f"cannot read the register {register_file}: {e}")
    settings = _settings(data_dir, base_iri)
    registry = Registry(settings)
    try:
        operator = Principal(operator_iri(settings.base_iri), frozenset({SCHEME_OPERATOR}))
        for subject, basis in wanted:
            try:
                done = erasures.erase(registry, operator, subject, basis)
                click.echo(
                    f"erased {subject} ({done['keysDestroyed']} key(s), entry {done['seq']})"
                )
            except NotFound:
                click.echo(f"nothing held about {subject} (erased already)")
    finally:
        registry.close()


COMMANDS = (erasure,)
