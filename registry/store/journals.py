"""The journal the settings name: SQLite (one registry process) or PostgreSQL (shared)."""

from __future__ import annotations

from pathlib import Path

from registry.store.journal import Journal


def open_journal(path: Path | None, url: str = "") -> Journal:
    """The journal at ``url`` (``postgresql://...``, shared by any number of registry
    processes) if given, else the SQLite file at ``path`` (in memory if None)."""
    if url:
        # Imported here: psycopg is an optional dependency (the "postgres" extra).
        from registry.store.journal_pg import PostgresJournal

        return PostgresJournal(url)
    return Journal(path)
