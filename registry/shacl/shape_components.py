"""The shape-based constraint components of SHACL Core (sh:node, sh:property, sh:and, sh:or,
sh:xone, sh:not, qualified value shapes), compiled into checks that evaluate nested shapes
(registry.shacl.components)."""

from __future__ import annotations

from collections.abc import Iterator

import rdflib
from rdflib.namespace import SH
from rdflib.term import Node

from registry.shacl.shapes import (
    Check,
    NestedShapes,
    Result,
    Run,
    Shape,
    evaluate,
    mark,
    result_for,
)
from registry.shacl.terms import Term, Unsupported, literal_value


def node_check(engine: NestedShapes, target: Node) -> Check:
    other = engine.shape(target)
    if other.path is not None:
        raise Unsupported("sh:node to a property shape")

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        for v in values:
            if not engine.conforms(run, other, v, strict=True):
                yield result_for(shape, focus, "NodeConstraintComponent", v)

    return check


def property_check(engine: NestedShapes, target: Node) -> Check:
    other = engine.shape(target)
    if other.path is None:
        raise Unsupported("sh:property to a node shape")

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        if other.kind_simple and not other.deactivated:
            # Value checks only: nothing can recurse, so no evaluation stack is needed.
            out: list[Result] = []
            path_values = other.values
            assert path_values is not None  # a property shape's (its path is checked above)
            for v in values:
                own = path_values(run.data, v)
                for c in other.checks:
                    out.extend(c(run, other, v, own))
            return out
        if other in run.stack:
            return []
        return evaluate(run, other, values)

    return mark(check, kind="property", target=other)


def logical_check(engine: NestedShapes, g: rdflib.Graph, op: str, members: Node) -> Check:
    # Duplicates stay: sh:xone counts each member that conforms, twice if listed twice.
    shapes = [engine.shape(m) for m in rdflib.collection.Collection(g, members)]
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
                yield result_for(shape, focus, component, v)

    return check


def not_check(engine: NestedShapes, target: Node) -> Check:
    other = engine.shape(target)

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        for v in values:
            if engine.conforms(run, other, v):
                yield result_for(shape, focus, "NotConstraintComponent", v)

    return check


def qualified_check(engine: NestedShapes, g: rdflib.Graph, shape: Shape) -> Check:
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
    low_n = None if low is None else int(literal_value(low))
    high_n = None if high is None else int(literal_value(high))

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
            yield result_for(shape, focus, "QualifiedMaxCountConstraintComponent")
        if low_n is not None and count < low_n:
            yield result_for(shape, focus, "QualifiedMinCountConstraintComponent")

    return check
