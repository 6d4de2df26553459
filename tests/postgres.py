"""A throw-away PostgreSQL cluster for tests: Debian's server (``initdb``, ``pg_ctl``), in a
temporary directory, on a free port, reached by a unix socket in that directory only.

It runs as the current user; PostgreSQL refuses to run as root, so under root it runs as the
``postgres`` user the Debian package creates. Stopped (``pg_ctl stop``) when the block ends.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.servers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "fdi"  # the cluster's superuser (trust authentication over its private socket)


def binary(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


def available() -> bool:
    return binary("initdb") is not None and binary("pg_ctl") is not None


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def cluster() -> Iterator[Cluster]:
    """A running cluster; yields it."""
    if not available():
        raise RuntimeError("Debian's postgresql is not installed (scripts/install-test-deps)")
    directory = Path(tempfile.mkdtemp(prefix="fdi-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    data, port = directory / "data", free_port()
    run = _as_owner()
    subprocess.run(
        [*run, binary("initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-k {directory} -p {port} -c listen_addresses='' -c fsync=on"
    subprocess.run(
        [
            *run,
            binary("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(directory / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Cluster(directory, port)
    finally:
        subprocess.run(
            [*run, binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(directory, ignore_errors=True)


class Cluster:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self._databases = 0

    @contextmanager
    def standby(self) -> Iterator[Cluster]:
        """A streaming standby of this cluster (``pg_basebackup -R``), running; and this
        cluster made to wait for it on every commit (synchronous replication)."""
        directory = Path(tempfile.mkdtemp(prefix="fdi-pg-standby-"))
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres")
        data, port, run = directory / "data", free_port(), _as_owner()
        subprocess.run(
            [*run, binary("pg_basebackup"), "-h", str(self.directory), "-p", str(self.port)]
            + ["-U", USER, "-D", str(data), "-R", "-X", "stream", "-c", "fast"],
            check=True,
            capture_output=True,
        )
        options = f"-k {directory} -p {port} -c listen_addresses=''"
        subprocess.run(
            [*run, binary("pg_ctl"), "-D", str(data), "-o", options]
            + ["-l", str(directory / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            db.execute("SELECT pg_reload_conf()")
        try:
            yield Cluster(directory, port)
        finally:
            subprocess.run(
                [*run, binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
            shutil.rmtree(directory, ignore_errors=True)

    def promote(self) -> None:
        subprocess.run(
            [*_as_owner(), binary("pg_ctl"), "-D", str(self.directory / "data"), "-w", "promote"],
            check=True,
            capture_output=True,
        )

    def crash(self) -> None:
        """Stop at once, as a lost machine would (``pg_ctl -m immediate``)."""
        subprocess.run(
            [*_as_owner(), binary("pg_ctl"), "-D", str(self.directory / "data")]
            + ["-m", "immediate", "-w", "stop"],
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.directory}&port={self.port}"

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        self._databases += 1
        name = f"fdi{self._databases}_{getpass.getuser()}".replace("-", "_")
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)
