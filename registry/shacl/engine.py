"""A compiled SHACL engine over an Oxigraph store, giving pySHACL's verdicts much faster.

pySHACL is the reference: it is what the registry's rules were written and tested against.
It is also slow and superlinear on a registry's worth of data (docs/facts.md, fact 9): it walks
the data through rdflib objects, re-checks every SHACL-SPARQL query's text with regular
expressions once per focus node, and runs each of those queries once per focus node.

This engine reads the shapes graph once and compiles each shape into plain Python checks over
the store's terms. A SHACL-SPARQL constraint of a targeted shape is run ONCE over the whole data
graph, with the shape's targets joined into the query's top-level group in place of the
pre-bound ``$this``, when the query's form makes that equivalent (no sub-select, union, plain
nested group, aggregate or slice); any other query is run per focus node with ``$this`` bound,
exactly as pySHACL does. Literal semantics (ill-typed literals, value comparisons, ``sh:in``
equality after rdflib's lexical normalisation) are rdflib's, as in pySHACL, cached per literal.

This module compiles a shapes graph and runs a validation; the data, terms, paths and shapes
are in :mod:`registry.shacl.data`, `.terms`, `.paths` and `.shapes`, the components
are in :mod:`registry.shacl.components` and SHACL-SPARQL in :mod:`registry.shacl.sparql`.

Shapes graphs that use a feature this engine does not implement (``sh:closed``,
``sh:languageIn``, ``sh:uniqueLang``, custom constraint components, SHACL-AF, JavaScript,
``$shapesGraph``) make :func:`compile_shapes` return None, and the caller uses pySHACL.
``tests/test_shacl_engine.py`` checks the verdicts equal pySHACL's on the project's shape
fixtures and on the W3C SHACL core test suite.

>>> g = rdflib.Graph().parse(data='''
...   @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
...   ex:S a sh:NodeShape ; sh:targetClass ex:C ;
...     sh:property [ sh:path ex:p ; sh:minCount 1 ] .''', format="turtle")
>>> store = ox.Store()
>>> store.add(ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode(str(RDF.type)), ox.NamedNode("http://example.org/C")))
>>> [(r.focus.value, r.component) for r in compile_shapes(g).validate(store)]
[('http://example.org/a', 'MinCountConstraintComponent')]
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from registry.base.vocab import OWL
from registry.shacl.components import checks
from registry.shacl.data import Data
from registry.shacl.paths import compile_path
from registry.shacl.shapes import Result, Run, Shape, evaluate, whole_graph_results
from registry.shacl.terms import Term, Unsupported, ox_term

# Parameters whose presence sends the whole shapes graph to pySHACL.
_UNSUPPORTED = {
    SH.closed,
    SH.languageIn,
    SH.uniqueLang,
    SH.target,
    SH.rule,
    SH.js,
    SH.expression,
    SH.condition,
    SH.entailment,
}
OWL_IMPORTS = rdflib.URIRef(OWL.imports.value)
_SEVERITIES: dict[Node, str] = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


# Stores up to this many quads are read in one pass before validating: about 1 µs a quad in
# memory and 5 µs on disk, and a read quad costs ~500 bytes until the run ends. Above it (about
# 140,000 assets) each focus node's triples are read when needed, BATCH_SIZE focus nodes at a
# time, and what one batch read is dropped before the next: memory then depends on the batch,
# not on the number of records.
PRELOAD_LIMIT = 3_000_000
BATCH_SIZE = 10_000


class Engine:
    """Shapes compiled from one shapes graph."""

    def __init__(self, graph: rdflib.Graph) -> None:
        self.graph = graph
        self.shapes: dict[Node, Shape] = {}
        for node in _shape_nodes(graph):
            self.shape(node)
        self.targeted = [s for s in self.shapes.values() if s.targets]
        _mark_local(self.shapes.values())
        self.target_literals: dict[Term, Node] = {
            ox_term(v): v
            for v in graph.objects(None, SH.targetNode)
            if isinstance(v, rdflib.Literal)
        }

    def shape(self, node: Node) -> Shape:
        found = self.shapes.get(node)
        if found is not None:
            return found
        g = self.graph
        for p in set(g.predicates(node, None)):
            if p in _UNSUPPORTED:
                raise Unsupported(str(p))
        path = g.value(node, SH.path)
        severity = _SEVERITIES.get(g.value(node, SH.severity) or SH.Violation)
        if severity is None:
            raise Unsupported("custom severity")
        shape = Shape(
            node,
            path,
            severity,
            tuple(str(m) for m in g.objects(node, SH.message)),
            g.value(node, SH.deactivated) == rdflib.Literal(True),
        )
        self.shapes[node] = shape
        if path is not None:
            shape.values = compile_path(g, path)
        shape.targets = _targets(g, node)
        shape.checks = list(checks(self, g, shape))
        return shape

    def validate(
        self,
        store: ox.Store,
        focus: Iterable[Term] | None = None,
        *,
        part: tuple[int, int] | None = None,
        triples: Iterable[ox.Triple] | None = None,
        batch: int | None = None,
    ) -> list[Result]:
        """Validate the store's data (all graphs); with ``focus``, only those focus nodes.

        ``part=(i, n)``: only the focus nodes of part ``i`` of ``n`` (by a hash of the node), so
        that ``n`` processes share a validation; together they give every result once.
        ``triples``: exactly the triples the store holds, when the caller has them at hand.
        ``batch``: read the store on demand, this many focus nodes at a time (the default above
        PRELOAD_LIMIT quads, or when the store is shared among processes); the results are the
        same, in the same order.
        """
        if triples is not None:
            data = Data(store, triples=triples)
        else:
            if batch is None and (len(store) > PRELOAD_LIMIT or (part is not None and part[1] > 1)):
                batch = BATCH_SIZE  # each process reads only its own part's records
            data = Data(store, preload=batch is None)
        run = Run(data, literals=self.target_literals)
        plan = self._plan(data, focus, part)
        if batch is None:
            return [r for shape, nodes in plan for r in evaluate(run, shape, nodes, top=True)]
        return _evaluate_in_batches(run, plan, batch)

    def _plan(
        self, data: Data, focus: Iterable[Term] | None, part: tuple[int, int] | None
    ) -> list[tuple[Shape, list[Term]]]:
        """Each active targeted shape with its focus nodes (one list for shapes with the same
        targets: a registry's shapes mostly target the same few classes)."""
        allowed = None if focus is None else set(focus)
        plan = []
        found: dict[tuple[tuple[Node, Term], ...], list[Term]] = {}
        for shape in self.targeted:
            if shape.deactivated:
                continue
            nodes = found.get(tuple(shape.targets))
            if nodes is None:
                nodes = _focus_nodes(data, shape)
                if allowed is not None:
                    nodes = [n for n in nodes if n in allowed]
                if part is not None:
                    nodes = [n for n in nodes if zlib.crc32(str(n).encode()) % part[1] == part[0]]
                found[tuple(shape.targets)] = nodes
            if nodes:
                plan.append((shape, nodes))
        data.forget()
        return plan

    def conforms(self, run: Run, shape: Shape, node: Term, *, strict: bool = False) -> bool:
        """Whether ``node`` conforms to ``shape`` used as a nested shape, as pySHACL decides it.

        pySHACL runs with ``allow_warnings``: a shape fails only through a Violation, and a
        Warning or Info shape never fails. ``strict`` is sh:node's reading, where any result
        at all is a failure. A shape already being evaluated is assumed to conform (pySHACL's
        recursion guard).
        """
        if shape.deactivated or shape in run.stack:
            return True
        if not strict and shape.severity != "Violation":
            return True
        key = None
        if shape.local and not isinstance(node, ox.Literal):
            key = (
                shape,
                strict,
                node if shape.reads_itself else None,
                *(tuple(run.data.objects(node, p)) for p in shape.reads),
            )
            known = run.verdicts.get(key)
            if known is not None:
                return known
        if strict:
            verdict = not evaluate(run, shape, [node], stop=lambda r: True)
        else:
            verdict = not evaluate(run, shape, [node], stop=lambda r: r.severity == "Violation")
        if key is not None:
            run.verdicts[key] = verdict
        return verdict


def _mark_local(shapes: Iterable[Shape]) -> None:
    """Find the local shapes (see Shape.local) and the predicates each reads.

    A property shape is local when its path is one predicate and its checks only look at the
    values (sh:datatype, sh:in, counts, ...; not sh:class, which reads the value's types). A
    node shape is local when its checks are such value checks on the node itself or sh:property
    to local property shapes. Its verdict then depends only on the node (when it checks the
    node itself) and the node's values of the predicates it reads.
    """
    shapes = list(shapes)
    for shape in shapes:
        kinds = {getattr(c, "kind", "other") for c in shape.checks}
        shape.kind_simple = shape.path is not None and kinds <= {"simple"}
        if shape.path is not None:
            shape.local = isinstance(shape.path, rdflib.URIRef) and kinds <= {"simple"}
        else:
            shape.local = kinds <= {"simple", "property"}
    for shape in shapes:
        if shape.path is None and shape.local:
            targets = [
                vars(c)["target"]  # (set by mark)
                for c in shape.checks
                if getattr(c, "kind", "") == "property"
            ]
            shape.local = all(t.local and t.path is not None for t in targets)
    for shape in shapes:
        if not shape.local:
            continue
        reads: set[ox.NamedNode] = set()
        for c in shape.checks:
            reads.update(getattr(c, "reads", ()))
            target = getattr(c, "target", None)
            if target is not None:
                reads.add(ox.NamedNode(str(target.path)))
                for tc in target.checks:
                    reads.update(getattr(tc, "reads", ()))
        if shape.path is not None:
            reads.add(ox.NamedNode(str(shape.path)))
        shape.reads = tuple(sorted(reads, key=lambda n: n.value))
        shape.reads_itself = shape.path is None and any(
            getattr(c, "kind", "") == "simple" for c in shape.checks
        )


def _shape_nodes(g: rdflib.Graph) -> set[Node]:
    nodes: set[Node] = set()
    for t in (SH.NodeShape, SH.PropertyShape):
        nodes.update(g.subjects(RDF.type, t))
    for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
        nodes.update(g.subjects(p, None))
    if _declares_components(g):
        raise Unsupported("custom constraint components")
    if any(True for _ in g.triples((None, OWL_IMPORTS, None))):
        # Imported graphs (and the prefixes they declare) are pySHACL's to read.
        raise Unsupported("owl:imports")
    if any(True for _ in g.subjects(RDF.type, SH.SPARQLTarget)) or any(
        True for _ in g.subjects(SH.target, None)
    ):
        raise Unsupported("SHACL-AF targets")
    return nodes


def _declares_components(g: rdflib.Graph) -> bool:
    """Whether the graph declares a constraint component: an instance of sh:ConstraintComponent
    or of any subclass of it, or anything with a parameter or a validator."""
    classes: set[Node] = {SH.ConstraintComponent}
    todo: list[Node] = [SH.ConstraintComponent]
    while todo:
        for sub in g.subjects(RDFS.subClassOf, todo.pop()):
            if sub not in classes:
                classes.add(sub)
                todo.append(sub)
    if any(True for c in classes for _ in g.subjects(RDF.type, c)):
        return True
    markers = (SH.parameter, SH.validator, SH.nodeValidator, SH.propertyValidator)
    return any(True for p in markers for _ in g.triples((None, p, None)))


def _targets(g: rdflib.Graph, node: Node) -> list[tuple[Node, Term]]:
    out: list[tuple[Node, Term]] = []
    for kind in (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf):
        out.extend((kind, ox_term(v)) for v in g.objects(node, kind))
    classes = set(g.subjects(RDFS.subClassOf, RDFS.Class)) | {RDFS.Class}
    if any(t in classes for t in g.objects(node, RDF.type)):
        out.append((SH.targetClass, ox_term(node)))
    return out


def _focus_nodes(data: Data, shape: Shape) -> list[Term]:
    nodes: dict[Term, None] = {}
    for kind, value in shape.targets:
        if kind == SH.targetNode:
            nodes[value] = None
        elif kind == SH.targetClass:
            nodes.update(dict.fromkeys(data.instances(value)))
        elif kind == SH.targetSubjectsOf:
            nodes.update(dict.fromkeys(s for s, _ in data.pairs(value)))
        else:
            nodes.update(dict.fromkeys(o for _, o in data.pairs(value)))
    return list(nodes)


def _evaluate_in_batches(run: Run, plan: list[tuple[Shape, list[Term]]], size: int) -> list[Result]:
    """What ``evaluate(run, shape, nodes, top=True)`` gives for each shape of the plan, in the
    same order, reading the data ``size`` focus nodes of each shape at a time.

    Shapes with the same targets have their focus nodes in the same order, so one batch reads a
    record once for all of them; the memoised reads are dropped after each batch.
    """
    found: list[list[Result]] = [whole_graph_results(run, shape, nodes) for shape, nodes in plan]
    longest = max((len(nodes) for _, nodes in plan), default=0)
    for start in range(0, longest, size):
        for (shape, nodes), out in zip(plan, found, strict=True):
            if start < len(nodes):
                chunk = nodes[start : start + size]
                out.extend(evaluate(run, shape, chunk, top=True, whole_graph=False))
        run.data.forget()
        run.verdicts.clear()
    return [r for out in found for r in out]


def compile_shapes(graph: rdflib.Graph) -> Engine | None:
    """The compiled shapes, or None if the graph needs a feature only pySHACL has."""
    try:
        return Engine(graph)
    except Unsupported:
        return None
