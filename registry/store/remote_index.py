"""The index on an external SPARQL 1.1 store, reached through SPARQLWrapper.

Any store speaking the SPARQL 1.1 Protocol for queries and updates will do (the ``oxigraph``
server, Virtuoso, GraphDB, Fuseki, QLever, Neptune). The registry's one writer applies each
journal entry as **one** SPARQL Update request whose last operation inserts the entry's
sequence marker, so the store holds a whole entry or none of it (SPARQL 1.1 Update §2: a request
is applied atomically) and :meth:`RemoteIndex.applied_seq` tells where to resume.

Results are parsed with pyoxigraph (``parse_query_results`` for SPARQL JSON, ``parse`` for
N-Triples), so callers get the same objects as from the embedded index.

Substitutions are sent as a ``VALUES`` block at the start of the query's outermost group (the
SEP-0007 reading pyoxigraph implements, registry.store.sparql_text); terms are written by
pyoxigraph's own N-Triples serialiser, never formatted from input.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.error import URLError

import pyoxigraph as ox
from SPARQLWrapper import CONSTRUCT, DESCRIBE, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from registry.base import rdf
from registry.base.errors import RegistryError, StoreUnavailable
from registry.base.media import STORE_GRAPH_FORMATS, STORE_RESULT_FORMATS
from registry.base.rdf import Term
from registry.base.vocab import FDI, XSD
from registry.store.index_protocol import (
    INDEX_NODE,
    META_GRAPH,
    XSD_INTEGER,
    RecordChange,
    change_quads,
)
from registry.store.sparql_text import bind, graph_blocks, with_values

# One Accept per query form: a store offered results and graph types at once may answer a
# CONSTRUCT as a result set (Virtuoso sends its s/p/o bindings as SPARQL JSON).
ACCEPT_RESULTS = "application/sparql-results+json, application/sparql-results+xml;q=0.5"
ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.8"

APPLIED_SEQ = """
SELECT (MAX(?seq) AS ?max) WHERE { GRAPH ?meta { ?index ?marker ?seq } }
"""

OLD_MARKERS = (
    f"DELETE WHERE {{ GRAPH <urn:fdi:index> {{ <urn:fdi:index> {FDI.journalSequence} ?seq }} }}"
)

# ?prefix scopes the store to the registry's graphs ({base}graph/...): a store keeps graphs of
# its own (Virtuoso: virtrdf:, ldp:, its URIQA graph) that are no part of the registry.
QUADS = """
SELECT ?s ?p ?o ?g WHERE {
  GRAPH ?g { ?s ?p ?o } FILTER(?g != ?meta && STRSTARTS(STR(?g), ?prefix))
}
"""

QUADS_OF_NODES = """
SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }
"""

GRAPHS = """
SELECT DISTINCT ?g WHERE {
  GRAPH ?g { ?s ?p ?o } FILTER(?g != ?meta && STRSTARTS(STR(?g), ?prefix))
}
"""

ALL_QUADS = """
SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), ?prefix) || ?g = ?meta) }
"""

NO_GRAPH = ox.NamedNode("urn:fdi:no-graph")

RESULT_FORMATS = STORE_RESULT_FORMATS
GRAPH_FORMATS = STORE_GRAPH_FORMATS


class RemoteIndex:
    """An index on a SPARQL 1.1 Query (``query_url``) and Update (``update_url``) endpoint.

    ``timeout`` bounds each HTTP request (seconds). ``graph_prefix`` (the registry's
    ``{base}graph/``) is what the registry's graph IRIs start with: the store's other graphs are
    never read, listed or cleared. Raises StoreUnavailable when the store cannot be reached or
    fails, SyntaxError for a query the store calls malformed.
    """

    def __init__(
        self, query_url: str, update_url: str, timeout: float = 60.0, graph_prefix: str = ""
    ) -> None:
        if not query_url or not update_url:
            raise RegistryError("store = sparql needs sparql_query_url and sparql_update_url")
        self.query_url = query_url
        self.update_url = update_url
        self.timeout = timeout
        self.prefix = ox.Literal(graph_prefix)

    # --- the Index protocol ------------------------------------------------------------------

    def applied_seq(self) -> int:
        """The highest journal sequence number applied (0 for an empty store)."""
        rows = self._select(
            APPLIED_SEQ,
            None,
            {
                ox.Variable("meta"): META_GRAPH,
                ox.Variable("index"): INDEX_NODE,
                ox.Variable("marker"): FDI.journalSequence,
            },
        )
        value = rows[0]["max"] if rows else None
        return int(value.value) if value is not None else 0

    def apply(self, seq: int, changes: Iterable[RecordChange]) -> None:
        """Apply one journal entry as one SPARQL Update request (its marker included)."""
        changes = list(changes)
        marker = ox.Quad(
            INDEX_NODE, FDI.journalSequence, ox.Literal(str(seq), datatype=XSD_INTEGER), META_GRAPH
        )
        removed = [q for c in changes if not c.new for q in self.record_quads(c.graph, c.subject)]
        operations = []
        if removed:
            operations.append(f"DELETE DATA {{ {graph_blocks(removed)} }}")
        # Only the newest marker is kept (as in the embedded index), replaced in the same request.
        operations.append(OLD_MARKERS)
        operations.append(f"INSERT DATA {{ {graph_blocks([*change_quads(changes), marker])} }}")
        self._update(" ;\n".join(operations))

    def query(
        self,
        text: str,
        graphs: list[ox.NamedNode] | None,
        substitutions: dict[ox.Variable, Term] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run a SPARQL query whose dataset is exactly ``graphs`` (default and named), sent as
        the protocol's ``default-graph-uri`` and ``named-graph-uri``.

        ``graphs=None`` queries the union of the registry's graphs (listed first, as stores
        differ in how they spell a union default graph).
        """
        if graphs is None:
            graphs = self.graphs()
        # No graph at all must mean an empty dataset, not the store's default one.
        return self._query(bind(text, substitutions or {}), graphs or [NO_GRAPH])

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None,
        predicate: ox.NamedNode | None,
        obj: Term | None,
        graph: ox.NamedNode | None = None,
    ) -> list[ox.Quad]:
        """Quads matching a pattern (``None`` matches anything), outside the marker graph."""
        given = {"s": subject, "p": predicate, "o": obj, "g": graph}
        substitutions = {ox.Variable(k): v for k, v in given.items() if v is not None}
        substitutions[ox.Variable("prefix")] = self.prefix
        substitutions[ox.Variable("meta")] = META_GRAPH
        return canonical(
            ox.Quad(
                subject or _subject(row["s"]),
                predicate or _iri(row["p"]),
                obj or _term(row["o"]),
                graph or _graph(row["g"]),
            )
            for row in self._select(QUADS, None, substitutions)
        )

    def record_quads(self, graph: ox.NamedNode, subject: ox.NamedNode) -> list[ox.Quad]:
        return canonical(self._record_quads(graph, subject))

    def _record_quads(self, graph: ox.NamedNode, subject: ox.NamedNode) -> list[ox.Quad]:
        """The stored quads of a record: its own and those of its ``#fragment`` nodes, read one
        level of fragments per request."""
        out: list[ox.Quad] = []
        prefix = subject.value + "#"
        level, seen = [subject], {subject}
        while level:
            rows = self._select(
                with_values(QUADS_OF_NODES, "s", level), None, {ox.Variable("g"): graph}
            )
            level = []
            for row in rows:
                out.append(ox.Quad(row["s"], row["p"], row["o"], graph))
                obj = row["o"]
                if (
                    isinstance(obj, ox.NamedNode)
                    and obj.value.startswith(prefix)
                    and obj not in seen
                ):
                    seen.add(obj)
                    level.append(obj)
        return out

    def graphs(self) -> list[ox.NamedNode]:
        """The registry's named graphs (the marker graph left out)."""
        rows = self._select(GRAPHS, None, self._scope())
        return [row["g"] for row in rows]

    def dump(self) -> ox.Dataset:
        """Every quad of the store's named graphs, the journal marker included."""
        return ox.Dataset(
            canonical(
                ox.Quad(row["s"], row["p"], row["o"], row["g"])
                for row in self._select(ALL_QUADS, None, self._scope())
            )
        )

    def close(self) -> None:
        """Nothing to release: each request opens its own connection."""

    def clear(self) -> None:
        """Drop the registry's graphs and the marker graph (for tests and full rebuilds); the
        store's own graphs stay (and Virtuoso 7.2's ``CLEAR ALL`` removes nothing)."""
        drops = [f"DROP SILENT GRAPH {g}" for g in [*self.graphs(), META_GRAPH]]
        self._update(" ;\n".join(drops))

    def _scope(self) -> dict[ox.Variable, Term]:
        return {ox.Variable("prefix"): self.prefix, ox.Variable("meta"): META_GRAPH}

    # --- protocol ------------------------------------------------------------------------------

    def _client(self, url: str) -> SPARQLWrapper:
        client = SPARQLWrapper(url, updateEndpoint=self.update_url)
        client.setMethod(POST)
        client.setRequestMethod(URLENCODED)
        client.setTimeout(int(max(1, self.timeout)))
        # The protocol's content negotiation only: no `format`/`output` parameters, which
        # Virtuoso obeys over the Accept header (a 406 for a CONSTRUCT asked as "xml").
        client.setOnlyConneg(True)
        return client

    def _select(
        self,
        text: str,
        graphs: list[ox.NamedNode] | None,
        substitutions: dict[ox.Variable, Term],
    ) -> list[ox.QuerySolution]:
        return list(rdf.solutions(self._query(bind(text, substitutions), graphs)))

    def _query(
        self, text: str, graphs: list[ox.NamedNode] | None
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        client = self._client(self.query_url)
        client.setQuery(text)
        graph_form = client.queryType in (CONSTRUCT, DESCRIBE)
        client.addCustomHttpHeader("Accept", ACCEPT_GRAPH if graph_form else ACCEPT_RESULTS)
        for graph in graphs or []:
            client.addParameter("default-graph-uri", graph.value)
            client.addParameter("named-graph-uri", graph.value)
        body, media = self._send(client)
        if media in RESULT_FORMATS:
            return ox.parse_query_results(body, RESULT_FORMATS[media])
        if media in GRAPH_FORMATS:
            return _as_query_triples(ox.parse(body, format=GRAPH_FORMATS[media]))
        raise StoreUnavailable(f"the store answered a query with unexpected media type {media!r}")

    def _update(self, text: str) -> None:
        client = self._client(self.query_url)
        client.setQuery(text)
        client.addCustomHttpHeader("Accept", ACCEPT_RESULTS)
        self._send(client)

    def _send(self, client: SPARQLWrapper) -> tuple[bytes, str]:
        try:
            result = client.query()
            body = result.response.read()
            media = (
                (result.response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            )
        except QueryBadFormed as e:
            raise SyntaxError(f"the store refused the query: {_first_line(e)}") from e
        except (SPARQLWrapperException, URLError, OSError) as e:
            raise StoreUnavailable(
                f"the SPARQL store at {client.endpoint} failed: {_first_line(e)}"
            ) from e
        return body, media


def canonical(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """``quads`` with typed literals in the lexical form the embedded Oxigraph index gives
    them: a store may canonicalise differently (Virtuoso reads ``"150"^^xsd:double`` back as
    ``"150.0"``, ``"…:00.5Z"^^xsd:dateTime`` as ``"…:00.500Z"``), and records read from either
    index must be the same terms. The value is unchanged, so SPARQL's ``DELETE DATA`` of the
    canonical form still matches what the store holds."""
    quads = list(quads)
    typed = {q.object for q in quads if isinstance(q.object, ox.Literal) and _typed(q.object)}
    if not typed:
        return quads
    store, node = ox.Store(), ox.NamedNode("urn:x-fdi:literal")
    graphs = {ox.NamedNode(f"urn:x-fdi:literal:{i}"): lit for i, lit in enumerate(typed)}
    store.extend(ox.Quad(node, node, lit, graph) for graph, lit in graphs.items())
    again: dict[Term, Term] = {graphs[q.graph_name]: q.object for q in store}
    return [
        ox.Quad(q.subject, q.predicate, again[q.object], q.graph_name) if q.object in again else q
        for q in quads
    ]


def _typed(literal: ox.Literal) -> bool:
    return literal.datatype.value.startswith(XSD_NS) and literal.datatype.value not in _PLAIN


XSD_NS = XSD.iri
_PLAIN = {XSD_NS + "string"}


def _as_query_triples(quads: Iterable[ox.Quad]) -> ox.QueryTriples:
    # Callers test ``isinstance(result, ox.QueryTriples)``, a type only a store can make.
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
    triples = store.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(triples, ox.QueryTriples)  # a CONSTRUCT's answer
    return triples


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


# What a store answers for a quad pattern's variables, as the quad's places take them (a store
# answering anything else fails the quad as it always has, with a TypeError).
def _term(term: Term | None) -> Term:
    if term is None:
        raise TypeError("the store left a quad's term unbound")
    return term


def _subject(term: Term | None) -> ox.NamedNode | ox.BlankNode | ox.Triple:
    if not isinstance(term, ox.NamedNode | ox.BlankNode | ox.Triple):
        raise TypeError(f"the store answered {term} as a subject")
    return term


def _iri(term: Term | None) -> ox.NamedNode:
    if not isinstance(term, ox.NamedNode):
        raise TypeError(f"the store answered {term} where an IRI belongs")
    return term


def _graph(term: Term | None) -> ox.NamedNode | ox.BlankNode:
    if not isinstance(term, ox.NamedNode | ox.BlankNode):
        raise TypeError(f"the store answered {term} as a graph name")
    return term
