"""Which properties of nodes other than the focus nodes a set of shapes can read.

A submission is validated with the stored records its cross-record rules need (registry.kernel.
related). The rules test only a few properties of those records: their types (``sh:class``),
and what the SHACL-SPARQL constraints, the shapes applied to value nodes (``sh:node``,
``sh:qualifiedValueShape``, the logical constraints) and the paths longer than one step name.
Reading only those is what makes the read cheap: a right to operate needs its asset's type,
meter point and capacity, not its model or postcode.

The answer is a superset, derived from the shapes each time they change, never a list kept by
hand: every IRI any of those paths or queries names. When a query can read any property (a
variable or a negated set in a predicate position, or a query that does not parse), the answer
is None: read everything.

>>> g = rdflib.Graph().parse(data='''
... @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://ex/> .
... ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:class ex:D ] ;
...   sh:sparql [ sh:select "SELECT $this WHERE { $this <http://ex/r> ?x . ?x <http://ex/q> ?y }" ]
... .
... ''', format="turtle")
>>> sorted(readable_predicates(g))
['http://ex/q', 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type', 'http://www.w3.org/2000/01/rdf-schema#subClassOf']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.paths import NegatedPath, Path
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from registry.shacl.sparql import query_prefixes

# Constraints whose shapes are applied to each value node, not the focus node.
_VALUE_SHAPES = (SH.node, SH.qualifiedValueShape, SH["not"])
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)
_QUERIES = (SH.select, SH.ask, SH.construct)
# What a property shape reads of its focus node: its path, and the properties it compares with.
_COMPARED = (SH.path, SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals)
# Strings, IRIs and comments, which may hold colons that are no prefixed names.
_NOT_NAMES = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r"|<[^<>\s\"{}|^`]*>|#[^\n]*"
)
_PREFIX_USED = re.compile(r"(?<![\w.:?$-])([A-Za-z][\w.-]*)?:")
_PREFIX_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:", re.I)


THIS = rdflib.Variable("this")


class _Unbounded(Exception):
    """A query may read any property."""


def readable_predicates(graph: rdflib.Graph) -> frozenset[str] | None:
    """The IRIs of every property the shapes in ``graph`` may read of a node that is not a
    focus node (None: any property)."""
    found = {str(RDF.type), str(RDFS.subClassOf)}
    value_shapes = _value_shapes(graph)
    for shape in value_shapes:
        if (shape, SH.closed, None) in graph:  # reads every property of a value node
            return None
        for holder in (shape, *graph.objects(shape, SH.property)):
            for compared in _COMPARED:
                found.update(_path_iris(graph, graph.value(holder, compared)))
    for path in graph.objects(None, SH.path):
        if not isinstance(path, rdflib.URIRef):  # longer than one step: reads other nodes
            found.update(_path_iris(graph, path))
    # $this is a focus node in a constraint no shape applied to value nodes holds.
    attached = list(graph.subject_objects(SH.sparql))
    on_values = {c for shape, c in attached if shape in value_shapes}
    focus_only = {c for shape, c in attached if shape not in value_shapes} - on_values
    for node, text in (pair for p in _QUERIES for pair in graph.subject_objects(p)):
        prefixes = tuple(sorted(query_prefixes(graph, node).items()))
        read = _query_predicates(str(text), prefixes, node in focus_only)
        if read is None:
            return None
        found.update(read)
    return frozenset(found)


def _value_shapes(graph: rdflib.Graph) -> set[rdflib.term.Node]:
    """Every shape that may be applied to a value node, with the shapes nested in it."""
    todo = [o for p in _VALUE_SHAPES for o in graph.objects(None, p)]
    for p in _SHAPE_LISTS:
        for head in graph.objects(None, p):
            todo.extend(Collection(graph, head))
    seen: set[rdflib.term.Node] = set()
    while todo:
        shape = todo.pop()
        if shape in seen:
            continue
        seen.add(shape)
        for p in (*_VALUE_SHAPES, SH.property):
            todo.extend(graph.objects(shape, p))
        for p in _SHAPE_LISTS:
            for head in graph.objects(shape, p):
                todo.extend(Collection(graph, head))
    return seen


def _path_iris(graph: rdflib.Graph, path: rdflib.term.Node | None) -> Iterator[str]:
    """Every IRI in a SHACL property path (a predicate, or a path built of lists and nodes)."""
    if path is None:
        return
    todo, seen = [path], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, rdflib.URIRef):
            if node != RDF.nil:
                yield str(node)
            continue
        for p, o in graph.predicate_objects(node):
            if p in (RDF.first, RDF.rest) or str(p).startswith(str(SH)):
                todo.append(o)


@lru_cache(maxsize=256)
def _query_predicates(
    text: str, prefixes: tuple[tuple[str, str], ...], this: bool
) -> frozenset[str] | None:
    """The IRIs in predicate positions of a SHACL-SPARQL query; None if any property of a node
    other than the focus node may be read (``this``: ``$this`` is the focus node, so ``$this ?p
    ?o`` reads only its own properties). Remembered: rdflib takes about 60 ms to parse one, and
    each rules version repeats most of the last one's."""
    try:
        return frozenset(_predicates_in(text, dict(prefixes), this))
    except _Unbounded:
        return None


def _predicates_in(text: str, prefixes: dict[str, str], this: bool) -> set[str]:
    if _undeclared(text, prefixes):  # rdflib would guess it (schema:, ...); the engines do not
        raise _Unbounded
    try:
        query = prepareQuery(text, initNs=prefixes)
    except Exception as e:  # a query rdflib cannot read (pySHACL would refuse it too)
        raise _Unbounded from e
    found: set[str] = set()
    todo: list[object] = [query.algebra]
    while todo:
        node = todo.pop()
        if isinstance(node, CompValue):
            # (a pattern under EXISTS stays as parsed, a TriplesBlock, until it is evaluated)
            if node.name in ("BGP", "TriplesBlock"):
                for subject, predicate, _ in node.triples:
                    if this and subject == THIS and not isinstance(predicate, Path):
                        continue  # the focus node's own property: submitted, not read
                    found.update(_predicate_iris(predicate))
            todo.extend(node.values())
        elif isinstance(node, list | tuple | set):
            todo.extend(node)
    return found


def _predicate_iris(predicate: object) -> Iterator[str]:
    if isinstance(predicate, rdflib.URIRef):
        yield str(predicate)
    elif isinstance(predicate, NegatedPath) or not isinstance(predicate, Path):
        raise _Unbounded  # a variable, or "any property but these"
    else:
        for part in _path_parts(predicate):
            yield from _predicate_iris(part)


def _path_parts(path: Path) -> list[object]:
    args = getattr(path, "args", None)
    if args is not None:
        return list(args)
    return [getattr(path, "arg", None) or getattr(path, "path", None)]


def _undeclared(text: str, prefixes: dict[str, str]) -> bool:
    """Whether the query uses a prefix that neither the shapes nor the query declare."""
    bare = _NOT_NAMES.sub(" ", text)
    declared = set(prefixes) | {m or "" for m in _PREFIX_DECLARED.findall(bare)}
    return any((m or "") not in declared for m in _PREFIX_USED.findall(bare))
