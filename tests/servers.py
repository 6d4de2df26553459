"""Real servers on 127.0.0.1 for tests: ``oxigraph serve``, the registry under uvicorn, and an
application under uvicorn in a thread, in plain HTTP (:func:`serve`) or over TLS
(:func:`serve_tls`).

Each is started on a free loopback port, waited for, and stopped (by its own process id) when
the ``with`` block ends. Every wait for something to happen is :func:`wait_until`: a bounded
poll of a condition, never a fixed sleep that can lose a race.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
# Tests that play the TLS proxy themselves (rather than run nginx, as tests/test_proxy.py does)
# configure the server with this secret and send it with the forwarded certificate.
PROXY_SECRET = "test-proxy-secret-0123456789abcdef"
PROXY_ENV = {"FDI_TRUSTED_PROXIES": "127.0.0.1", "FDI_PROXY_SECRET": PROXY_SECRET}


def forwarded(certificate: str) -> dict[str, str]:
    """The headers a TLS proxy sends with a client's certificate (nginx's escaped PEM)."""
    return {"X-Client-Cert": quote(certificate), "X-FDI-Proxy-Secret": PROXY_SECRET}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, what: str = "", interval: float = 0.05
) -> Any:
    """Poll ``condition`` every ``interval`` seconds until it returns something true, and return
    that; RuntimeError (naming ``what``) once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{what or condition} did not happen within {timeout} s")
        time.sleep(interval)


def _running(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"the server exited with status {process.returncode}")


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Poll ``url`` until it answers (any HTTP status) or the time is up."""

    def answers() -> bool:
        _running(process)
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    wait_until(answers, seconds, f"an answer from {url}", interval=0.1)


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
    wait_until(lambda: server.started, 10, "the server's start", interval=0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def fdi_serve(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """``fdi serve --host 127.0.0.1 --port PORT ARGS`` as a process, configured by ``FDI_*``
    variables in ``env``; yields its plain-HTTP base URL."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FDI_")}
    environ.update(env)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    scheme = "https" if "--tls-cert" in args else "http"
    url = f"{scheme}://127.0.0.1:{port}/"
    try:
        try:
            wait_for_port(port, process, seconds=60)
        except RuntimeError as e:
            _stop(process)
            log.seek(0)
            raise RuntimeError(f"{e}; its log ends:\n{log.read().decode()[-3000:]}") from None
        yield url
    finally:
        _stop(process)
        log.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Wait until something listens on 127.0.0.1:``port`` (whatever it speaks)."""

    def listening() -> bool:
        _running(process)
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, seconds, f"a listener on port {port}", interval=0.1)


@contextmanager
def serve_tls(app: Any, directory: Path, port: int, **options: Any) -> Iterator[None]:
    """The registry ``app`` under uvicorn in a thread on loopback ``port`` over TLS: its server
    certificate from its own CA (``server.pem``/``server.key`` in ``directory``, made on first
    use and kept, as an operator keeps them), client certificates of that CA verified;
    ``options`` go to ``uvicorn.Config``. Close the clients of it before the block ends (idle
    kept-alive connections would hold the shutdown up)."""
    from api.tls import tls_options

    if not (directory / "server.pem").exists():
        key, cert = app.state.ca.sign_server(["127.0.0.1", "localhost"])
        (directory / "server.key").write_bytes(key)
        (directory / "server.pem").write_bytes(cert)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **tls_options(app.state.ca.ca_file(), directory / "server.pem", directory / "server.key"),
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "the TLS server did not start"
        return server.started

    wait_until(started, 30, "the TLS server's start")
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(20)


# nginx as an unprivileged process in a test's directory; ``{config}`` is the ``http`` block's
# server configuration.
NGINX_SKELETON = """
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{config}
}}
"""

NGINX_PROXY = """
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate        {dir}/server.pem;
        ssl_certificate_key    {dir}/server.key;
        ssl_client_certificate {ca};
        ssl_verify_client      optional;
        ssl_protocols          TLSv1.2 TLSv1.3;
        ssl_ciphers            ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL;
        location / {{
            proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
            include {dir}/fdi-proxy-secret.conf;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Host $http_host;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
"""


@contextmanager
def nginx_serving(directory: Path, config: str, port: int, secret: str) -> Iterator[str]:
    """Debian's nginx run from ``directory`` with ``config`` as its ``http`` block's server
    configuration (which may include ``fdi-proxy-secret.conf``: the header with ``secret``),
    until it listens on loopback ``port``; yields its HTTPS base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (directory / "fdi-proxy-secret.conf").write_text(
        f'proxy_set_header X-FDI-Proxy-Secret "{secret}";\n'
    )
    path = directory / "nginx.conf"
    path.write_text(NGINX_SKELETON.format(dir=directory, config=config))
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(path), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"https://127.0.0.1:{port}/"
    finally:
        _stop(process)


@contextmanager
def nginx(directory: Path, ca_file: Path, port: int, upstream: int, secret: str) -> Iterator[str]:
    """Debian's nginx on loopback ``port``, terminating TLS with ``directory``'s
    ``server.pem``/``server.key``, asking for client certificates of ``ca_file``'s CA and
    forwarding to ``upstream`` with the proxy secret, as docs/operations.md sets it up; yields
    its HTTPS base URL."""
    config = NGINX_PROXY.format(dir=directory, ca=ca_file, port=port, upstream=upstream)
    with nginx_serving(directory, config, port, secret) as url:
        yield url
