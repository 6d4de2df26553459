"""The media types the registry reads and writes, in one table.

Every other table of formats is read from :data:`MEDIA` (``tests/test_shared_pieces.py`` fails
on a second table): the RDF syntaxes Oxigraph parses and serialises, the SPARQL results formats,
their names under ``http://www.w3.org/ns/formats/`` (the SPARQL service description) and the
short names ``?format=`` and file names use.

>>> GRAPH_FORMATS["text/turtle"] == ox.RdfFormat.TURTLE, BY_SUFFIX["jsonld"].type
(True, 'application/ld+json')
>>> list(RESULT_FORMAT_NAMES)[:2]
['application/sparql-results+json', 'application/sparql-results+xml']
>>> list(LINKED_DATA.values()), SPARQL_DOWNLOADS["json"]
(['html', 'ttl', 'nt', 'jsonld', 'rdf'], 'application/sparql-results+json')
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Media:
    """One media type: ``suffix`` (``?format=``, a file's extension), ``rdf`` (an RDF syntax
    Oxigraph reads and writes), ``w3c_name`` (its name in the W3C formats namespace) and
    whether it is a SPARQL ``results`` format."""

    type: str
    suffix: str | None = None
    rdf: ox.RdfFormat | None = None
    w3c_name: str | None = None
    results: bool = False


TURTLE = Media("text/turtle", "ttl", ox.RdfFormat.TURTLE, "Turtle")
N_TRIPLES = Media("application/n-triples", "nt", ox.RdfFormat.N_TRIPLES, "N-Triples")
JSON_LD = Media("application/ld+json", "jsonld", ox.RdfFormat.JSON_LD, "JSON-LD")
RDF_XML = Media("application/rdf+xml", "rdf", ox.RdfFormat.RDF_XML, "RDF_XML")
RESULTS_JSON = Media("application/sparql-results+json", "json", None, "SPARQL_Results_JSON", True)
RESULTS_XML = Media("application/sparql-results+xml", "xml", None, "SPARQL_Results_XML", True)
CSV = Media("text/csv", "csv", None, "SPARQL_Results_CSV", True)
TSV = Media("text/tab-separated-values", "tsv", None, "SPARQL_Results_TSV", True)
# Plain JSON and XML: asked for as SPARQL results; JSON is also a submission format.
JSON = Media("application/json", None, None, "SPARQL_Results_JSON", True)
XML = Media("application/xml", None, None, "SPARQL_Results_XML", True)
HTML = Media("text/html", "html")

# In the order they are offered when a client accepts several.
MEDIA: tuple[Media, ...] = (
    TURTLE,
    N_TRIPLES,
    JSON_LD,
    RDF_XML,
    RESULTS_JSON,
    RESULTS_XML,
    CSV,
    TSV,
    JSON,
    XML,
    HTML,
)

# Media type -> Oxigraph's RDF format (the graph syntaxes).
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {m.type: m.rdf for m in MEDIA if m.rdf is not None}
# Media type -> its name under http://www.w3.org/ns/formats/.
GRAPH_FORMAT_NAMES: dict[str, str] = {m.type: m.w3c_name for m in MEDIA if m.rdf and m.w3c_name}
RESULT_FORMAT_NAMES: dict[str, str] = {
    m.type: m.w3c_name for m in MEDIA if m.results and m.w3c_name
}
# Short name (?format=ttl, a file's extension) -> its media type.
BY_SUFFIX: dict[str, Media] = {m.suffix: m for m in MEDIA if m.suffix}

# A record's representations, in the order they are offered (the page first): media type ->
# its ``?format=`` suffix (api/negotiation.py, api/records.py, api/pages.py).
LINKED_DATA: dict[str, str] = {
    m.type: m.suffix for m in (HTML, TURTLE, N_TRIPLES, JSON_LD, RDF_XML) if m.suffix
}
# The SPARQL page's downloads (``?format=``): results formats, graph syntaxes, then the page.
SPARQL_DOWNLOADS: dict[str, str] = {
    m.suffix: m.type
    for m in (RESULTS_JSON, RESULTS_XML, CSV, TSV, TURTLE, N_TRIPLES, JSON_LD, RDF_XML, HTML)
    if m.suffix
}

# What an external SPARQL store answers with, as Oxigraph parses it
# (registry.store.remote_index): results (Oxigraph reads no CSV) and graphs, with the older
# names stores still send.
STORE_RESULT_FORMATS: dict[str, ox.QueryResultsFormat] = {
    RESULTS_JSON.type: ox.QueryResultsFormat.JSON,
    JSON.type: ox.QueryResultsFormat.JSON,
    RESULTS_XML.type: ox.QueryResultsFormat.XML,
    TSV.type: ox.QueryResultsFormat.TSV,
}
STORE_GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    N_TRIPLES.type: ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    TURTLE.type: ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/turtle": ox.RdfFormat.TURTLE,
}
