"""Real servers on 127.0.0.1 for tests: ``oxigraph serve``, the registry under uvicorn, and an
application under uvicorn in a thread (:func:`serve`).

Each is started on a free loopback port, waited for, and stopped (by its own process id) when
the ``with`` block ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Poll ``url`` until it answers (any HTTP status) or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` server shipped by the ``oxigraph`` PyPI package, if installed."""
    beside = Path(sysconfig.get_path("scripts")) / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


@contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """An ``oxigraph serve`` process storing under ``location``; yields its base URL."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/query?query=ASK%7B%7D", process)
        yield url
    finally:
        _stop(process)


@contextmanager
def registry_server(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """``fdi``'s HTTP app under uvicorn on ``port`` (default: a free one), configured by
    ``FDI_*`` variables in ``env`` (``FDI_BASE_IRI`` defaults to the server's own URL); yields
    its base URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FDI_")}
    environ.update({"FDI_BASE_IRI": url, "FDI_DATA_DIR": "", **env})
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below); a file: a full pipe would block
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        try:
            wait_for(url + "ns", process, seconds=60)
        except RuntimeError as e:
            _stop(process)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{e}; its log ends:\n{tail}") from None
        yield url
    finally:
        _stop(process)
        log.close()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free loopback port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
