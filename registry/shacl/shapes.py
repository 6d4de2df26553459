"""Compiled shapes and their evaluation: what the engine, its components and SHACL-SPARQL share.

A :class:`Shape` holds its checks; :func:`evaluate` runs them on focus nodes. The components
(:mod:`registry.shacl.components`) and SHACL-SPARQL (:mod:`registry.shacl.sparql`) build checks;
the engine (:mod:`registry.shacl.engine`) compiles a shapes graph with them and validates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyoxigraph as ox
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from registry.base.vocab import OWL, XML
from registry.shacl.data import Data
from registry.shacl.paths import PathFn
from registry.shacl.terms import Term, rdf_term

# Parameters that are not constraints (or that a constraint reads alongside its own).
NOT_CONSTRAINTS = {
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
# SPARQL prefixes pySHACL's Oxigraph data graph adds to every query.
QUERY_PREFIXES = {
    "owl": OWL.iri,
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "xml": XML.iri,
}


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
    literals: dict[Term, Node] = field(default_factory=dict)
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


def mark(check: Check, **marks: object) -> Check:
    """``check`` with ``marks`` set on it as attributes, which the engine's planning reads
    with ``getattr``: ``kind`` ("simple" or "property"), ``reads`` (the predicates a simple
    check reads beyond the path), ``target`` (a property check's shape), ``whole_graph`` (a
    SHACL-SPARQL check's run over the whole graph at once)."""
    vars(check).update(marks)
    return check


class NestedShapes(Protocol):
    """The compiled shapes a nested-shape check reaches (the engine)."""

    def shape(self, node: Node) -> Shape: ...

    def conforms(self, run: Run, shape: Shape, node: Term, *, strict: bool = False) -> bool: ...


def whole_graph_results(run: Run, shape: Shape, nodes: list[Term]) -> list[Result]:
    """The results of the shape's checks that run once over the whole graph (SHACL-SPARQL)."""
    out: list[Result] = []
    if shape.deactivated:
        return out
    for check in shape.checks:
        whole_graph = getattr(check, "whole_graph", None)
        if whole_graph is not None:
            out.extend(whole_graph(run, shape, nodes))
    return out


def evaluate(
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
                out.extend(whole_graph_results(run, shape, nodes))
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


def result_for(shape: Shape, focus: Term, component: str, value: Term | None = None) -> Result:
    return Result(focus, shape.path, value, component, shape.node, shape.severity, shape.messages)
