"""The reference the compiled SHACL engine is held to: pySHACL on rdflib, and the W3C suites.

A verdict is the multiset of results, each as (focus node, result path, value, constraint
component, source shape, severity). pySHACL runs on an rdflib Graph parsed from the data, as
its authors run it (docs/facts.md, fact 18: on an Oxigraph store it shares the store's literal
bugs). The engine gets the same triples, lexical forms as parsed, through ``triples=``.

Paths are compared as SPARQL property paths, so that a path the report copies into a blank node
of its own still equals the shapes graph's; blank nodes of the data are compared by label (the
engine gets rdflib's labels), except against the W3C expected reports, whose blank nodes are
their own: there any blank node stands for any blank node.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from unittest.mock import patch

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.term import Node

from registry.shacl.engine import Engine
from registry.shacl.shapes import Result
from registry.shacl.terms import rdf_term

ROOT = Path(__file__).resolve().parent.parent
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = rdflib.Namespace("http://www.w3.org/ns/shacl-test#")

Row = tuple[object, ...]
Verdict = Counter[Row]


def shared_dir() -> Path | None:
    """``shared/`` beside the repository (as CI lays it out), else ``FDI_SHARED_DIR``."""
    for candidate in (ROOT.parent / "shared", os.environ.get("FDI_SHARED_DIR")):
        if candidate and Path(candidate, "conformance").is_dir():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class W3CTest:
    """One ``sht:Validate`` entry of the W3C SHACL test suite."""

    name: str  # e.g. core/property/in-001
    data: Path
    shapes: Path
    expected: rdflib.Graph | None  # the expected report (None: sht:Failure, pySHACL must refuse)
    expected_node: Node | None


def w3c_tests() -> list[W3CTest]:
    """Every test of ``conformance/shacl-core`` (core and SPARQL), by name; [] without it."""
    shared = shared_dir()
    if shared is None:
        return []
    suite = shared / "conformance" / "shacl-core" / "tests"
    tests = []
    for path in sorted(suite.rglob("*.ttl")):
        if path.name == "manifest.ttl":
            continue
        g = rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())
        for test in g.subjects(RDF.type, SHT.Validate):
            action = g.value(test, MF.action)
            result = g.value(test, MF.result)
            name = str(path.relative_to(suite).with_suffix(""))
            tests.append(
                W3CTest(
                    name=name,
                    data=_local(g.value(action, SHT.dataGraph)),
                    shapes=_local(g.value(action, SHT.shapesGraph)),
                    expected=None if result == SHT.Failure else g,
                    expected_node=None if result == SHT.Failure else result,
                )
            )
    return tests


def _local(iri: Node | None) -> Path:
    assert isinstance(iri, rdflib.URIRef), iri
    return Path(str(iri).removeprefix("file://"))


@cache
def parse(path: Path) -> rdflib.Graph:
    """The file as rdflib parses it (once: blank nodes of the shapes keep their labels)."""
    return rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())


def ox_triples(path: Path) -> list[ox.Triple]:
    """The file's triples as Oxigraph parses them: lexical forms as written."""
    return list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri()))


def store_of(triples: list[ox.Triple]) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return store


def blank_node_names(triples: Iterable[tuple[Node, Node, Node]]) -> dict[Node, str]:
    """A name for each blank node from the terms around it, the same whichever parser labelled
    it (two blank nodes with the same neighbours share a name; verdicts are multisets)."""
    around: dict[Node, list[str]] = {}
    for s, p, o in triples:
        if isinstance(s, rdflib.BNode):
            around.setdefault(s, []).append(f"> {p.n3()} {_n3(o)}")
        if isinstance(o, rdflib.BNode):
            around.setdefault(o, []).append(f"< {_n3(s)} {p.n3()}")
    return {b: "_:[" + " ; ".join(sorted(lines)) + "]" for b, lines in around.items()}


def _n3(term: Node) -> str:
    return "_:" if isinstance(term, rdflib.BNode) else term.n3()


def path_key(graph: rdflib.Graph, path: Node | None) -> str | None:
    """A SHACL path as a SPARQL property path (the same text wherever the path's nodes are)."""
    if path is None:
        return None
    if isinstance(path, rdflib.URIRef):
        return f"<{path}>"
    if graph.value(path, RDF.first) is not None:
        return "(" + "/".join(path_key(graph, p) or "" for p in Collection(graph, path)) + ")"
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        parts = [path_key(graph, p) or "" for p in Collection(graph, alternatives)]
        return "(" + "|".join(parts) + ")"
    for predicate, text in _PATH_FORMS.items():
        inner = graph.value(path, predicate)
        if inner is not None:
            return text.format(path_key(graph, inner))
    return f"?{path}"  # not a path: compared as itself


