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

This module reads the data, evaluates paths and shapes and runs a validation; the components
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
>>> store.add(ox.Quad(ox.NamedNode("http://example.org/a"), RDF_TYPE, ox.NamedNode("http://example.org/C")))
>>> [(r.focus.value, r.component) for r in compile_shapes(g).validate(store)]
[('http://example.org/a', 'MinCountConstraintComponent')]
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
import rdflib
from pyshacl.graph_abstraction import to_rdf
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
OWL_IMPORTS = rdflib.URIRef("http://www.w3.org/2002/07/owl#imports")
_SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


# Stores up to this many quads are read in one pass before validating: about 1 µs a quad in
# memory and 5 µs on disk, and a read quad costs ~500 bytes until the run ends. Above it (about
# 140,000 assets) each focus node's triples are read when needed, BATCH_SIZE focus nodes at a
# time, and what one batch read is dropped before the next: memory then depends on the batch,
# not on the number of records.
PRELOAD_LIMIT = 3_000_000
BATCH_SIZE = 10_000


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

    def __init__(
        self,
        store: ox.Store,
        preload: bool = False,
        triples: Iterable[ox.Triple | ox.Quad] | None = None,
    ) -> None:
        """``triples``: every triple the store holds, already at hand (a submission and the
        records it relates to), preloaded instead of reading the store back."""
        self.store = store
        self._out: dict[Term, dict[ox.NamedNode, list[Term]]] = {}
        self._preloaded = preload or triples is not None
        if self._preloaded:
            # One pass over a small store costs less than a lookup per subject.
            out, given = self._out, triples is not None
            for q in store if triples is None else triples:
                found = out.get(q.subject)
                if found is None:
                    out[q.subject] = found = {}
                obj = q.object
                if given and isinstance(obj, ox.Literal) and obj.datatype != _XSD_STRING:
                    obj = read_as_rdflib(obj)  # (a string is read as written)
                values = found.get(q.predicate)
                if values is None:
                    found[q.predicate] = [obj]
                elif obj not in values:
                    values.append(obj)
        # Given triples are read as given (lexical forms as submitted: a store canonicalises
        # them), for targets and inverse paths too; built on first use.
        self._given = triples is not None
        self._by_predicate: dict[ox.NamedNode, list[tuple[Term, Term]]] | None = None
        self._by_object: dict[ox.NamedNode, dict[Term, list[Term]]] = {}
        self._as_given: dict[ox.Literal, ox.Literal] | None = None
        self._types: dict[Term, list[Term]] = {}
        self._instances: dict[tuple[Term, ox.NamedNode], bool] = {}
        self._superclasses: dict[ox.NamedNode, set[Term]] = {}
        self._class_members: dict[ox.NamedNode, list[Term]] = {}

    def forget(self) -> None:
        """Drop the memoised reads (read again if needed): between batches of focus nodes."""
        if self._preloaded:
            return
        self._out.clear()
        self._types.clear()
        self._instances.clear()
        self._superclasses.clear()
        self._class_members.clear()

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

    def types(self, node: Term) -> list[Term]:
        """``node``'s rdf:type values. Unlike ``objects``, a node not read yet has only its types
        read: sh:class reaches other records (a right's asset), whose other triples it needs not.
        """
        out = self._out.get(node)
        if out is not None:
            return out.get(RDF_TYPE, [])
        found = self._types.get(node)
        if found is None:
            found = self._types[node] = list(
                dict.fromkeys(q.object for q in self.store.quads_for_pattern(node, RDF_TYPE, None))
            )
        return found

    def subjects(self, predicate: ox.NamedNode, obj: Term) -> list[Term]:
        if self._given:
            by_object = self._by_object.get(predicate)
            if by_object is None:
                by_object = self._by_object[predicate] = {}
                for s, o in self.pairs(predicate):
                    by_object.setdefault(o, []).append(s)
            return by_object.get(obj, [])
        return list(
            dict.fromkeys(q.subject for q in self.store.quads_for_pattern(None, predicate, obj))
        )

    def pairs(self, predicate: ox.NamedNode) -> Iterator[tuple[Term, Term]]:
        if self._given:
            if self._by_predicate is None:
                self._by_predicate = {}
                for subject, found in self._out.items():
                    for p, objects in found.items():
                        self._by_predicate.setdefault(p, []).extend((subject, o) for o in objects)
            yield from self._by_predicate.get(predicate, [])
            return
        for q in self.store.quads_for_pattern(None, predicate, None):
            yield q.subject, q.object

    def as_given(self, term: Term) -> Term:
        """A term a query on the store returned, as the given triples have it (the store
        canonicalised ``"300"^^xsd:byte`` to an xsd:integer; SHACL-SPARQL reports the former)."""
        if not self._given or not isinstance(term, ox.Literal):
            return term
        if self._as_given is None:
            given = {o for found in self._out.values() for os in found.values() for o in os}
            literals = [
                o for o in given if isinstance(o, ox.Literal) and o.datatype != _XSD_STRING
            ]  # a store keeps strings as they are
            scratch = ox.Store()
            s, p = ox.NamedNode("urn:fdi:s"), ox.NamedNode("urn:fdi:p")
            mapping: dict[ox.Literal, ox.Literal | None] = {}
            for literal in literals:
                scratch.add(ox.Quad(s, p, literal))
                (stored,) = [q.object for q in scratch]
                scratch.clear()
                # Two given literals stored as one stay as the store has them (ambiguous).
                mapping[stored] = literal if stored not in mapping else None  # type: ignore[index]
            self._as_given = {k: v for k, v in mapping.items() if v is not None}
        return self._as_given.get(term, term)

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
            known = any(cls in self.superclasses(t) for t in self.types(node))
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


