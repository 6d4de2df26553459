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
    store: ``oxigraph`` (embedded, on disk under ``data_dir``) or ``memory``.
    query_timeout: seconds after which a SPARQL query is stopped.
    max_results: the most rows a SPARQL query returns.
    """

    data_dir: Path | None = Path("fdi-data")
    base_iri: str = "http://localhost:8000/"
    store: str = field(default="")
    query_timeout: float = 10.0
    max_results: int = 10_000
    max_body_bytes: int = 50 * 1024 * 1024

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
    if name in ("query_timeout",):
        return float(raw)
    if name in ("max_results", "max_body_bytes"):
        return int(raw)
    return raw