_PATH_FORMS = {
    SH.inversePath: "^{}",
    SH.zeroOrMorePath: "({})*",
    SH.oneOrMorePath: "({})+",
    SH.zeroOrOnePath: "({})?",
}


_PREPARED: dict[tuple[object, ...], object] = {}
_QUERY = SPARQLProcessor.query


def _prepared_query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: N803
    """rdflib's SPARQLProcessor.query, each query text parsed once: rdflib's parser takes
    ~0.7 s a query and pySHACL runs each SHACL-SPARQL query once per focus node. A prepared
    query with the focus node in ``initBindings`` is rdflib's own way to run one repeatedly."""
    if isinstance(strOrQuery, str):
        key = (strOrQuery, base, tuple(sorted((initNs or {}).items())))
        found = _PREPARED.get(key)
        if found is None:
            found = _PREPARED[key] = translateQuery(parseQuery(strOrQuery), base, initNs)
        strOrQuery = found
    return _QUERY(self, strOrQuery, initBindings, initNs, base, DEBUG)


def prepared_queries():  # noqa: ANN201 - a context manager
    """Within it, rdflib parses each SPARQL query text once."""
    return patch.object(SPARQLProcessor, "query", _prepared_query)


@contextmanager
def _quietly_with_prepared_queries() -> Iterator[None]:
    with warnings.catch_warnings(), prepared_queries():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def pyshacl_verdict(data: rdflib.Graph, shapes: rdflib.Graph) -> Verdict:
    """pySHACL on rdflib, as the registry runs it (no inference, warnings allowed)."""
    with _quietly_with_prepared_queries():
        _, report, _ = pyshacl.validate(
            data, shacl_graph=shapes, advanced=False, inference="none", allow_warnings=True
        )
    return named(report_verdict(report, None), blank_node_names(data))


def named(verdict: Verdict, names: dict[Node, str]) -> Verdict:
    """The data's blank nodes (focus nodes and values) by name; the shapes' stay as they are."""
    return Counter(
        tuple(names.get(x, x) if i in (0, 2) else x for i, x in enumerate(row))  # type: ignore[arg-type]
        for row in verdict.elements()
    )


def report_verdict(report: rdflib.Graph, node: Node | None) -> Verdict:
    """The results of a validation report (``node``: the report's node, else every result)."""
    results = (
        report.objects(node, SH.result) if node is not None else report.objects(None, SH.result)
    )
    return Counter(
        (
            report.value(r, SH.focusNode),
            path_key(report, report.value(r, SH.resultPath)),
            report.value(r, SH.value),
            str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
            report.value(r, SH.sourceShape),
            str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
        )
        for r in results
    )


def engine_verdict(engine: Engine, triples: list[ox.Triple]) -> Verdict:
    """The engine's verdict on the triples, given as parsed (the registry's own path)."""
    results = engine.validate(store_of(triples), triples=triples)
    return named(results_verdict(engine, results), _names_of(triples))


def handed_back_verdict(shapes: rdflib.Graph, triples: list[ox.Triple]) -> Verdict:
    """The verdict of the registry's hand-back path (registry.shacl.validation.reference_report)."""
    from registry.shacl.validation import reference_report

    with _quietly_with_prepared_queries():
        report = reference_report(triples, shapes, None)
    return named(report_verdict(report, None), _names_of(triples))


def _names_of(triples: list[ox.Triple]) -> dict[Node, str]:
    return blank_node_names(
        (rdf_term(t.subject), rdf_term(t.predicate), rdf_term(t.object)) for t in triples
    )


def results_verdict(engine: Engine, results: list[Result]) -> Verdict:
    def term(t: ox.Term) -> object:
        return engine.target_literals.get(t) or rdf_term(t)  # type: ignore[arg-type]

    return Counter(
        (
            term(r.focus),
            path_key(engine.graph, r.path),
            None if r.value is None else term(r.value),
            r.component,
            r.shape,
            r.severity,
        )
        for r in results
    )


def without_blank_nodes(verdict: Verdict) -> Verdict:
    """Every blank node made the same, for the W3C reports' own blank nodes."""
    return Counter(
        tuple("_:" if isinstance(x, rdflib.BNode) or str(x).startswith("_:[") else x for x in row)
        for row in verdict.elements()
    )
