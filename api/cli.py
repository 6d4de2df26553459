"""The ``fdi`` command line: validate submissions offline, generate demo data, run the server.

Exit codes of ``fdi validate`` (as pySHACL's): 0 every file conforms, 1 at least one rule is
broken, 2 unusable input (unreadable file, unknown format, syntax error).

The commands import the server (FastAPI, uvicorn) and the other command groups inside their
functions, so that ``fdi validate`` and ``fdi --help`` do not load them: importing ``api.app``
alone takes about 1.3 s, the whole of ``fdi --help`` 0.8 s.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console

from registry.base.errors import (
    BadSignature,
    DerivedStateTampered,
    JournalCorrupt,
    RecordMismatch,
    RegistryError,
    UnusableInput,
)
from registry.shacl.validation import Report, Shapes, load_shapes, parse_and_check, shapes_of
from registry.submissions.formats import read_file

# A verification that failed (exit 1) rather than input that could not be used (exit 2).
_FAILED_CHECKS = (JournalCorrupt, DerivedStateTampered, BadSignature, RecordMismatch)


class _Commands(click.Group):
    """The command group; a registry error any command lets out ends here, in one place, as
    one line and an exit status (never a traceback): 1 for a check that failed, 2 otherwise.
    So does a file, a network peer or a TLS key that cannot be used (2)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RegistryError as e:
            failed = isinstance(e, _FAILED_CHECKS)
            click.echo(("✗ " if failed else "error: ") + e.detail, err=True)
            ctx.exit(1 if failed else 2)
        except Exception as e:
            if not _unusable(e):
                raise
            click.echo(f"error: {e}", err=True)
            ctx.exit(2)


def _unusable(error: Exception) -> bool:
    """Whether ``error`` says that something outside fdi cannot be used: a file, a TLS key
    (OSError), a registry that does not answer (httpx, imported only on this path)."""
    if isinstance(error, OSError):
        return True
    import httpx

    return isinstance(error, httpx.TransportError)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fdi-registry")
