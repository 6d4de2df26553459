"""``fdi load``: register many assets from a file through a running registry, with progress."""

from __future__ import annotations

import ssl
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from registry.base.errors import UnsupportedFormat
from registry.submissions.formats import FORMATS, format_for


def tls_context(cert: str | None, key: str | None, cacert: str | None) -> ssl.SSLContext:
    """One SSL context holding the trusted CA and the client certificate.

    httpx 0.28+ drops ``cert=`` when ``verify`` is a path string (docs/facts.md, fact 19), so the
    client certificate and the CA go into one context that httpx uses as it is.
    """
    context = ssl.create_default_context(cafile=cacert)
    if cert:
        context.load_cert_chain(cert, key)
    return context


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--url", default="https://127.0.0.1:8443", show_default=True, help="The registry's base URL."
)
@click.option(
    "--cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate (PEM)."
)
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Its private key (PEM).")
@click.option(
    "--cacert",
    type=click.Path(exists=True, dir_okay=False),
    help="CA certificate that signed the server's certificate (the registry CA).",
)
@click.option("--interval", default=0.5, show_default=True, help="Seconds between progress polls.")
def load(
    file: Path, url: str, cert: str | None, key: str | None, cacert: str | None, interval: float
) -> None:
    """Register the records of FILE (CSV, JSON, JSON-LD, Turtle) as a bulk job.

    Shows a progress bar; at the end lists every refused row with its field and what is wrong.
    Good rows are registered even when others are refused. Exit status: 0 all registered,
    1 some rows refused, 2 the file or the request was refused.
    """
    import httpx

    console = Console(stderr=True)
    try:
        media = FORMATS[format_for(file.name)][0]
    except UnsupportedFormat as e:
        console.print(f"[red]{e.detail}[/]")
        sys.exit(2)
    client = httpx.Client(base_url=url, verify=tls_context(cert, key, cacert), timeout=120)
    response = client.post(
        "/jobs", content=file.read_bytes(), headers={"Content-Type": media, "X-Filename": file.name}
    )
    if response.status_code != 202:
        console.print(f"[red]refused ({response.status_code}):[/] {response.text}")
        sys.exit(2)
    job = response.json()
    location = response.headers["location"]
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(file.name, total=job["total"])
        while job["status"] != "finished":
            time.sleep(interval)
            job = client.get(location).json()
            progress.update(task, completed=job["processed"])
        progress.update(task, completed=job["total"])
    console.print(
        f"{job['registered']} registered, {job['refusedRecords']} refused (job {job['id']})"
    )
    for finding in job["refused"]:
        field = f" · {finding['field']}" if finding.get("field") else ""
        value = f" = {finding['value']!r}" if finding.get("value") is not None else ""
        console.print(f"  [red]{finding['record']}{field}{value}[/]: {finding['message']}")
    sys.exit(1 if job["refusedRecords"] else 0)


COMMANDS = [load]
