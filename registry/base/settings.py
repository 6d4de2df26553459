"""One settings object for the whole registry; nothing else reads the environment.

Every setting can be given as an environment variable ``FDI_<NAME>`` (upper case).

>>> Settings(data_dir=None).store
'memory'
>>> Settings().store
'oxigraph'
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from registry.base.outbound import DENIED_NETWORKS

MIN_PROXY_SECRET = 32


@dataclass(frozen=True)
class Settings:
    """Registry settings with working defaults.

    data_dir: where the journal (``journal.sqlite``) and the on-disk index (``index/``) live
        (default ``fdi-data`` in the working directory); ``None`` (``FDI_DATA_DIR=""``, or
        ``fdi serve --memory``) keeps both in memory, for quick tests and throw-away demos.
    base_iri: the IRI base records are minted under; it should be the public URL of the server,
        so that every minted IRI dereferences.
    journal_url: a PostgreSQL connection URL (``postgresql://user@host/db``) to keep the journal
        in instead of ``data_dir/journal.sqlite``; any number of registries (replicas) may share
        it, each following it into its own index (docs/replicas.md). Empty: SQLite.
    catch_up_wait: the longest a read that asks for a journal sequence this registry has not
        applied yet (``FDI-Min-Sequence``) waits for it before a 503 (seconds).
    store: ``oxigraph`` (embedded, on disk under ``data_dir``), ``memory``, or ``sparql`` (an
        external SPARQL 1.1 store at ``sparql_query_url``/``sparql_update_url``; the journal
        stays under ``data_dir``; see docs/external-store.md).
    sparql_query_url, sparql_update_url: the external store's SPARQL 1.1 Query and Update
        endpoints (for ``oxigraph serve``: ``http://HOST:7878/query`` and ``.../update``).
    data_licence: the licence of the registry's own data (the public directory), as published in
        its DCAT catalogue (``/catalogue``); the ontology and shapes are Apache-2.0.
    federation_peers: comma-separated SPARQL endpoints of peer registries (``https://peer/sparql``):
        the only hosts ``SERVICE`` may call, and those ``/lookup`` asks for records by natural key.
    query_timeout: seconds after which a SPARQL query is stopped.
    max_results: the most rows a SPARQL query returns.
    query_workers: how many SPARQL queries run at once: worker processes with the on-disk
        index (a query past ``query_timeout`` is killed with its process), threads otherwise.
    query_memory_mb: the memory (MiB of heap) each SPARQL worker process may use; a query that
        needs more stops with its worker (502), which is replaced.
    query_worker_recycle_mb: a SPARQL worker whose resident memory is above this after a query
        (an aggregate over every asset leaves hundreds of MiB behind) is replaced by a fresh one,
        so the server's memory returns to its resting size between heavy queries (0: never).
    query_isolation: ``required`` (the default): each SPARQL worker process runs in a network
        namespace of its own, without any network (registry.query.sandbox), and workers are not
        started where the system cannot make one (queries then answer 502 saying why); ``off``:
        workers keep the network, leaving only the query check between a query and an outbound
        connection (only where namespaces are unavailable and the risk is accepted).
    query_slots_per_requester: how many SPARQL queries one requester (an organisation, or an
        anonymous client address) may have running at once; more wait their turn, up to
        ``query_timeout``, then 503. Keeps one requester's runaway queries from taking every
        worker.
    max_body_bytes: the largest request body accepted from a member (a request with a client
        certificate the registry accepts), counted as it arrives (413 above it); bulk jobs.
    anonymous_max_body_bytes: the largest request body accepted from anyone else (413 above it).
    max_blank_nodes: the most blank nodes one submission may hold (413 above it).
    checkpoint_every: sign a journal checkpoint every this many entries (0: only on demand).
    validator: the SHACL engine that checks submissions: ``compiled`` (registry.shacl.engine,
        fast; its verdicts are tested equal to pySHACL's) or ``pyshacl`` (the reference engine).
    proxy_secret: a per-deployment secret (at least 32 characters; ``openssl rand -hex 32``) that
        the TLS-terminating proxy (nginx) adds to every request it forwards, in
        ``proxy_secret_header``. A forwarded client certificate is believed only on a request
        carrying it (compared in constant time); any other request carrying the certificate
        header is refused with 401. Empty (the default): no proxy, the header is always refused.
    proxy_secret_header: the header the proxy puts the secret in.
    trusted_proxies: optionally, comma-separated addresses or networks the proxy connects from;
        when set, the proxy must also come from one of them. An address alone proves nothing
        (any local process shares 127.0.0.1), so this needs ``proxy_secret``.
    client_cert_header: the header such a proxy forwards the client certificate in (PEM,
        URL-encoded as nginx's ``$ssl_client_escaped_cert``, or base64 DER).
    certificate_days: how long client certificates are valid unless a shorter time is asked for.
    access_token_seconds: how long an access token from the authorisation server is valid
        (FAPI 2.0 wants them short; docs/authorisation-server.md).
    refresh_token_seconds: how long a refresh token (authorisation-code flow) is valid; each is
        used once and replaced.
    monitor_interval: seconds between checks of the endpoints members register in their
        catalogues (0: never; docs/monitoring.md).
    monitor_timeout: seconds each endpoint check may take before the endpoint counts as down.
    monitor_slow_ms: an endpoint answering slower than this (milliseconds) is ``slow``.
    monitor_certificate_days: an endpoint whose TLS certificate expires within this many days
        is ``certificate-expiring`` and its publisher is told.
    monitor_ca_file: extra CA certificates (PEM) endpoint certificates may chain to, beside the
        system's trust store.
    monitor_denied_networks: comma-separated address ranges endpoint checks never contact
        (default: loopback, private, shared and link-local ranges); empty allows every address.
    case_acknowledge_days, case_answer_days: the scheme's time limits for redress cases: days
        from a case being raised by which the respondent must acknowledge it, and answer it
        (after which the complainant may escalate it to the scheme operator).
    operator_name, operator_company_number, operator_email: the scheme operator organisation the
        registry creates on first start (its legal name, Companies House number, contact).
    digest_interval: seconds between rounds of read digests to the organisations whose data was
        read (registry.access_log.DigestSender); 0 sends none (``send_digests`` by hand).
    webhook_interval: seconds between rounds of webhook deliveries (registry.webhooks.Sender):
        each round queues the notifications that reached a member's inbox for its webhooks and
        POSTs those due; 0 sends none.
    webhook_timeout: seconds one webhook delivery may take before it counts as failed.
    webhook_retry_seconds: the wait before the first retry of a failed delivery; it doubles
        with each further failure, up to six hours.
    webhook_max_attempts: after this many failed attempts a delivery is given up (``failed``).
    webhook_denied_networks: comma-separated address ranges webhooks may never point into (at
        registration and at each delivery; default: loopback, private, shared and link-local
        ranges, as for endpoint checks); empty allows every address.
    webhook_ca_file: extra CA certificates (PEM) webhook receivers' certificates may chain to,
        beside the system's trust store.
    disclosure_threshold: the fewest assets a published statistics cell may hold; smaller cells
        are merged, then suppressed (registry.publishing.disclosure); 1 publishes every cell.
    feed_page_size: members per page of the change feeds (registry.publishing.feed); a full page
    never
        changes, so changing this renumbers every page.
    feed_retention_days: pages of the change feeds whose newest member is older than this are
        dropped (410); 0 keeps every page.
    """

    data_dir: Path | None = Path("fdi-data")
    journal_url: str = field(default="", repr=False)
    base_iri: str = "http://localhost:8000/"
    store: str = field(default="")
    sparql_query_url: str = ""
    sparql_update_url: str = ""
    data_licence: str = "https://creativecommons.org/licenses/by/4.0/"
    federation_peers: str = ""
    query_timeout: float = 10.0
    max_results: int = 10_000
    query_workers: int = 2
    query_memory_mb: int = 2048
    query_worker_recycle_mb: int = 256
    query_isolation: str = "required"
    query_slots_per_requester: int = 1
    max_body_bytes: int = 50 * 1024 * 1024
    anonymous_max_body_bytes: int = 1024 * 1024
    max_blank_nodes: int = 10_000
    checkpoint_every: int = 1000
    validator: str = "compiled"
    proxy_secret: str = field(default="", repr=False)
    proxy_secret_header: str = "X-FDI-Proxy-Secret"
    trusted_proxies: str = ""
    client_cert_header: str = "X-Client-Cert"
    certificate_days: int = 365
    access_token_seconds: int = 300
    refresh_token_seconds: int = 8 * 3600
    monitor_interval: float = 3600.0
    monitor_timeout: float = 5.0
    monitor_slow_ms: float = 2000.0
    monitor_certificate_days: int = 30
    monitor_ca_file: str = ""
    monitor_denied_networks: str = DENIED_NETWORKS
    case_acknowledge_days: int = 2
    case_answer_days: int = 14
    operator_name: str = "FDI Scheme Operator"
    operator_company_number: str = "00000000"
    operator_email: str = "operator@localhost"
    disclosure_threshold: int = 5
    digest_interval: float = 300.0
    webhook_interval: float = 10.0
    webhook_timeout: float = 5.0
    webhook_retry_seconds: float = 30.0
    webhook_max_attempts: int = 12
    webhook_denied_networks: str = DENIED_NETWORKS
    webhook_ca_file: str = ""
    catch_up_wait: float = 2.0
    feed_page_size: int = 100
    feed_retention_days: int = 365

    def __post_init__(self) -> None:
        if not self.store:
            object.__setattr__(self, "store", "oxigraph" if self.data_dir else "memory")
        if not self.base_iri.endswith("/"):
            object.__setattr__(self, "base_iri", self.base_iri + "/")
        if self.proxy_secret and len(self.proxy_secret) < MIN_PROXY_SECRET:
            raise ValueError(
                f"FDI_PROXY_SECRET must be at least {MIN_PROXY_SECRET} characters "
                "(make one with `openssl rand -hex 32`)"
            )
        for network in filter(None, (n.strip() for n in self.trusted_proxies.split(","))):
            ipaddress.ip_network(network, strict=False)  # ValueError names a bad one
        if self.feed_page_size < 1:
            raise ValueError("FDI_FEED_PAGE_SIZE must be at least 1")
        if self.query_isolation not in ("required", "off"):
            raise ValueError("FDI_QUERY_ISOLATION must be required or off")
        if self.trusted_proxies and not self.proxy_secret:
            raise ValueError(
                "FDI_TRUSTED_PROXIES alone does not authenticate a proxy (any local process "
                "shares its address): set FDI_PROXY_SECRET too (docs/operations.md)"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``FDI_*`` variables, then apply ``overrides`` (those that are not ``None``)."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get("FDI_" + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _convert(name: str, raw: str) -> object:
    """An environment value as the type its field declares (``int``, ``float``; text else)."""
    if name == "data_dir":
        return Path(raw) if raw else None
    declared = _FIELD_TYPES.get(name)
    if declared == "float":
        return float(raw)
    if declared == "int":
        return int(raw)
    return raw


# The declared type of each setting (annotations are strings here: ``from __future__``).
_FIELD_TYPES = {f.name: str(f.type) for f in fields(Settings)}
