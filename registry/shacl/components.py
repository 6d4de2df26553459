"""The constraint components of SHACL Core, compiled into checks (see registry.shacl.engine).

Each check follows the pySHACL component it stands for (named in a comment where the reading is
pySHACL's own): which value nodes are tested, which results are reported with which value, and
rdflib's semantics for literals. The components that evaluate nested shapes are in
:mod:`registry.shacl.shape_components`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
import rdflib
from pyshacl.rdfutil.compare import compare_literal
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from registry.shacl.shape_components import (
    logical_check,
    node_check,
    not_check,
    property_check,
    qualified_check,
)
from registry.shacl.shapes import (
    NOT_CONSTRAINTS,
    Check,
    NestedShapes,
    Result,
    Run,
    Shape,
    mark,
    result_for,
)
from registry.shacl.sparql import SparqlConstraint
from registry.shacl.terms import XSD_STRING, Term, Unsupported, literal_value, ox_term


def checks(engine: NestedShapes, g: rdflib.Graph, shape: Shape) -> Iterator[Check]:
    node = shape.node
    params = {p for p in g.predicates(node, None) if str(p).startswith(str(SH))} - NOT_CONSTRAINTS
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
    if shape.path is None and params & _PROPERTY_ONLY:  # pySHACL refuses such shapes
        raise Unsupported("a property shape's parameter on a node shape")
    if any(len(set(g.objects(node, p))) > 1 for p in _AT_MOST_ONE):  # and these
        raise Unsupported("a parameter given twice that may be given once")
    for p in sorted(params, key=str):
        if p in _SIMPLE:
            for value in g.objects(node, p):
                check = _SIMPLE[p](engine, g, shape, value)
                if p != SH["class"]:
                    mark(check, kind="simple")
                if p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
                    mark(check, reads=(ox_term(value),))
                yield check
    for value in g.objects(node, SH.node):
        yield node_check(engine, value)
    for value in g.objects(node, SH.property):
        yield property_check(engine, value)
    for op in ("or", "and", "xone"):
        for members in g.objects(node, SH[op]):
            yield logical_check(engine, g, op, members)
    for value in g.objects(node, SH["not"]):
        yield not_check(engine, value)
    if (node, SH.qualifiedValueShape, None) in g:
        yield qualified_check(engine, g, shape)
    for constraint in g.objects(node, SH.sparql):
        if g.value(constraint, SH.deactivated) == rdflib.Literal(True):
            continue
        yield SparqlConstraint(g, shape, constraint).check()


_PROPERTY_ONLY = {
    SH.minCount,
    SH.maxCount,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.qualifiedValueShape,
}


_AT_MOST_ONE = {
    SH.minCount,
    SH.maxCount,
    SH["in"],
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.minLength,
    SH.maxLength,
    SH.datatype,
    SH.nodeKind,
}


def _per_value(component: str, ok: Callable[[Run, Term], bool]) -> Check:
    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        return [result_for(shape, focus, component, v) for v in values if not ok(run, v)]

    return check


def _class(engine: NestedShapes, g: rdflib.Graph, shape: Shape, cls: Node) -> Check:
    target = ox_term(cls)
    return _per_value(
        "ClassConstraintComponent",
        lambda run, v: not isinstance(v, ox.Literal) and run.data.is_instance(v, target),
    )


def _datatype(engine: NestedShapes, g: rdflib.Graph, shape: Shape, dtype: Node) -> Check:
    from datetime import date, datetime, time
    from decimal import Decimal

    value_types: dict[Node, type | tuple[type, ...]] = {
        XSD.string: (str, bytes),
        RDF.langString: (str, bytes),
        XSD.integer: int,
        XSD.float: float,
        XSD.decimal: Decimal,
        XSD.boolean: bool,
        XSD.date: date,
        XSD.time: time,
        XSD.dateTime: datetime,
    }
    value_type = value_types.get(dtype)
    cache: dict[ox.Literal, bool] = {}

    def actual(term: rdflib.Literal) -> bool:
        # DatatypeConstraintComponent._assert_actual_datatype, on rdflib's value of the literal
        return value_type is None or isinstance(term.value, value_type)

    def matches(term: rdflib.Literal) -> bool:
        # DatatypeConstraintComponent.evaluate. The literal is the one submitted, read before
        # any store canonicalised it: Oxigraph stores "300"^^xsd:byte as an xsd:integer.
        if term.datatype == dtype:
            return getattr(term, "ill_typed", None) is not True and actual(term)
        if dtype == RDFS.Literal:
            return True
        if dtype == RDFS.Datatype:
            return term.datatype is not None
        if term.datatype is None and term.language is None and dtype == XSD.string:
            return actual(term)
        return bool(dtype == RDF.langString and term.language and actual(term))

    def ok(run: Run, v: Term) -> bool:
        if not isinstance(v, ox.Literal):
            return False
        found = cache.get(v)
        if found is None:
            term = run.rdf(v)
            assert isinstance(term, rdflib.Literal)  # an Oxigraph literal's rdflib term
            found = matches(term)
            if len(cache) >= 100_000:  # bounded: a registry has a literal or more per record
                cache.clear()
            cache[v] = found
        return found

    return _per_value("DatatypeConstraintComponent", ok)


_NODE_KINDS: dict[Node, tuple[type, ...]] = {
    SH.BlankNode: (ox.BlankNode,),
    SH.IRI: (ox.NamedNode,),
    SH.Literal: (ox.Literal,),
    SH.BlankNodeOrIRI: (ox.BlankNode, ox.NamedNode),
    SH.BlankNodeOrLiteral: (ox.BlankNode, ox.Literal),
    SH.IRIOrLiteral: (ox.NamedNode, ox.Literal),
}


def _node_kind(engine: NestedShapes, g: rdflib.Graph, shape: Shape, kind: Node) -> Check:
    kinds = _NODE_KINDS.get(kind, ())
    return _per_value("NodeKindConstraintComponent", lambda run, v: isinstance(v, kinds))


def _count(component: str, bound: Node, at_least: bool) -> Check:
    n = int(literal_value(bound))

    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> list[Result]:
        if (len(values) < n) if at_least else (len(values) > n):
            return [result_for(shape, focus, component)]
        return []

    return check


def _range(component: str, want: Callable[[int], bool]) -> Callable[..., Check]:
    def make(engine: NestedShapes, g: rdflib.Graph, shape: Shape, bound: Node) -> Check:
        bound_is_string = isinstance(literal_value(bound), str)

        def ok(run: Run, v: Term) -> bool:
            if not isinstance(v, ox.Literal):
                return False
            term = run.rdf(v)
            if isinstance(literal_value(term), str) != bound_is_string:
                return False
            try:
                # pySHACL leaves compare_literal unannotated
                return want(compare_literal(term, bound))  # type: ignore[no-untyped-call]
            except (TypeError, NotImplementedError):
                return False

        return _per_value(component, ok)

    return make


def _string_of(run: Run, v: Term) -> str | None:
    if isinstance(v, ox.BlankNode):
        return None
    if isinstance(v, ox.Literal) and v.datatype == XSD_STRING and not run.literals:
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
    def make(engine: NestedShapes, g: rdflib.Graph, shape: Shape, bound: Node) -> Check:
        n = literal_value(bound)
        if not isinstance(n, int) or n < 0:
            raise Unsupported("bad length")

        def ok(run: Run, v: Term) -> bool:
            if at_least and n == 0:
                return True
            text = _string_of(run, v)
            return text is not None and (len(text) >= n if at_least else len(text) <= n)

        return _per_value(component, ok)

    return make


def _pattern(engine: NestedShapes, g: rdflib.Graph, shape: Shape, pattern: Node) -> Check:
    if len(set(g.objects(shape.node, SH.pattern))) > 1:
        raise Unsupported("several patterns")
    flags = 0
    found = next(iter(g.objects(shape.node, SH.flags)), None)
    if found is not None:
        text = str(literal_value(found)).lower()
        flags |= re.I if "i" in text else 0
        flags |= re.M if "m" in text else 0
    value = literal_value(pattern)
    regex = re.compile(str(value) if value is not None and len(value) > 1 else str(pattern), flags)

    def ok(run: Run, v: Term) -> bool:
        text = _string_of(run, v)
        return text is not None and bool(regex.match(text) or regex.search(text))

    return _per_value("PatternConstraintComponent", ok)


def _in(engine: NestedShapes, g: rdflib.Graph, shape: Shape, members: Node) -> Check:
    allowed = set(rdflib.collection.Collection(g, members))
    iris = {ox_term(m) for m in allowed if isinstance(m, rdflib.URIRef)}

    def ok(run: Run, v: Term) -> bool:
        if isinstance(v, ox.NamedNode):
            return v in iris
        return run.rdf(v) in allowed

    return _per_value("InConstraintComponent", ok)


def _has_value(engine: NestedShapes, g: rdflib.Graph, shape: Shape, wanted: Node) -> Check:
    def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
        if not any(run.rdf(v) == wanted for v in values):
            yield result_for(shape, focus, "HasValueConstraintComponent")

    return check


def _pair(component: str) -> Callable[..., Check]:
    def make(engine: NestedShapes, g: rdflib.Graph, shape: Shape, other: Node) -> Check:
        if not isinstance(other, rdflib.URIRef):
            raise Unsupported("property pair with a non-IRI")
        predicate = ox.NamedNode(str(other))

        def check(run: Run, shape: Shape, focus: Term, values: list[Term]) -> Iterator[Result]:
            mine = set(values)
            theirs = set(run.data.objects(focus, predicate))
            if component == "EqualsConstraintComponent":
                for v in list(mine - theirs) + list(theirs - mine):
                    yield result_for(shape, focus, component, v)
            elif component == "DisjointConstraintComponent":
                for v in mine & theirs:
                    yield result_for(shape, focus, component, v)
            else:
                yield from _compare_pair(run, shape, focus, component, mine, theirs)

        return check

    return make


def _comparable(run: Run, term: Term) -> tuple[Any, bool]:
    if isinstance(term, ox.BlankNode):
        raise Unsupported("sh:lessThan on a blank node")  # pySHACL raises here too
    if isinstance(term, ox.NamedNode):
        return term.value, True
    rdf = run.rdf(term)
    if isinstance(literal_value(rdf), str):
        return literal_value(rdf), True
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
                bad = not (left < right) if strict else not (left <= right)
            if bad:
                yield result_for(shape, focus, component, v)


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
