"""``fdi`` commands for proof and recovery: receipts, the journal, keys, backup and restore.

Exit codes, as ``fdi validate``'s: 0 verified (or done), 1 verification failed (bad signature,
record or journal not as signed), 2 unusable input (missing or unreadable file, no journal).
These commands open the journal (SQLite) and the keys, never the on-disk index, so they run
beside a live ``fdi serve`` on the same data directory; ``fdi restore`` writes a new one.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import click
import pyoxigraph as ox

from registry.assembly import derive_tables
from registry.base.errors import BadSignature, JournalCorrupt, RecordMismatch, UnusableInput
from registry.base.settings import Settings
from registry.operations import backup as backups
from registry.operations import derived_state
from registry.proof import checkpoints
from registry.proof.keys import KeyRing
from registry.proof.receipts import verify_receipt
from registry.store.journal import Journal
from registry.store.journals import open_journal

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The registry's data directory (default: FDI_DATA_DIR or ./fdi-data).",
)


def _fail(code: int, message: str) -> NoReturn:
    click.echo(("✗ " if code == 1 else "error: ") + message, err=True)
    sys.exit(code)


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings.from_env(data_dir=data_dir)
    if settings.data_dir is None:
        _fail(2, "this command needs a data directory (--data-dir or FDI_DATA_DIR)")
    return settings


def _json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        _fail(2, f"cannot read the {what} {path}: {e}")


def _journal(settings: Settings) -> Journal:
    if settings.journal_url:  # PostgreSQL (docs/replicas.md)
        return open_journal(None, settings.journal_url)
    assert settings.data_dir is not None
    path = settings.data_dir / backups.JOURNAL
    if not path.is_file():
        _fail(2, f"no journal at {path}")
    return Journal(path)


def _differences(j: Journal) -> list[str]:
    if j.path is not None:
        return derived_state.differences(j.path, j.entries(), derive_tables)
    with tempfile.TemporaryDirectory(prefix="fdi-verify-") as scratch:
        live = Path(scratch) / "live.sqlite"  # PostgreSQL's tables, compared as SQLite's
        derived_state.copy_tables(j, live)
        return derived_state.differences(live, j.entries(), derive_tables)


# --- receipts --------------------------------------------------------------------------------


@click.group()
def receipt() -> None:
    """Check the registry's signed receipts."""


@receipt.command("verify")
@click.argument(
    "receipt_file", metavar="RECEIPT.json", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--jwks",
    "jwks_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The registry's published keys (saved from /.well-known/jwks.json).",
)
@click.option(
    "--record",
    "record_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A record as served at its IRI (Turtle .ttl or N-Triples .nt) to check "
    "against the receipt's hash.",
)
def receipt_verify(receipt_file: Path, jwks_file: Path, record_file: Path | None) -> None:
    """Check RECEIPT.json's signature offline against the published keys and, with --record,
    that the record's canonical RDF (RDFC-1.0) is what the registry signed for.

    RECEIPT.json is the "receipt" member of the answer to POST /submissions.
    Exit status: 0 valid, 1 signature or record does not match, 2 unusable input.
    """
    statement = _json_file(receipt_file, "receipt")
    if isinstance(statement, dict) and isinstance(statement.get("receipt"), dict):
        statement = statement["receipt"]  # the whole answer to POST /submissions
    jwks = _json_file(jwks_file, "key set")
    if not isinstance(statement, dict) or not isinstance(jwks, dict):
        _fail(2, "the receipt and the key set must be JSON objects")
    triples = _read_record(record_file) if record_file else None
    try:
        for line in verify_receipt(statement, jwks, triples):
            click.echo("✓ " + line)
    except (BadSignature, RecordMismatch) as e:
        _fail(1, e.detail)


