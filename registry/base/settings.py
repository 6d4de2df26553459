"""One settings object for the whole registry; nothing else reads the environment.

Every setting can be given as an environment variable ``FDI_<NAME>`` (upper case), read by
``Settings.from_env()``. ``Settings(...)`` itself takes only the values it is given, so that code
and tests are never configured by the shell they run in; ``settings.replace(...)`` derives
changed settings, validated as values from the environment are. The fields' descriptions are
the table in docs/configuration.md: ``python -m registry.base.settings --markdown`` prints it,
``--write docs/configuration.md`` puts it in the page (tests/test_settings.py keeps them equal).

>>> Settings(data_dir=None).store
'memory'
>>> Settings().store
'oxigraph'
>>> Settings(base_iri="https://registry.example.org").base_iri
'https://registry.example.org/'
>>> Settings().replace(checkpoint_every=0).checkpoint_every
0
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from registry.base.outbound import DENIED_NETWORKS

MIN_PROXY_SECRET = 32
PREFIX = "FDI_"
_DENIED_SHOWN = (
    "loopback, private, shared and link-local ranges, and the IPv6 forms that reach them"
)


def _shown(text: str) -> dict[str, Any]:
    """A default as docs/configuration.md gives it, where its value says less than words."""
    return {"shown_default": text}


class Settings(BaseSettings):
    """Registry settings with working defaults, immutable (``replace`` derives changed ones)."""

    # Each field's description is the docstring under it. Values never appear in errors (a
    # secret could be one); from_env shows the others' itself.
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        use_attribute_docstrings=True,
    )

    data_dir: Path | None = Path("fdi-data")
    """where the journal (`journal.sqlite`) and the on-disk Oxigraph index (`index/`) live; empty
    (or `fdi serve --memory`) keeps both in memory"""
    base_iri: str = Field(
        "http://localhost:8000/",
        json_schema_extra=_shown(
            "`http://localhost:8000/`; `fdi serve`: its own URL, `http://<host>:<port>/`"
        ),
    )
    """the base every record IRI is minted under; set it to the registry's public URL so that IDs
    dereference. Changing it later leaves earlier IDs under the old base"""
    journal_url: str = Field("", repr=False)
    """a PostgreSQL URL (`postgresql://fdi@db.example.org/fdi`) to keep the journal and its derived
    tables in, instead of `journal.sqlite`: any number of `fdi serve` replicas may share it
    ([replicas.md](replicas.md)); empty: SQLite"""
    catch_up_wait: float = 2.0
    """seconds a read with `FDI-Min-Sequence` waits for this replica to apply the journal that far
    before a 503 `not-caught-up` ([replicas.md](replicas.md#read-your-writes))"""
    store: Literal["oxigraph", "memory", "sparql"] = Field(
        "oxigraph", json_schema_extra=_shown("`oxigraph` with a data directory, else `memory`")
    )
    """the index implementation: `oxigraph` (on disk under the data directory), `memory`, or
    `sparql` (an external SPARQL 1.1 store, [external-store.md](external-store.md); the journal
    stays under the data directory)"""
    sparql_query_url: str = ""
    """with `FDI_STORE=sparql`: the store's SPARQL 1.1 Query endpoint (for `oxigraph serve`:
    `http://HOST:7878/query`)"""
    sparql_update_url: str = ""
    """with `FDI_STORE=sparql`: the store's SPARQL 1.1 Update endpoint (for `oxigraph serve`:
    `http://HOST:7878/update`)"""
    data_licence: str = "https://creativecommons.org/licenses/by/4.0/"
    """the licence the DCAT catalogue gives the registry's own data ([catalogue.md](catalogue.md));
    the ontology and shapes are Apache-2.0"""
    federation_peers: str = ""
    """comma-separated SPARQL endpoints of peer registries (`https://peer/sparql`): the only
    `SERVICE` targets, and those `/lookup` asks for records by natural key"""
    query_timeout: float = 10.0
    """seconds after which a SPARQL query is stopped"""
    max_results: int = 10_000
    """the most rows a SPARQL query returns"""
    query_workers: int = 2
    """how many SPARQL queries run at once: worker processes with the on-disk index (a query past
    the time limit is killed with its process), threads in memory ([sparql.md](sparql.md))"""
    query_memory_mb: int = 2048
    """the heap (MiB) each SPARQL worker process may use; a query needing more stops with its worker
    (502), which is replaced"""
    query_worker_recycle_mb: int = 256
    """a SPARQL worker resident above this (MiB) after answering is replaced by a fresh one, so the
    server's memory returns to its resting size between heavy queries (an aggregate over
    1,000,000 assets leaves about 330 MiB behind); 0: never"""
    query_isolation: Literal["required", "off"] = "required"
    """`required`: every SPARQL worker runs in a network namespace of its own, with no network
    (`SERVICE` to allow-listed peers goes through the registry); where the system cannot make
    one, no worker starts and queries answer 502 saying why. `off`: workers keep the network
    (only the query check stands between a query and an outbound connection)
    ([security](security.md#sparql-workers-without-network))"""
    query_slots_per_requester: int = 1
    """how many SPARQL queries one requester (an organisation, or an anonymous client address) may
    have running at once; more wait their turn up to `FDI_QUERY_TIMEOUT`, then 503
    ([security](security.md#fair-shares-of-the-sparql-workers))"""
    max_body_bytes: int = 50 * 1024 * 1024
    """the largest request body accepted from a member (a client certificate the registry accepts),
    on every route, counted as it arrives (413 above it, also for chunked bodies); bulk jobs"""
    anonymous_max_body_bytes: int = 1024 * 1024
    """the largest request body accepted from anyone else (413 above it); every limit is listed in
    [security](security.md#input-limits)"""
    max_blank_nodes: int = 10_000
    """the most blank nodes one submission may hold (413 above it, before validation)"""
    checkpoint_every: int = 1000
    """sign a journal checkpoint every this many entries (`0`: only on demand); see
    [operations](operations.md#a-verifiable-journal)"""
    validator: Literal["compiled", "pyshacl"] = "compiled"
    """the SHACL engine that checks submissions: `compiled` (`registry/shacl/engine.py`, 10–25x
    faster; its verdicts are tested equal to pySHACL's on the shape fixtures and the W3C SHACL
    core suite) or `pyshacl`, the reference engine"""
    proxy_secret: str = Field("", repr=False)
    """a per-deployment secret (32 characters or more: `openssl rand -hex 32`) the TLS-terminating
    proxy adds to every request, in `FDI_PROXY_SECRET_HEADER`; a forwarded client certificate is
    believed only on a request carrying it (compared in constant time), and refused (401) on any
    other. Empty: no proxy, the header is always refused
    ([operations](operations.md#behind-nginx-the-proxy-proves-itself))"""
    proxy_secret_header: str = "X-FDI-Proxy-Secret"
    """the header the proxy puts the secret in"""
    trusted_proxies: str = ""
    """optionally, comma-separated addresses or networks (`127.0.0.1`, `10.0.0.0/8`) the proxy must
    also connect from; needs `FDI_PROXY_SECRET` (an address alone proves nothing: every local
    process shares 127.0.0.1)"""
    client_cert_header: str = "X-Client-Cert"
    """the header such a proxy forwards the client certificate in (PEM, URL-encoded as nginx's
    `$ssl_client_escaped_cert`, or base64 DER)"""
    certificate_days: int = 365
    """the longest validity of a client certificate the registry issues"""
    access_token_seconds: int = 300
    """how long an access token from the authorisation server is valid (FAPI 2.0 wants them short;
    [authorisation-server.md](authorisation-server.md))"""
    refresh_token_seconds: int = 8 * 3600
    """how long a refresh token (authorisation-code flow) is valid; each is used once and
    replaced"""
    monitor_interval: float = 3600.0
    """seconds between checks of the endpoints members register in their catalogues; `0`: never
    ([monitoring.md](monitoring.md))"""
    monitor_timeout: float = 5.0
    """seconds an endpoint check may take before the endpoint counts as down"""
    monitor_slow_ms: float = 2000.0
    """an endpoint slower than this (milliseconds) is `slow`"""
    monitor_certificate_days: int = 30
    """an endpoint certificate expiring within this many days is `certificate-expiring`, and its
    publisher is told"""
    monitor_ca_file: str = ""
    """extra CA certificates (PEM) endpoints' certificates may chain to, beside the system's trust
    store"""
    monitor_denied_networks: str = Field(DENIED_NETWORKS, json_schema_extra=_shown(_DENIED_SHOWN))
    """comma-separated address ranges endpoint checks never contact; empty allows every address"""
    case_acknowledge_days: int = 2
    """days from a redress case being raised by which the respondent must acknowledge it
    ([redress.md](redress.md))"""
    case_answer_days: int = 14
    """days from a redress case being raised by which the respondent must answer it; after that the
    complainant may escalate it to the scheme operator"""
    operator_name: str = "FDI Scheme Operator"
    """legal name of the scheme operator organisation the registry creates on first start"""
    operator_company_number: str = "00000000"
    """its Companies House number (set the real one before first start)"""
    operator_email: str = "operator@localhost"
    """its contact email, also its administrator's"""
    disclosure_threshold: int = 5
    """the fewest assets a published statistics cell may hold (`GET /statistics`, the home page):
    smaller cells are merged into `(other)` cells, then suppressed; the scheme operator sees
    every cell. `1` publishes every cell
    ([authorisation.md](authorisation.md#statistics-disclosure-control))"""
    feed_page_size: int = Field(100, ge=1)
    """members per page of the change feeds ([change-feed.md](change-feed.md)); a full page never
    changes, so changing this renumbers every page: followers start again"""
    feed_retention_days: int = 365
    """pages of the change feeds whose newest member is older than this many days are dropped (410
    Gone; the last page is always kept); `0` keeps every page"""
    digest_interval: float = 300.0
    """seconds between rounds of read digests: each organisation whose data another organisation
    read since the last round gets one `AccessDigest` notification in its inbox (also after a
    restart, for reads before it); `0` sends none (`send_digests` by hand)"""
    webhook_interval: float = 10.0
    """seconds between rounds of webhook deliveries: each round queues the notifications that
    reached members' inboxes for their webhooks and POSTs those due; `0` sends none
    ([webhooks.md](webhooks.md))"""
    webhook_timeout: float = 5.0
    """seconds one webhook delivery may take before it counts as failed"""
    webhook_retry_seconds: float = 30.0
    """the wait before the first retry of a failed delivery; doubled after each further failure, at
    most six hours"""
    webhook_max_attempts: int = 12
    """a delivery is given up (`failed`) after this many failed attempts"""
    webhook_denied_networks: str = Field(DENIED_NETWORKS, json_schema_extra=_shown(_DENIED_SHOWN))
    """comma-separated address ranges a webhook may not point into (checked at registration and
    before every attempt); empty allows every address"""
    webhook_ca_file: str = ""
    """extra CA certificates (PEM) webhook receivers' certificates may chain to, beside the system's
    trust store"""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values given: the environment is read by from_env alone (module docstring).
        return (init_settings,)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read the ``FDI_*`` variables, then apply ``overrides`` (those that are not ``None``).

        Variables that name no setting are ignored. Raises ``ValueError`` naming each variable
        whose value is unusable, and each that names a setting in other than upper case
        (pydantic-settings matches names whatever their case, and ``fdi_base_iri`` would win
        over ``FDI_BASE_IRI``: a setting is given by its documented name or not at all).
        """
        names = {PREFIX + name.upper() for name in cls.model_fields}
        other_case = sorted(n for n in os.environ if n.upper() in names and n not in names)
        if other_case:
            raise ValueError(
                "; ".join(
                    f"{n}: settings are read by their upper-case names only" for n in other_case
                )
            )
        values: dict[str, Any] = EnvSettingsSource(cls)()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as e:
            raise ValueError(_explain(e)) from None

    def replace(self, **changes: object) -> Settings:
        """These settings with ``changes``, validated as the environment's values are.

        Raises ``pydantic.ValidationError`` (a ``ValueError``) for an unusable value or an
        unknown name.
        """
        return type(self)(**{**self.model_dump(), **changes})

    @model_validator(mode="before")
    @classmethod
    def _store_follows_data_dir(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("store"):
            data_dir = values.get("data_dir", cls.model_fields["data_dir"].default)
            return {**values, "store": "oxigraph" if data_dir else "memory"}
        return values

    @field_validator("data_dir", mode="before")
    @classmethod
    def _empty_is_memory(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("base_iri")
    @classmethod
    def _ends_with_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("proxy_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < MIN_PROXY_SECRET:
            raise ValueError(
                f"FDI_PROXY_SECRET must be at least {MIN_PROXY_SECRET} characters "
                "(make one with `openssl rand -hex 32`)"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in filter(None, (n.strip() for n in value.split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as e:
                raise ValueError(f"FDI_TRUSTED_PROXIES: {e}") from None
        return value

    @model_validator(mode="after")
    def _proxy_proves_itself(self) -> Settings:
        if self.trusted_proxies and not self.proxy_secret:
            raise ValueError(
                "FDI_TRUSTED_PROXIES alone does not authenticate a proxy (any local process "
                "shares its address): set FDI_PROXY_SECRET too (docs/operations.md)"
            )
        return self


def _explain(error: ValidationError) -> str:
    """Each problem on a line of its own, naming its variable (and its value unless secret)."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:
            lines.append(message)
            continue
        name = str(problem["loc"][0])
        if message.startswith(PREFIX):  # a validator's own message names its variable
            lines.append(message)
        else:
            field = Settings.model_fields.get(name)
            shown = "" if field is None or not field.repr else f" (got {problem['input']!r})"
            lines.append(f"{PREFIX}{name.upper()}: {message}{shown}")
    return "\n".join(lines)


# --- the table in docs/configuration.md ----------------------------------------------------

TABLE_START = "<!-- settings: generated by `python -m registry.base.settings --markdown` -->"
TABLE_END = "<!-- end of settings -->"


def markdown_table() -> str:
    """The settings as docs/configuration.md's table: variable, type, default, meaning."""
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = str(extra.get("shown_default") or _default_text(field.default))
        cells = (f"`{PREFIX}{name.upper()}`", _type_name(field.annotation), default)
        rows.append(f"| {' | '.join(cells)} | {' '.join((field.description or '').split())} |")
    return "\n".join(rows) + "\n"


def with_table(page: str) -> str:
    """``page`` with the text between its table markers replaced by ``markdown_table()``.

    Raises ``ValueError`` if the page lacks the markers.
    """
    pattern = re.compile(re.escape(TABLE_START) + r"\n.*?" + re.escape(TABLE_END), re.DOTALL)
    if not pattern.search(page):
        raise ValueError(f"no {TABLE_START} … {TABLE_END} in the page")
    return pattern.sub(lambda _: f"{TABLE_START}\n{markdown_table()}{TABLE_END}", page)


def _default_text(default: object) -> str:
    if default == "" or default is None:
        return "empty"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"


def _type_name(annotation: object) -> str:
    if typing.get_origin(annotation) is Literal:
        return " or ".join(f"`{choice}`" for choice in typing.get_args(annotation))
    if Path in typing.get_args(annotation) or annotation is Path:
        return "path"
    return {int: "integer", float: "number", str: "text"}[annotation]  # type: ignore[index]


def main(argv: list[str] | None = None) -> None:
    """``--markdown`` prints the table; ``--write PAGE`` puts it in PAGE between its markers."""
    parser = argparse.ArgumentParser(prog="python -m registry.base.settings")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print the settings table")
    action.add_argument("--write", type=Path, metavar="PAGE", help="update the table in PAGE")
    options = parser.parse_args(argv)
    if options.write:
        options.write.write_text(with_table(options.write.read_text("utf-8")), "utf-8")
    else:
        sys.stdout.write(markdown_table())


if __name__ == "__main__":
    main()