_XSD_STRING = ox.NamedNode(str(XSD.string))


def rdf_term(term: Term) -> Node:
    """The rdflib term pySHACL on rdflib sees for an Oxigraph term (literals cached).

    A simple literal is ``"x"^^xsd:string`` in Oxigraph and RDF 1.1, but rdflib parses ``"x"``
    with no datatype and tells the two apart; the data's strings are read as rdflib reads
    them, so that ``sh:in ( "x" )`` and ``sh:hasValue "x"`` match them (docs/facts.md, fact 18).

    >>> rdf_term(ox.Literal("_C")) == rdflib.Literal("_C")
    True
    """
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    found = _RDF_TERMS.get(term)
    if found is None:
        found = rdflib.Literal(term.value) if term.datatype == _XSD_STRING else to_rdf(term)
        if len(_RDF_TERMS) > 200_000:
            _RDF_TERMS.clear()
        _RDF_TERMS[term] = found
    return found


def read_as_rdflib(literal: ox.Literal) -> ox.Literal:
    """A submitted literal as rdflib (and a store) reads it: a well-typed one in its canonical
    form (``"01"^^xsd:integer`` is ``"1"``, one value), an ill-typed one as written (a store
    would make ``"300"^^xsd:byte`` an xsd:integer; its lexical form is what sh:datatype checks).

    >>> read_as_rdflib(ox.Literal("01", datatype=ox.NamedNode(str(XSD.integer)))).value
    '1'
    """
    term = rdf_term(literal)
    if getattr(term, "ill_typed", None) is True or str(term) == literal.value:
        return literal
    if literal.language:
        return ox.Literal(str(term), language=literal.language)
    return ox.Literal(str(term), datatype=literal.datatype)


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
        # A literal has subjects too (pySHACL walks the inverse path from a literal focus).
        return lambda data, focus: data.subjects(predicate, focus)
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
        from registry.shacl.components import checks  # they build on this module

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
            return [r for shape, nodes in plan for r in _evaluate(run, shape, nodes, top=True)]
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
    classes, todo = {SH.ConstraintComponent}, [SH.ConstraintComponent]
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
            nodes.update(dict.fromkeys(data.instances(value)))  # type: ignore[arg-type]
        elif kind == SH.targetSubjectsOf:
            nodes.update(dict.fromkeys(s for s, _ in data.pairs(value)))  # type: ignore[arg-type]
        else:
            nodes.update(dict.fromkeys(o for _, o in data.pairs(value)))  # type: ignore[arg-type]
    return list(nodes)


def _evaluate_in_batches(run: Run, plan: list[tuple[Shape, list[Term]]], size: int) -> list[Result]:
    """What ``_evaluate(run, shape, nodes, top=True)`` gives for each shape of the plan, in the
    same order, reading the data ``size`` focus nodes of each shape at a time.

    Shapes with the same targets have their focus nodes in the same order, so one batch reads a
    record once for all of them; the memoised reads are dropped after each batch.
    """
    found: list[list[Result]] = [_whole_graph(run, shape, nodes) for shape, nodes in plan]
    longest = max((len(nodes) for _, nodes in plan), default=0)
    for start in range(0, longest, size):
        for (shape, nodes), out in zip(plan, found, strict=True):
            if start < len(nodes):
                chunk = nodes[start : start + size]
                out.extend(_evaluate(run, shape, chunk, top=True, whole_graph=False))
        run.data.forget()
        run.verdicts.clear()
    return [r for out in found for r in out]


def _whole_graph(run: Run, shape: Shape, nodes: list[Term]) -> list[Result]:
    """The results of the shape's checks that run once over the whole graph (SHACL-SPARQL)."""
    out: list[Result] = []
    if shape.deactivated:
        return out
    for check in shape.checks:
        whole_graph = getattr(check, "whole_graph", None)
        if whole_graph is not None:
            out.extend(whole_graph(run, shape, nodes))
    return out


def _evaluate(
    run: Run,
    shape: Shape,
    nodes: list[Term],
    *,
    top: bool = False,
    whole_graph: bool = True,
    stop: Callable[[Result], bool] | None = None,
) -> list[Result]:
    """The results of ``shape`` on ``nodes``; with ``stop``, up to the first result it accepts.

    ``top``: the nodes are the shape's focus nodes, so the checks that run over the whole graph
    do (unless ``whole_graph`` is false: the caller has run them).
    """
    out: list[Result] = []
    if shape.deactivated:
        return out
    run.stack.append(shape)
    try:
        checks = shape.checks
        if top:
            if whole_graph:
                out.extend(_whole_graph(run, shape, nodes))
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


def compile_shapes(graph: rdflib.Graph) -> Engine | None:
    """The compiled shapes, or None if the graph needs a feature only pySHACL has."""
    try:
        return Engine(graph)
    except Unsupported:
        return None