def main() -> None:
    """The FDI registry: organisations, flexible assets, rights to operate and data-sharing
    agreements for Britain's flexibility markets, checked by published SHACL shapes."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--shapes",
    "shapes_dir",
    type=click.Path(exists=True, path_type=Path),
    help="Validate against the shapes in this directory (its *.ttl files) or this Turtle file "
    "instead of the bundled ones.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report for people (text) or for programs (json).",
)
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge deprecated terms and rules as on this day (YYYY-MM-DD; default today): "
    "before a sunset date they warn, from it they are violations.",
)
@click.option(
    "--rules",
    "rules_version",
    metavar="VERSION|FILE",
    help="Validate against this rules version: a Turtle file saved from the registry's "
    "/rules/VERSION, the bundled version's number, or (with --registry) any version number, "
    "or 'current' for the version in force, downloaded from the registry.",
)
@click.option(
    "--registry",
    "registry_url",
    metavar="URL",
    help="The registry to download --rules from: the only request fdi validate makes, and "
    "only when asked.",
)
@click.option(
    "--cacert",
    type=click.Path(exists=True, dir_okay=False),
    help="CA certificate that signed the registry's server certificate (with --registry).",
)
def validate(
    files: tuple[Path, ...],
    shapes_dir: Path | None,
    output: str,
    on: dt.datetime | None,
    rules_version: str | None,
    registry_url: str | None,
    cacert: str | None,
) -> None:
    """Check submission FILES offline against the registry's rules.

    Accepts Turtle (.ttl), N-Triples (.nt), JSON-LD (.jsonld), plain JSON (.json) and CSV
    (.csv). The verdict is the registry's own, except for the rules that need the registry's
    other records (duplicates, overlapping rights to operate, referenced records), which are
    listed as not checked. Notes name the values the registry stores spelled otherwise (an
    MPAN core without spaces) and the records it makes itself (memberships, people,
    certificates), which it refuses in a submission.

    Exit status: 0 all files conform, 1 a rule is broken, 2 a file could not be used.
    """
    try:
        if rules_version is not None:
            shapes = _rules_shapes(rules_version, registry_url, cacert)
        else:
            shapes = load_shapes(shapes_dir.resolve() if shapes_dir else None)
    except UnusableInput as e:
        click.echo(f"fdi validate: {e.detail}", err=True)
        sys.exit(2)
    reports: list[Report] = []
    unusable: list[dict[str, object]] = []
    for path in files:
        try:
            reports.append(parse_and_check(read_file(path), shapes, on.date() if on else None))
        except UnusableInput as e:
            unusable.append({"source": str(path), "error": e.detail, **e.extra})
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "conforms": not unusable and all(r.conforms for r in reports),
                    "files": [r.as_dict() for r in reports],
                    "unusable": unusable,
                    "notChecked": shapes.registry_rules,
                },
                indent=2,
            )
        )
    else:
        _print_reports(reports, unusable, shapes.registry_rules)
    if unusable:
        sys.exit(2)
    sys.exit(0 if all(r.conforms for r in reports) else 1)


def _rules_shapes(version: str, url: str | None, cacert: str | None) -> Shapes:
    """The shapes of a rules version: from a file, bundled, or downloaded from ``url``."""
    import rdflib

    from registry.rules import rules

    if Path(version).is_file():
        return load_shapes(Path(version).resolve())
    if url is None:
        if version == rules.PACKAGED:
            return load_shapes()
        raise UnusableInput(
            f"rules {version} are not bundled (this fdi has {rules.PACKAGED}): give a file "
            "saved from the registry's /rules/VERSION, or --registry URL to download them"
        )
    import httpx

    from api.cli_load import tls_context

    base = url.rstrip("/")
    try:
        with httpx.Client(verify=tls_context(None, None, cacert), timeout=30) as client:
            if version == "current":
                listed = client.get(f"{base}/rules")
                listed.raise_for_status()
                version = next(v["version"] for v in listed.json() if v["status"] == "in force")
            else:
                rules.semver(version)
            answer = client.get(f"{base}/rules/{version}")
    except httpx.HTTPError as e:
        raise UnusableInput(f"could not download rules {version} from {url}: {e}") from None
    if answer.status_code != 200:
        raise UnusableInput(
            f"{url} has no rules {version} ({answer.status_code}): "
            + str(
                answer.json().get("detail")
                if answer.headers.get("content-type", "").endswith("json")
                else ""
            )
        )
    graph = rdflib.Graph().parse(data=answer.text, format="turtle")
    return shapes_of(graph, f"{base}/rules/{version}")


def _print_reports(
    reports: list[Report], unusable: list[dict[str, object]], not_checked: list[dict[str, str]]
) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for bad in unusable:
        where = f" (line {bad['line']})" if bad.get("line") else ""
        console.print(f"[bold red]✗ {bad['source']}[/]{where}: unusable: {bad['error']}")
    for report in reports:
        source = report.sources[0]
        if report.conforms:
            extra = f", {len(report.warnings)} warning(s)" if report.warnings else ""
            console.print(f"[green]✓ {source}[/]: conforms ({report.records} record(s){extra})")
        else:
            console.print(
                f"[bold red]✗ {source}[/]: {len(report.violations)} violation(s) "
                f"in {report.records} record(s)"
            )
        for f in report.findings:
            colour = "red" if f.severity == "Violation" else "yellow"
            where = f"{f.record}" + (f" · {f.field}" if f.field else "")
            value = f" = {f.value!r}" if f.value is not None else ""
            console.print(f"  [{colour}]{f.severity}[/] {where}{value}")
            console.print(f"    {f.message}")
            console.print(f"    [dim]rule: {f.rule}. {f.description}[/]")
        for made in report.made_by_registry:
            console.print(
                f"  [cyan]Note[/] {made['record']} is a {made['type']} record: the registry "
                "makes these itself and refuses them in a submission"
            )
        for r in report.respelled:
            console.print(
                f"  [cyan]Note[/] {r['record']} · {r['field']} = {r['given']!r} "
                f"is stored as {r['stored']!r}"
            )
    if not_checked:
        console.print("[dim]Not checked offline (they need the registry's other records):[/]")
        for rule in not_checked:
            console.print(f"[dim]  - {rule['name']}[/]")


@main.command()
@click.option("--assets", default=5000, show_default=True, help="How many assets to generate.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file: .ttl or .nt for every record, .csv for the assets alone.",
)
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
def demo(assets: int, out: Path, seed: int) -> None:
    """Write a realistic synthetic registry: ASSETS assets across all 14 licence areas, a few
    dozen FSPs, the market operators and rights to operate (up to 1,000,000 assets)."""
    from registry.operations.demo_files import write_demo

    counts = write_demo(out, assets=assets, seed=seed)
    click.echo(f"wrote {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@main.command()
@click.option("--demo", "with_demo", is_flag=True, help="Start with synthetic demo data.")
@click.option("--demo-assets", default=5000, show_default=True, help="Assets in the demo data.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the journal and on-disk index here (default: FDI_DATA_DIR or ./fdi-data).",
)
@click.option("--memory", is_flag=True, help="Keep everything in memory (lost on exit).")
@click.option(
    "--base-iri", help="IRI base for minted IDs (default: FDI_BASE_IRI, else the server's own URL)."
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Serve HTTPS with this server certificate (PEM; `fdi ca server-cert` makes one).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The server certificate's private key (PEM).",
)
def serve(
    with_demo: bool,
    demo_assets: int,
    host: str,
    port: int,
    data_dir: Path | None,
    memory: bool,
    base_iri: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Run the registry's HTTP service (REST API, SPARQL, web pages, OpenAPI docs at /docs).

    With --tls-cert and --tls-key it serves HTTPS and authenticates clients by the certificates
    the registry's CA issued (optional at the TLS layer: anyone may read public pages or apply
    to join). Without them, client certificates are taken only from a TLS-terminating proxy
    that proves itself with FDI_PROXY_SECRET (see docs/operations.md).
    """
    import uvicorn

    from api.app import create_app
    from api.logs import configure as configure_logging
    from api.tls import tls_options
    from registry.base.settings import Settings
    from registry.trust.operator import ensure_scheme_operator

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("give both --tls-cert and --tls-key")
    scheme = "https" if tls_cert else "http"
    try:
        settings = Settings.from_env(data_dir=data_dir, base_iri=base_iri)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if not base_iri and settings.base_iri == Settings.model_fields["base_iri"].default:
        settings = settings.replace(base_iri=f"{scheme}://{_url_host(host)}:{port}/")
    if memory:
        settings = settings.replace(data_dir=None, store="memory")
    # A register the journal disowns (registry.operations.derived_state) stops here: exit 1, one
    # line.
    app = create_app(settings, demo_assets=demo_assets if with_demo else 0)
    ensure_scheme_operator(app.state.registry)
    # From here on, one JSON line per record with the request's ID (api/logs.py); the registry
    # logs each answer itself, so uvicorn's own access lines (without the ID) are off.
    configure_logging()
    options = tls_options(app.state.ca.ca_file(), tls_cert, tls_key) if tls_cert and tls_key else {}
    # The peer address is never rewritten from X-Forwarded-For (uvicorn believes it from
    # 127.0.0.1, that is from any local process); the proxy's X-Real-IP is believed only with
    # the proxy secret (api.auth.client_address).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        **options,
    )


def _add_integrity_commands() -> None:
    from api.cli_integrity import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_integrity_commands()


def _add_trust_commands() -> None:
    from api.cli_trust import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_trust_commands()


def _add_load_command() -> None:
    from api.cli_load import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_load_command()


def _add_erasure_commands() -> None:
    from api.cli_erasure import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_erasure_commands()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host