def _read_record(path: Path) -> list[ox.Triple]:
    fmt = {".nt": ox.RdfFormat.N_TRIPLES}.get(path.suffix.lower(), ox.RdfFormat.TURTLE)
    try:
        return [
            ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=path, format=fmt)
        ]
    except (OSError, SyntaxError, ValueError) as e:
        _fail(2, f"cannot read the record {path}: {e}")


# --- the journal -----------------------------------------------------------------------------


@click.group()
def journal() -> None:
    """Check the journal's hash chain; make signed checkpoints of its head."""


@journal.command("verify")
@_DATA_DIR
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint kept from earlier (from /journal/checkpoints): the journal must "
    "still hold the entry it attests.",
)
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keys to check the checkpoint with (default: the data directory's own).",
)
def journal_verify(
    data_dir: Path | None, checkpoint_file: Path | None, jwks_file: Path | None
) -> None:
    """Walk the journal's hash chain and name the first broken entry; recompute the register,
    versions and other derived tables from the journal and name every row that differs; with
    --checkpoint, also detect a journal truncated or rewritten since that checkpoint was signed.

    Exit status: 0 intact, 1 broken (or not as the checkpoint attests), 2 unusable input.
    """
    settings = _settings(data_dir)
    checkpoint = _json_file(checkpoint_file, "checkpoint") if checkpoint_file else None
    j = _journal(settings)
    try:
        started = time.perf_counter()
        count = j.verify()
        click.echo(f"✓ {count} entries, hash chain intact ({time.perf_counter() - started:.2f} s)")
        if checkpoint is not None:
            assert settings.data_dir is not None
            jwks = (
                _json_file(jwks_file, "key set")
                if jwks_file
                else KeyRing(settings.data_dir / "keys").jwks()
            )
            click.echo("✓ " + checkpoints.check(j, checkpoint, jwks))
        started = time.perf_counter()
        found = _differences(j)
        for line in found:
            click.echo(f"✗ {line}", err=True)
        if found:
            _fail(1, "the derived tables differ from the journal (edited outside the registry?)")
        click.echo(
            f"✓ the register, versions and other derived tables match the journal "
            f"({time.perf_counter() - started:.2f} s)"
        )
    except JournalCorrupt as e:
        _fail(1, e.detail)
    except BadSignature as e:
        _fail(2, f"the checkpoint cannot be trusted: {e.detail}")
    except sqlite3.DatabaseError as e:
        _fail(1, f"the journal is unreadable: {e}")
    finally:
        j.close()


@journal.command("checkpoint")
@_DATA_DIR
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint to this file (keep it somewhere else).",
)
def journal_checkpoint(data_dir: Path | None, out: Path | None) -> None:
    """Sign a checkpoint of the journal's head now, publish it (/journal/checkpoints), print it."""
    settings = _settings(data_dir)
    assert settings.data_dir is not None
    j = _journal(settings)
    try:
        registry = checkpoints.registry_of(j, settings.base_iri)
        made = checkpoints.make(j, KeyRing(settings.data_dir / "keys"), registry)
    finally:
        j.close()
    text = json.dumps(made, indent=2)
    if out:
        out.write_text(text + "\n")
    click.echo(text)


@journal.command("replay")
@click.argument("newer", metavar="JOURNAL", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The restored registry to bring up to date (not in use by a server).",
)
def journal_replay(newer: Path, data_dir: Path) -> None:
    """Append the entries that JOURNAL (a newer copy, e.g. the live registry's journal.sqlite
    once its server is stopped) holds beyond this registry's head, checking that it continues
    the chain, and apply them to the index: the last step of a cut-over.

    Exit status: 0 done, 1 JOURNAL does not continue this registry's chain, 2 unusable input.
    """
    settings = Settings.from_env(data_dir=data_dir)
    if not (data_dir / backups.JOURNAL).is_file():
        _fail(2, f"no journal at {data_dir / backups.JOURNAL}")
    try:
        count = backups.replay(settings, newer)
    except UnusableInput as e:
        _fail(2, e.detail)
    except JournalCorrupt as e:
        _fail(1, e.detail)
    click.echo(f"replayed {count} entries from {newer} into {data_dir}")


