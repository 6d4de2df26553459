"""The index the settings name: embedded Oxigraph or an external SPARQL 1.1 store."""

from __future__ import annotations

from pathlib import Path

from registry.base.settings import Settings
from registry.store.index import OxigraphIndex
from registry.store.index_protocol import Index
from registry.store.remote_index import RemoteIndex


def open_index(settings: Settings) -> Index:
    """The index the settings name: embedded Oxigraph (on disk under ``data_dir``, or in
    memory) or an external SPARQL 1.1 store (``store = "sparql"``, registry.store.remote_index)."""
    if settings.store == "sparql":
        timeout = max(60.0, settings.query_timeout * 6)
        return RemoteIndex(
            settings.sparql_query_url,
            settings.sparql_update_url,
            timeout,
            graph_prefix=settings.base_iri + "graph/",
        )
    data_dir = settings.data_dir if settings.store != "memory" else None
    return OxigraphIndex(Path(data_dir) / "index" if data_dir else None)
