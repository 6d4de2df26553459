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

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.directory}&port={self.port}"

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        self._databases += 1
        name = f"fdi{self._databases}_{getpass.getuser()}".replace("-", "_")
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)
