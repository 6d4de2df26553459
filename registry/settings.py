"""One settings object for the whole registry; nothing else reads the environment.

Every setting can be given as an environment variable ``FDI_<NAME>`` (upper case).

>>> Settings(data_dir=None).store
'memory'
>>> Settings().store
'oxigraph'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Registry settings with working defaults.

    data_dir: where the journal (``journal.sqlite``) and the on-disk index (``index/``) live
        (default ``fdi-data`` in the working directory); ``None`` (``FDI_DATA_DIR=""``, or
        ``fdi serve --memory``) keeps both in memory, for quick tests and throw-away demos.
    base_iri: the IRI base records are minted under; it should be the public URL of the server,
        so that every minted IRI dereferences.
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
    max_body_bytes: the largest request body accepted, counted as it arrives (413 above it).
    max_blank_nodes: the most blank nodes one submission may hold (413 above it).
    checkpoint_every: sign a journal checkpoint every this many entries (0: only on demand).
    validator: the SHACL engine that checks submissions: ``compiled`` (registry.shacl_engine,
        fast; its verdicts are tested equal to pySHACL's) or ``pyshacl`` (the reference engine).
    trusted_proxies: comma-separated addresses of TLS-terminating proxies (nginx) whose
        forwarded client certificate header is believed; empty: the header is ignored.
    client_cert_header: the header such a proxy forwards the client certificate in (PEM,
        URL-encoded as nginx's ``$ssl_client_escaped_cert``, or base64 DER).
    certificate_days: how long client certificates are valid unless a shorter time is asked for.
    operator_name, operator_company_number, operator_email: the scheme operator organisation the
        registry creates on first start (its legal name, Companies House number, contact).
    digest_interval: seconds between rounds of read digests to the organisations whose data was
        read (registry.access_log.DigestSender); 0 sends none (``send_digests`` by hand).
    disclosure_threshold: the fewest assets a published statistics cell may hold; smaller cells
        are merged, then suppressed (registry.disclosure); 1 publishes every cell.
    """

    data_dir: Path | None = Path("fdi-data")
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
    max_body_bytes: int = 50 * 1024 * 1024
    max_blank_nodes: int = 10_000
    checkpoint_every: int = 1000
    validator: str = "compiled"
    trusted_proxies: str = ""
    client_cert_header: str = "X-Client-Cert"
    certificate_days: int = 365
    operator_name: str = "FDI Scheme Operator"
    operator_company_number: str = "00000000"
    operator_email: str = "operator@localhost"
    disclosure_threshold: int = 5
    digest_interval: float = 300.0

    def __post_init__(self) -> None:
        if not self.store:
            object.__setattr__(self, "store", "oxigraph" if self.data_dir else "memory")
        if not self.base_iri.endswith("/"):
            object.__setattr__(self, "base_iri", self.base_iri + "/")

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
    if name == "data_dir":
        return Path(raw) if raw else None
    if name in ("query_timeout", "digest_interval"):
        return float(raw)
    if name in (
        "max_results",
        "query_workers",
        "query_memory_mb",
        "query_worker_recycle_mb",
        "max_body_bytes",
        "max_blank_nodes",
        "checkpoint_every",
        "certificate_days",
        "disclosure_threshold",
    ):
        return int(raw)
    return raw
