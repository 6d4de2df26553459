"""A compiled SHACL engine over an Oxigraph store, giving pySHACL's verdicts much faster.

pySHACL is the reference: it is what the registry's rules were written and tested against.
It is also slow and superlinear on a registry's worth of data (DESIGN.md fact 9): it walks
the data through rdflib objects, re-checks every SHACL-SPARQL query's text with regular
expressions once per focus node, and runs each of those queries once per focus node.

This engine reads the shapes graph once and compiles each shape into plain Python checks over
the store's terms. A SHACL-SPARQL constraint of a targeted shape is run ONCE over the whole data
graph, with the shape's targets joined into the query's top-level group in place of the
pre-bound ``$this``, when the query's form makes that equivalent (no sub-select, union, plain
nested group, aggregate or slice); any other query is run per focus node with ``$this`` bound,
exactly as pySHACL does. Literal semantics (ill-typed literals, value comparisons, ``sh:in``
equality after rdflib's lexical normalisation) are rdflib's, as in pySHACL, cached per literal.

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
>>> store.add(ox.Quad(ox.NamedNode("http://example.org/a"), RDF_TYPE, ox.NamedNode("http://example.org/C")))
>>> [(r.focus.value, r.component) for r in compile_shapes(g).validate(store)]
[('http://example.org/a', 'MinCountConstraintComponent')]
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
import rdflib
from pyshacl.graph_abstraction import to_rdf
from pyshacl.helper.path_helper import shacl_path_to_sparql_path
from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
from pyshacl.rdfutil.compare import compare_literal
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

RDF_TYPE = ox.NamedNode(str(RDF.type))
RDFS_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))
Term = ox.NamedNode | ox.BlankNode | ox.Literal

# Parameters that are not constraints (or that a constraint reads alongside its own).
_NOT_CONSTRAINTS = {
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.path,
    SH.name,
    SH.description,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.flags,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    SH.ignoredProperties,
    SH.declare,
    SH.prefixes,
}
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
# SPARQL prefixes pySHACL's Oxigraph data graph adds to every query.
_QUERY_PREFIXES = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "xml": "http://www.w3.org/XML/1998/namespace",
}
_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


# Stores up to this many quads are read in one pass before validating: about 1 µs a quad in
# memory and 6 µs on disk, against about 20 µs a subject for one lookup per focus node. Above
# it (about 120,000 assets) the lookups keep memory bounded (a read quad costs ~200 bytes).
PRELOAD_LIMIT = 3_000_000


class Unsupported(Exception):
    """The shapes graph uses a feature this engine leaves to pySHACL."""


@dataclass(frozen=True)
class Result:
    """One validation result, as pySHACL reports it (``sh:detail`` left out)."""

    focus: Term
    path: Node | None  # the shapes graph's path node (an IRI, or a blank node for a path)
    value: Term | None
    component: str  # the constraint component's local name
    shape: Node
    severity: str  # Violation, Warning or Info
    messages: tuple[str, ...] = ()
    source_constraint: Node | None = None


# --------------------------------------------------------------------------- data access


class Data:
    """Reads of one data graph (every graph of the store), memoised for one validation run."""

    def __init__(self, store: ox.Store, preload: bool = False) -> None:
        self.store = store
        self._out: dict[Term, dict[ox.NamedNode, list[Term]]] = {}
        if preload:
            # One pass over a small store costs less than a lookup per subject.
            out = self._out
            for q in store:
                found = out.get(q.subject)
                if found is None:
                    out[q.subject] = found = {}
                values = found.get(q.predicate)
                if values is None:
                    found[q.predicate] = [q.object]
                elif q.object not in values:
                    values.append(q.object)
        self._instances: dict[tuple[Term, ox.NamedNode], bool] = {}
        self._superclasses: dict[ox.NamedNode, set[Term]] = {}
        self._class_members: dict[ox.NamedNode, list[Term]] = {}

    def objects(self, subject: Term, predicate: ox.NamedNode) -> list[Term]:
        if isinstance(subject, ox.Literal):
            return []
        out = self._out.get(subject)
        if out is None:
            out = {}
            for q in self.store.quads_for_pattern(subject, None, None):
                out.setdefault(q.predicate, []).append(q.object)
            for key, values in out.items():
                if len(values) > 1:  # the same triple in several graphs counts once
                    out[key] = list(dict.fromkeys(values))
            self._out[subject] = out
        return out.get(predicate, [])

    def subjects(self, predicate: ox.NamedNode, obj: Term) -> list[Term]:
        return list(
            dict.fromkeys(q.subject for q in self.store.quads_for_pattern(None, predicate, obj))
        )

    def pairs(self, predicate: ox.NamedNode) -> Iterator[tuple[Term, Term]]:
        for q in self.store.quads_for_pattern(None, predicate, None):
            yield q.subject, q.object

    def superclasses(self, cls: Term) -> set[Term]:
        """``cls`` and every class it is a subclass of (rdfs:subClassOf*, in the data)."""
        found = self._superclasses.get(cls)  # type: ignore[arg-type]
        if found is None:
            found, todo = {cls}, [cls]
            while todo:
                for parent in self.objects(todo.pop(), RDFS_SUBCLASS):
                    if parent not in found:
                        found.add(parent)
                        todo.append(parent)
            self._superclasses[cls] = found  # type: ignore[index]
        return found

    def is_instance(self, node: Term, cls: ox.NamedNode) -> bool:
        """``node rdf:type/rdfs:subClassOf* cls`` in the data graph."""
        key = (node, cls)
        known = self._instances.get(key)
        if known is None:
            known = any(cls in self.superclasses(t) for t in self.objects(node, RDF_TYPE))
            self._instances[key] = known
        return known

    def instances(self, cls: ox.NamedNode) -> list[Term]:
        found = self._class_members.get(cls)
        if found is None:
            found = self._class_members[cls] = self._instances_of(cls)
        return found

    def _instances_of(self, cls: ox.NamedNode) -> list[Term]:
        classes, todo = {cls}, [cls]
        while todo:
            for sub in self.subjects(RDFS_SUBCLASS, todo.pop()):
                if sub not in classes:
                    classes.add(sub)
                    todo.append(sub)
        out: dict[Term, None] = {}
        for c in classes:
            out.update(dict.fromkeys(self.subjects(RDF_TYPE, c)))
        return list(out)


_RDF_TERMS: dict[ox.Literal, rdflib.Literal] = {}


def rdf_term(term: Term) -> Node:
    """The rdflib term pySHACL sees for an Oxigraph term (its own conversion; literals cached)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    found = _RDF_TERMS.get(term)
    if found is None:
        found = to_rdf(term)
        if len(_RDF_TERMS) > 200_000:
            _RDF_TERMS.clear()
        _RDF_TERMS[term] = found
    return found