# --- keys ------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """The registry's signing keys (Ed25519), published at /.well-known/jwks.json."""


@keys.command("rotate")
@_DATA_DIR
def keys_rotate(data_dir: Path | None) -> None:
    """Make a new signing key; older keys stop signing but stay published, so every receipt
    and checkpoint signed before still verifies. A running server picks the new key up."""
    settings = _settings(data_dir)
    assert settings.data_dir is not None
    kid = KeyRing(settings.data_dir / "keys").rotate()
    click.echo(f"new signing key {kid}")


@keys.command("jwks")
@_DATA_DIR
def keys_jwks(data_dir: Path | None) -> None:
    """Print the published key set (what /.well-known/jwks.json serves)."""
    settings = _settings(data_dir)
    assert settings.data_dir is not None
    click.echo(json.dumps(KeyRing(settings.data_dir / "keys").jwks(), indent=2))


# --- backup and restore ----------------------------------------------------------------------


@click.command("backup")
@click.argument("target", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@_DATA_DIR
def backup_command(target: Path, data_dir: Path | None) -> None:
    """Back up the registry into DIR (new or empty) while it keeps serving and accepting writes:
    a consistent copy of the journal, the signing keys, the certificate authority, the inputs of
    bulk jobs, and a signed manifest with the settings the registry serves with (run it with the
    server's FDI_* environment).

    DIR holds the registry's private signing key and CA key: keep it as safe as the data
    directory.
    """
    settings = _settings(data_dir)
    assert settings.data_dir is not None
    j = _journal(settings)
    try:
        registry = checkpoints.registry_of(j, settings.base_iri)
    finally:
        j.close()
    started = time.perf_counter()
    try:
        manifest = backups.backup(settings.data_dir, target, registry, settings)
    except UnusableInput as e:
        _fail(2, e.detail)
    except JournalCorrupt as e:
        _fail(1, e.detail)
    click.echo(
        f"backed up {manifest['entries']} entries "
        f"(head {manifest['seq']}, {manifest['head'][:16]}…) "
        f"to {target} in {time.perf_counter() - started:.2f} s"
    )


@click.command("restore")
@click.argument("source", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new data directory (must not hold a registry yet).",
)
@click.option(
    "--replay-from",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A newer journal (e.g. LIVE_DATA_DIR/journal.sqlite) whose entries after the "
    "backup are replayed, once its chain is checked to continue the backup's.",
)
def restore_command(source: Path, data_dir: Path, replay_from: Path | None) -> None:
    """Restore the backup in DIR (journal, signing keys, certificate authority, job inputs) into
    a new data directory and rebuild the index from the journal; optionally replay a newer
    journal past the backup point. Prints the settings to serve the restored registry with
    (FDI_BASE_IRI and others, as the backed-up registry had them).

    Exit status: 0 restored, 1 the backup or the newer journal fails its checks, 2 unusable input.
    """
    settings = Settings.from_env(data_dir=data_dir)
    started = time.perf_counter()
    try:
        restored = backups.restore(source, settings, replay_from)
    except UnusableInput as e:
        _fail(2, e.detail)
    except (JournalCorrupt, BadSignature) as e:
        _fail(1, e.detail)
    seq, head = restored.head
    click.echo(
        f"restored {restored.seq} entries from {source}, replayed {restored.replayed} more; "
        f"head {seq} ({head[:16]}…); index rebuilt in {data_dir} "
        f"({time.perf_counter() - started:.2f} s)"
    )
    if restored.settings:
        click.echo("serve it with the settings it was backed up with:")
        for name, value in restored.settings.items():
            click.echo(f"  FDI_{name.upper()}={shlex.quote(str(value))}")


COMMANDS = (receipt, journal, keys, backup_command, restore_command)
