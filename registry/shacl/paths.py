"""SHACL property paths compiled into functions from a focus node to its value nodes."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from registry.shacl.data import Data
from registry.shacl.terms import Term, Unsupported

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