def ox_term(node: Node) -> Term:
    """The Oxigraph term for a term of the shapes graph."""
    if isinstance(node, rdflib.URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, rdflib.BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, rdflib.Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype or XSD.string)))


def _text(term: Any) -> str:
    """A term as ``str()`` of its rdflib form gives it (for messages)."""
    return (
        str(rdf_term(term))
        if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal))
        else str(term)
    )


# --------------------------------------------------------------------------- paths

PathFn = Callable[[Data, Term], list[Term]]


def compile_path(g: rdflib.Graph, path: Node) -> PathFn:
    if isinstance(path, rdflib.URIRef):
        predicate = ox.NamedNode(str(path))
        return lambda data, focus: data.objects(focus, predicate)
    if g.value(path, RDF.first) is not None:
        steps = [compile_path(g, p) for p in rdflib.collection.Collection(g, path)]

        def sequence(data: Data, focus: Term) -> list[Term]:
            nodes = [focus]
            for step in steps:
                nodes = list(dict.fromkeys(v for n in nodes for v in step(data, n)))
            return nodes

        return sequence
    inverse = g.value(path, SH.inversePath)
    if inverse is not None:
        if not isinstance(inverse, rdflib.URIRef):
            raise Unsupported("complex inverse path")
        predicate = ox.NamedNode(str(inverse))
        return lambda data, focus: (
            data.subjects(predicate, focus) if not isinstance(focus, ox.Literal) else []
        )
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        parts = [compile_path(g, p) for p in rdflib.collection.Collection(g, alternatives)]
        return lambda data, focus: list(dict.fromkeys(v for p in parts for v in p(data, focus)))
    for kind in (SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        inner = g.value(path, kind)
        if inner is not None:
            return _repeat(compile_path(g, inner), kind)
    raise Unsupported(f"path {path}")


def _repeat(step: PathFn, kind: Node) -> PathFn:
    def repeat(data: Data, focus: Term) -> list[Term]:
        seen: dict[Term, None] = {focus: None} if kind != SH.oneOrMorePath else {}
        frontier = [focus]
        while frontier:
            nxt = []
            for node in frontier:
                for v in step(data, node):
                    if v not in seen:
                        seen[v] = None
                        nxt.append(v)
            if kind == SH.zeroOrOnePath:
                break
            frontier = nxt
        return list(seen)

    return repeat


# --------------------------------------------------------------------------- shapes


@dataclass(eq=False)
class Shape:
    node: Node
    path: Node | None
    severity: str
    messages: tuple[str, ...]
    deactivated: bool
    targets: list[tuple[Node, Term]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    values: PathFn | None = None
    # Local: the shape reads only its focus node's own values (predicate paths, no sh:class,
    # no nested node shapes), so its verdict on a node follows from those values alone.
    local: bool = False
    reads: tuple[ox.NamedNode, ...] = ()
    reads_itself: bool = False
    kind_simple: bool = False  # a property shape with value checks only

    def value_nodes(self, data: Data, focus: Term) -> list[Term]:
        return [focus] if self.values is None else self.values(data, focus)


@dataclass
class Run:
    """One validation: the data, and the shapes being evaluated (to stop recursion)."""

    data: Data
    stack: list[Shape] = field(default_factory=list)
    # Literal sh:targetNode values keep the shapes graph's own term, as in pySHACL.
    literals: dict[ox.Literal, Node] = field(default_factory=dict)
    # Verdicts of local shapes, by (shape, strict, the values the shape reads).
    verdicts: dict[tuple[Any, ...], bool] = field(default_factory=dict)

    def rdf(self, term: Term) -> Node:
        if self.literals and isinstance(term, ox.Literal):
            found = self.literals.get(term)
            if found is not None:
                return found
        return rdf_term(term)


# A check takes the run, the shape, a focus node and its value nodes, and gives results.
Check = Callable[[Run, Shape, Term, list[Term]], Iterable[Result]]


class Engine:
    """Shapes compiled from one shapes graph."""

    def __init__(self, graph: rdflib.Graph) -> None:
        self.graph = graph
        self.shapes: dict[Node, Shape] = {}
        for node in _shape_nodes(graph):
            self.shape(node)
        self.targeted = [s for s in self.shapes.values() if s.targets]
        _mark_local(self.shapes.values())
        self.target_literals = {
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
        shape.checks = list(_checks(self, g, shape))
        return shape

    def validate(
        self,
        store: ox.Store,
        focus: Iterable[Term] | None = None,
        *,
        part: tuple[int, int] | None = None,
    ) -> list[Result]:
        """Validate the store's data (all graphs); with ``focus``, only those focus nodes.

        ``part=(i, n)``: only the focus nodes of part ``i`` of ``n`` (by a hash of the node), so
        that ``n`` processes share a validation; together they give every result once.
        """
        run = Run(Data(store, preload=len(store) <= PRELOAD_LIMIT), literals=self.target_literals)
        allowed = None if focus is None else set(focus)
        results: list[Result] = []
        for shape in self.targeted:
            if shape.deactivated:
                continue
            nodes = _focus_nodes(run.data, shape)
            if allowed is not None:
                nodes = [n for n in nodes if n in allowed]
            if part is not None:
                nodes = [n for n in nodes if zlib.crc32(str(n).encode()) % part[1] == part[0]]
            if not nodes:
                continue
            results.extend(_evaluate(run, shape, nodes, top=True))
        return results

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
            verdict = not _evaluate(run, shape, [node], stop=lambda r: True)
        else:
            verdict = not _evaluate(run, shape, [node], stop=lambda r: r.severity == "Violation")
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
            targets = [c.target for c in shape.checks if getattr(c, "kind", "") == "property"]  # type: ignore[attr-defined]
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
    if any(True for _ in g.subjects(RDF.type, SH.ConstraintComponent)):
        raise Unsupported("custom constraint components")
    if any(True for _ in g.subjects(RDF.type, SH.SPARQLTarget)) or any(
        True for _ in g.subjects(SH.target, None)
    ):
        raise Unsupported("SHACL-AF targets")
    return nodes


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
            nodes.update(dict.fromkeys(data.instances(value)))  # type: ignore[arg-type]
        elif kind == SH.targetSubjectsOf:
            nodes.update(dict.fromkeys(s for s, _ in data.pairs(value)))  # type: ignore[arg-type]
        else:
            nodes.update(dict.fromkeys(o for _, o in data.pairs(value)))  # type: ignore[arg-type]
    return list(nodes)


def _evaluate(
    run: Run,
    shape: Shape,
    nodes: list[Term],
    *,
    top: bool = False,
    stop: Callable[[Result], bool] | None = None,
) -> list[Result]:
    """The results of ``shape`` on ``nodes``; with ``stop``, up to the first result it accepts."""
    out: list[Result] = []
    if shape.deactivated:
        return out
    run.stack.append(shape)
    try:
        checks = shape.checks
        if top:
            for check in checks:
                whole_graph = getattr(check, "whole_graph", None)
                if whole_graph is not None:
                    out.extend(whole_graph(run, shape, nodes))
            checks = [c for c in checks if getattr(c, "whole_graph", None) is None]
        data = run.data
        for focus in nodes:
            values = shape.value_nodes(data, focus)
            for check in checks:
                for result in check(run, shape, focus, values):
                    out.append(result)
                    if stop is not None and stop(result):
                        return out
    finally:
        run.stack.pop()
    return out


def _result(shape: Shape, focus: Term, component: str, value: Term | None = None) -> Result:
    return Result(focus, shape.path, value, component, shape.node, shape.severity, shape.messages)


# --------------------------------------------------------------------------- core components


def _checks(engine: Engine, g: rdflib.Graph, shape: Shape) -> Iterator[Check]:
    node = shape.node
    params = {p for p in g.predicates(node, None) if str(p).startswith(str(SH))} - _NOT_CONSTRAINTS
    for p in params:
        if p in (
            SH.property,
            SH.node,
            SH["or"],
            SH["and"],
            SH.xone,
            SH["not"],
            SH.qualifiedValueShape,
        ):
            continue
        if p == SH.sparql:
            continue
        if p not in _SIMPLE:
            raise Unsupported(str(p))
    for p in sorted(params, key=str):
        if p in _SIMPLE:
            for value in g.objects(node, p):
                check = _SIMPLE[p](engine, g, shape, value)
                if p != SH["class"]:
                    check.kind = "simple"  # type: ignore[attr-defined]
                if p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
                    check.reads = (ox_term(value),)  # type: ignore[attr-defined]
                yield check
    for value in g.objects(node, SH.node):
        yield _node_check(engine, value)
    for value in g.objects(node, SH.property):
        yield _property_check(engine, value)
    for op in ("or", "and", "xone"):
        for members in g.objects(node, SH[op]):
            yield _logical_check(engine, g, op, members)
    for value in g.objects(node, SH["not"]):
        yield _not_check(engine, value)
    if (node, SH.qualifiedValueShape, None) in g:
        yield _qualified_check(engine, g, shape)
    for constraint in g.objects(node, SH.sparql):
        if g.value(constraint, SH.deactivated) == rdflib.Literal(True):
            continue
        yield SparqlConstraint(g, shape, constraint).check()


def _per_value(component: str, ok: Callable[[Run, Term], bool]) -> Check:
    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        return [_result(shape, focus, component, v) for v in values if not ok(run, v)]

    return check


def _class(engine: Engine, g: rdflib.Graph, shape: Shape, cls: Node) -> Check:
    target = ox_term(cls)
    return _per_value(
        "ClassConstraintComponent",
        lambda run, v: not isinstance(v, ox.Literal) and run.data.is_instance(v, target),  # type: ignore[arg-type]
    )


_XSD_STRING = ox.NamedNode(str(XSD.string))
_RDF_LANGSTRING = ox.NamedNode(str(RDF.langString))
_VALUE_TYPES: dict[Node, type | tuple[type, ...]] = {}


def _datatype(engine: Engine, g: rdflib.Graph, shape: Shape, dtype: Node) -> Check:
    from datetime import date, datetime, time
    from decimal import Decimal

    expected = ox.NamedNode(str(dtype))
    value_type = {
        XSD.string: (str, bytes),
        RDF.langString: (str, bytes),
        XSD.integer: int,
        XSD.float: float,
        XSD.decimal: Decimal,
        XSD.boolean: bool,
        XSD.date: date,
        XSD.time: time,
        XSD.dateTime: datetime,
    }.get(dtype)  # type: ignore[call-overload]
    cache: dict[ox.Literal, bool] = {}

    def actual(lit: ox.Literal) -> bool:
        # DatatypeConstraintComponent._assert_actual_datatype, on rdflib's value of the literal
        if value_type is None:
            return True
        found = cache.get(lit)
        if found is None:
            term = rdf_term(lit)
            found = getattr(term, "ill_typed", None) is not True and isinstance(
                term.value, value_type
            )
            cache[lit] = found
        return found

    def ok(run: Run, v: Term) -> bool:
        if not isinstance(v, ox.Literal):
            return False
        if v.datatype == expected and v.language is None:
            if expected == _XSD_STRING:
                return True
            return actual(v)
        if dtype == RDFS.Literal:
            return True
        if dtype == RDFS.Datatype:
            return v.language is None
        return bool(dtype == RDF.langString and v.language)

    return _per_value("DatatypeConstraintComponent", ok)


_NODE_KINDS = {
    SH.BlankNode: (ox.BlankNode,),
    SH.IRI: (ox.NamedNode,),
    SH.Literal: (ox.Literal,),
    SH.BlankNodeOrIRI: (ox.BlankNode, ox.NamedNode),
    SH.BlankNodeOrLiteral: (ox.BlankNode, ox.Literal),
    SH.IRIOrLiteral: (ox.NamedNode, ox.Literal),
}


def _node_kind(engine: Engine, g: rdflib.Graph, shape: Shape, kind: Node) -> Check:
    kinds = _NODE_KINDS.get(kind, ())
    return _per_value("NodeKindConstraintComponent", lambda run, v: isinstance(v, kinds))


def _count(component: str, bound: Node, at_least: bool) -> Check:
    n = int(bound.value)  # type: ignore[union-attr]

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        if (len(values) < n) if at_least else (len(values) > n):
            return [_result(shape, focus, component)]
        return []

    return check


def _range(component: str, want: Callable[[int], bool]) -> Callable[..., Check]:
    def make(engine: Engine, g: rdflib.Graph, shape: Shape, bound: Node) -> Check:
        bound_is_string = isinstance(bound.value, str)  # type: ignore[union-attr]

        def ok(run: Run, v: Term) -> bool:
            if not isinstance(v, ox.Literal):
                return False
            term = run.rdf(v)
            if isinstance(term.value, str) != bound_is_string:  # type: ignore[union-attr]
                return False
            try:
                return want(compare_literal(term, bound))
            except (TypeError, NotImplementedError):
                return False

        return _per_value(component, ok)

    return make


def _string_of(run: Run, v: Term) -> str | None:
    if isinstance(v, ox.BlankNode):
        return None
    if isinstance(v, ox.Literal) and v.datatype == _XSD_STRING and not run.literals:
        return v.value  # what str(rdflib_literal.value) gives, without making the rdflib term
    term = run.rdf(v)
    if (
        isinstance(term, rdflib.Literal)
        and term.value is not None
        and term.datatype in (None, RDF.langString, XSD.string)
    ):
        return str(term.value)
    return str(term)


def _length(component: str, at_least: bool) -> Callable[..., Check]:
    def make(engine: Engine, g: rdflib.Graph, shape: Shape, bound: Node) -> Check:
        n = bound.value  # type: ignore[union-attr]
        if not isinstance(n, int) or n < 0:
            raise Unsupported("bad length")

        def ok(run: Run, v: Term) -> bool:
            if at_least and n == 0:
                return True
            text = _string_of(run, v)
            return text is not None and (len(text) >= n if at_least else len(text) <= n)

        return _per_value(component, ok)

    return make


def _pattern(engine: Engine, g: rdflib.Graph, shape: Shape, pattern: Node) -> Check:
    if len(set(g.objects(shape.node, SH.pattern))) > 1:
        raise Unsupported("several patterns")
    flags = 0
    found = next(iter(g.objects(shape.node, SH.flags)), None)
    if found is not None:
        text = str(found.value).lower()  # type: ignore[union-attr]
        flags |= re.I if "i" in text else 0
        flags |= re.M if "m" in text else 0
    value = pattern.value  # type: ignore[union-attr]
    regex = re.compile(str(value) if value is not None and len(value) > 1 else str(pattern), flags)

    def ok(run: Run, v: Term) -> bool:
        text = _string_of(run, v)
        return text is not None and bool(regex.match(text) or regex.search(text))

    return _per_value("PatternConstraintComponent", ok)


def _in(engine: Engine, g: rdflib.Graph, shape: Shape, members: Node) -> Check:
    allowed = set(rdflib.collection.Collection(g, members))
    iris = {ox_term(m) for m in allowed if isinstance(m, rdflib.URIRef)}

    def ok(run: Run, v: Term) -> bool:
        if isinstance(v, ox.NamedNode):
            return v in iris
        return run.rdf(v) in allowed

    return _per_value("InConstraintComponent", ok)


def _has_value(engine: Engine, g: rdflib.Graph, shape: Shape, wanted: Node) -> Check:
    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        if not any(run.rdf(v) == wanted for v in values):
            yield _result(shape, focus, "HasValueConstraintComponent")

    return check


def _pair(component: str) -> Callable[..., Check]:
    def make(engine: Engine, g: rdflib.Graph, shape: Shape, other: Node) -> Check:
        if not isinstance(other, rdflib.URIRef):
            raise Unsupported("property pair with a non-IRI")
        predicate = ox.NamedNode(str(other))

        def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
            mine = set(values)
            theirs = set(run.data.objects(focus, predicate))
            if component == "EqualsConstraintComponent":
                for v in list(mine - theirs) + list(theirs - mine):
                    yield _result(shape, focus, component, v)
            elif component == "DisjointConstraintComponent":
                for v in mine & theirs:
                    yield _result(shape, focus, component, v)
            else:
                yield from _compare_pair(run, shape, focus, component, mine, theirs)

        return check

    return make


def _comparable(run: Run, term: Term) -> tuple[object, bool]:
    if isinstance(term, ox.BlankNode):
        raise Unsupported("sh:lessThan on a blank node")  # pySHACL raises here too
    if isinstance(term, ox.NamedNode):
        return term.value, True
    rdf = run.rdf(term)
    if isinstance(rdf.value, str):  # type: ignore[union-attr]
        return rdf.value, True  # type: ignore[union-attr]
    return rdf, False


def _compare_pair(
    run: Run, shape: Shape, focus: Term, component: str, mine: set[Term], theirs: set[Term]
) -> Iterator[Result]:
    # LessThan(OrEquals)ConstraintComponent._compare_lt(oe), on the same rdflib values
    strict = component == "LessThanConstraintComponent"
    for v in mine:
        left, left_is_string = _comparable(run, v)
        for other in theirs:
            right, right_is_string = _comparable(run, other)
            if left_is_string != right_is_string:
                bad = True
            else:
                bad = not (left < right) if strict else not (left <= right)  # type: ignore[operator]
            if bad:
                yield _result(shape, focus, component, v)


_SIMPLE: dict[Node, Callable[..., Check]] = {
    SH["class"]: _class,
    SH.datatype: _datatype,
    SH.nodeKind: _node_kind,
    SH.minCount: lambda e, g, s, v: _count("MinCountConstraintComponent", v, True),
    SH.maxCount: lambda e, g, s, v: _count("MaxCountConstraintComponent", v, False),
    SH.minExclusive: _range("MinExclusiveConstraintComponent", lambda c: c > 0),
    SH.minInclusive: _range("MinInclusiveConstraintComponent", lambda c: c >= 0),
    SH.maxExclusive: _range("MaxExclusiveConstraintComponent", lambda c: c < 0),
    SH.maxInclusive: _range("MaxInclusiveConstraintComponent", lambda c: c <= 0),
    SH.minLength: _length("MinLengthConstraintComponent", True),
    SH.maxLength: _length("MaxLengthConstraintComponent", False),
    SH.pattern: _pattern,
    SH["in"]: _in,
    SH.hasValue: _has_value,
    SH.equals: _pair("EqualsConstraintComponent"),
    SH.disjoint: _pair("DisjointConstraintComponent"),
    SH.lessThan: _pair("LessThanConstraintComponent"),
    SH.lessThanOrEquals: _pair("LessThanOrEqualsConstraintComponent"),
}


# --------------------------------------------------------------------------- shape-based components


def _node_check(engine: Engine, target: Node) -> Check:
    other = engine.shape(target)
    if other.path is not None:
        raise Unsupported("sh:node to a property shape")

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        for v in values:
            if not engine.conforms(run, other, v, strict=True):
                yield _result(shape, focus, "NodeConstraintComponent", v)

    return check


def _property_check(engine: Engine, target: Node) -> Check:
    other = engine.shape(target)
    if other.path is None:
        raise Unsupported("sh:property to a node shape")

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        if other.kind_simple and not other.deactivated:
            # Value checks only: nothing can recurse, so no evaluation stack is needed.
            out: list[Result] = []
            for v in values:
                own = other.values(run.data, v)  # type: ignore[misc]
                for c in other.checks:
                    out.extend(c(run, other, v, own))
            return out
        if other in run.stack:
            return []
        return _evaluate(run, other, values)

    check.kind = "property"  # type: ignore[attr-defined]
    check.target = other  # type: ignore[attr-defined]
    return check


def _logical_check(engine: Engine, g: rdflib.Graph, op: str, members: Node) -> Check:
    shapes = list(dict.fromkeys(engine.shape(m) for m in rdflib.collection.Collection(g, members)))
    if not shapes:
        raise Unsupported("empty list")
    component = {
        "or": "OrConstraintComponent",
        "and": "AndConstraintComponent",
        "xone": "XoneConstraintComponent",
    }[op]

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        for v in values:
            passed = [engine.conforms(run, s, v) for s in shapes]
            if op == "or":
                bad = not any(passed)
            elif op == "and":
                bad = not all(passed)
            else:
                bad = sum(passed) != 1
            if bad:
                yield _result(shape, focus, component, v)

    return check


def _not_check(engine: Engine, target: Node) -> Check:
    other = engine.shape(target)

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        for v in values:
            if engine.conforms(run, other, v):
                yield _result(shape, focus, "NotConstraintComponent", v)

    return check


def _qualified_check(engine: Engine, g: rdflib.Graph, shape: Shape) -> Check:
    node = shape.node
    targets = [engine.shape(s) for s in g.objects(node, SH.qualifiedValueShape)]
    low = g.value(node, SH.qualifiedMinCount)
    high = g.value(node, SH.qualifiedMaxCount)
    disjoint = g.value(node, SH.qualifiedValueShapesDisjoint) == rdflib.Literal(True)
    if len(targets) != 1 or (low is None and high is None):
        raise Unsupported("qualified value shape form")
    target = targets[0]
    siblings: list[Shape] = []
    if disjoint:
        for parent in g.subjects(SH.property, node):
            for prop in g.objects(parent, SH.property):
                for sibling in g.objects(prop, SH.qualifiedValueShape):
                    if sibling != target.node:
                        siblings.append(engine.shape(sibling))
    low_n = None if low is None else int(low.value)  # type: ignore[union-attr]
    high_n = None if high is None else int(high.value)  # type: ignore[union-attr]

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        if not disjoint and not values and (low_n is None or low_n < 1):
            return
        if target in run.stack:
            return
        count = 0
        for v in values:
            if engine.conforms(run, target, v) and not any(
                engine.conforms(run, s, v) for s in siblings
            ):
                count += 1
        if high_n is not None and count > high_n:
            yield _result(shape, focus, "QualifiedMaxCountConstraintComponent")
        if low_n is not None and count < low_n:
            yield _result(shape, focus, "QualifiedMinCountConstraintComponent")

    return check


# --------------------------------------------------------------------------- SHACL-SPARQL

# Removed before looking at a query's structure: strings, IRIs and comments.
_NOISE = re.compile(
    r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
)
_NOT_WHOLE_GRAPH = re.compile(
    r"(?<![?$\w])(UNION|MINUS|GRAPH|SERVICE|VALUES|GROUP|HAVING|LIMIT|OFFSET|ORDER)\b"
    r"|(?<![?$\w])(COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT)\s*\(",
    re.IGNORECASE,
)


# Oxigraph's pre-binding does not reach a bare ``BIND($this AS ?x)`` or ``BOUND($this)``.
_BARE_THIS = re.compile(r"\b(BIND\s*\(\s*[?$]this\s+AS|BOUND\s*\(\s*[?$]this)\b", re.IGNORECASE)


class SparqlConstraint:
    """One sh:sparql constraint of a shape, evaluated as pySHACL does (or once, whole-graph)."""

    def __init__(self, g: rdflib.Graph, shape: Shape, node: Node) -> None:
        self.shape = shape
        self.node = node
        select = g.value(node, SH.select)
        if select is None:
            raise Unsupported("SPARQL constraint without sh:select")
        text = str(select)
        helper = SPARQLQueryHelper
        if helper.bind_sg_regex.search(text):
            raise Unsupported("$shapesGraph")
        try:
            _check_invalid(text)
        except Exception as e:  # pySHACL refuses the query; let it give its own error
            raise Unsupported(str(e)) from e
        if shape.path is not None:
            path = shacl_path_to_sparql_path(g, shape.path)
            text = helper.bind_path_regex.sub(rf"\g<1>{path}", text)
        elif helper.bind_path_regex.search(text):
            raise Unsupported("$PATH without a path")
        self.binds_this = bool(helper.bind_this_regex.search(text))
        self.binds_current_shape = bool(helper.bind_cs_regex.search(text))
        prefixes = dict(_QUERY_PREFIXES)
        for declared in g.objects(node, SH.prefixes):
            for decl in g.objects(declared, SH.declare):
                prefixes[str(g.value(decl, SH.prefix))] = str(g.value(decl, SH.namespace))
        self.prefixes = prefixes
        self.text = text
        self.messages = tuple(str(m) for m in g.objects(node, SH.message))
        self.whole_graph_text = self._whole_graph(text, shape)

    def _whole_graph(self, text: str, shape: Shape) -> str | None:
        """The query with the shape's targets joined in for ``$this``, when that is the same."""
        if not self.binds_this or self.binds_current_shape or not shape.targets:
            return None
        if any(isinstance(value, ox.BlankNode) for _, value in shape.targets):
            return None
        bare = _NOISE.sub(lambda m: " " * len(m.group()), text)
        if (
            _NOT_WHOLE_GRAPH.search(bare)
            or _BARE_THIS.search(bare)
            or len(re.findall(r"\bSELECT\b", bare, re.I)) != 1
        ):
            return None
        head = re.match(
            r"\s*SELECT\s+(DISTINCT\s+|REDUCED\s+)?(.*?)\bWHERE\s*\{", bare, re.I | re.S
        )
        if head is None:
            return None
        projection = head.group(2).split()
        if "*" not in projection and "$this" not in projection and "?this" not in projection:
            return None
        start = head.end()
        # Every nested group must be an EXISTS, NOT EXISTS or OPTIONAL: those see $this bound.
        depth = 0
        for m in re.finditer(r"[{}]", bare[start:]):
            if m.group() == "}":
                depth -= 1
                continue
            before = bare[: start + m.start()].rstrip()
            if depth == 0 and not re.search(r"\b(EXISTS|OPTIONAL)$", before, re.I):
                return None
            depth += 1
        if bare[start:].count("{") + 1 != bare[start:].count("}"):
            return None
        return text[:start] + " " + _target_pattern(shape) + " " + text[start:]

    def check(self) -> Check:
        def per_focus(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
            substitutions: dict[ox.Variable, Term] = {}
            if self.binds_this:
                substitutions[ox.Variable("this")] = focus
            if self.binds_current_shape:
                substitutions[ox.Variable("currentShape")] = ox_term(shape.node)
            rows = self._rows(run, self.text, substitutions)
            yield from self._results(focus, rows)

        if self.whole_graph_text is not None:

            def whole_graph(run: Run, shape: Shape, nodes: list[Term]) -> Iterator[Result]:
                wanted = set(nodes)
                by_focus: dict[Term, list[dict[str, Term]]] = {}
                for row in self._rows(run, self.whole_graph_text, {}):  # type: ignore[arg-type]
                    this = row.get("this")
                    if this in wanted:
                        by_focus.setdefault(this, []).append(row)
                for focus, rows in by_focus.items():
                    yield from self._results(focus, rows)

            per_focus.whole_graph = whole_graph  # type: ignore[attr-defined]
        per_focus.sparql = True  # type: ignore[attr-defined]
        return per_focus

    def _rows(
        self, run: Run, text: str, substitutions: dict[ox.Variable, Term]
    ) -> list[dict[str, Term]]:
        solutions = run.data.store.query(
            text, prefixes=self.prefixes, substitutions=substitutions or None
        )
        names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        return [
            {n: s[i] for i, n in enumerate(names) if s[i] is not None}
            for s in solutions  # type: ignore[union-attr]
        ]

    def _results(self, focus: Term, rows: list[dict[str, Term]]) -> Iterator[Result]:
        # SPARQLConstraintComponent._validate_sparql_query and _evaluate_sparql_constraint
        shape = self.shape
        default_value = focus if shape.path is None else None
        seen: list[tuple[Any, ...]] = []
        failure_seen = False
        for row in rows:
            row = dict(row)
            if row.pop("failure", None) is not None:
                if failure_seen:
                    continue
                failure_seen = True
                yield self._result(focus, None, default_value, row)
                continue
            path = row.pop("path", None)
            value = row.pop("value", None)
            this = row.pop("this", None)
            if path is None and value is None and this is None:
                continue
            key = (this, path, value, row)
            if key in seen:
                continue
            seen.append(key)
            yield self._result(
                this or focus,
                path,
                value if value is not None else default_value,
                row,
                (this, path, value),
            )

    def _result(
        self,
        focus: Term,
        path: Term | None,
        value: Term | None,
        row: dict[str, Term],
        bound: tuple[Any, Any, Any] | None = None,
    ) -> Result:
        variables = {k: v for k, v in row.items()}
        if bound is not None:
            for name, term in zip(("this", "path", "value"), bound, strict=True):
                if term is not None:
                    variables[name] = term
        messages = list(self.shape.messages) + [
            m for m in self.messages if m not in self.shape.messages
        ]
        messages = [_format(m, variables) for m in messages]
        result_path = rdf_term(path) if path is not None else self.shape.path
        return Result(
            focus,
            result_path,
            value,
            "SPARQLConstraintComponent",
            self.shape.node,
            self.shape.severity,
            tuple(messages),
            self.node,
        )


def _format(message: str, variables: dict[str, Term]) -> str:
    for name, term in variables.items():
        message = re.sub(f"{{[?$]{name}}}", lambda _m, t=term: _text(t), message)
    return message


def _check_invalid(text: str) -> None:
    """pySHACL's checks of a SHACL-SPARQL query's text (raise as it would)."""
    helper = SPARQLQueryHelper.__new__(SPARQLQueryHelper)
    helper.check_invalid_sparql(text)


def _target_pattern(shape: Shape) -> str:
    patterns = []
    for kind, value in shape.targets:
        if kind == SH.targetNode:
            patterns.append(f"{{ BIND({value} AS ?this) }}")
        elif kind == SH.targetClass:
            patterns.append(f"{{ ?this <{RDF.type}>/<{RDFS.subClassOf}>* {value} }}")
        elif kind == SH.targetSubjectsOf:
            patterns.append(f"{{ ?this {value} ?fdiTargetObject }}")
        else:
            patterns.append(f"{{ ?fdiTargetSubject {value} ?this }}")
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(patterns) + " } }"


def compile_shapes(graph: rdflib.Graph) -> Engine | None:
    """The compiled shapes, or None if the graph needs a feature only pySHACL has."""
    try:
        return Engine(graph)
    except Unsupported:
        return None
