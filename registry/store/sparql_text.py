"""SPARQL text sent to an external store: substitutions as ``VALUES`` blocks opening a query's
outermost group (the SEP-0007 reading pyoxigraph implements), and quads as ``GRAPH`` blocks for
``INSERT DATA`` and ``DELETE DATA``. Terms are written by pyoxigraph's own N-Triples serialiser,
never formatted from input."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyoxigraph as ox

from registry.base.rdf import Term


def bind(text: str, substitutions: dict[ox.Variable, Term]) -> str:
    """``text`` with ``substitutions`` as a ``VALUES`` block opening its outermost group.

    >>> bind("SELECT ?s WHERE { ?s ?p ?o }", {ox.Variable("s"): ox.NamedNode("http://e/x")})
    'SELECT ?s WHERE { VALUES (?s) { (<http://e/x>) } ?s ?p ?o }'
    """
    if not substitutions:
        return text
    names = " ".join(str(v) for v in substitutions)
    row = " ".join(_term(t) for t in substitutions.values())
    block = f"VALUES ({names}) {{ ({row}) }}"
    at = _where_brace(text)
    if at is None:  # DESCRIBE <x>, CONSTRUCT WHERE: a trailing VALUES clause
        return f"{text}\n{block}"
    return f"{text[: at + 1]} {block}{text[at + 1 :]}"


def with_values(text: str, name: str, terms: list[ox.NamedNode]) -> str:
    """``text`` with a one-variable ``VALUES`` block of several rows opening its outer group."""
    rows = " ".join(_term(t) for t in terms)
    at = _where_brace(text)
    assert at is not None
    return f"{text[: at + 1]} VALUES ?{name} {{ {rows} }}{text[at + 1 :]}"


def _term(term: Term) -> str:
    if isinstance(term, ox.BlankNode):
        raise ValueError("a blank node cannot be substituted into a query sent to a store")
    return str(term)  # pyoxigraph's N-Triples form: escaped, never raw input


# Strings, IRIs and comments hold no structure; the group braces are found outside them.
_NOISE = re.compile(
    r'"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
)
_PROLOGUE = re.compile(r"(?is)^\s*(?:(?:PREFIX\s+[^:\s]*:|BASE)\s*)*")
_CONSTRUCT = re.compile(r"(?i)CONSTRUCT\s*(WHERE\b)?")


def _where_brace(text: str) -> int | None:
    """The position of the ``{`` opening the query's WHERE group (outside sub-queries):
    the first brace of a SELECT, ASK or DESCRIBE, the one after a CONSTRUCT's template."""
    blanked = _NOISE.sub(lambda m: " " * len(m.group()), text)
    prologue = _PROLOGUE.match(blanked)
    assert prologue is not None  # it matches the empty prologue too
    start = prologue.end()
    first = blanked.find("{", start)
    construct = _CONSTRUCT.match(blanked, start)
    if construct is not None and construct.group(1):
        return None  # CONSTRUCT WHERE allows triple patterns only: a trailing VALUES clause
    if first < 0 or construct is None:
        return first if first >= 0 else None
    depth = 0
    for at in range(first, len(blanked)):  # skip the template
        depth += {"{": 1, "}": -1}.get(blanked[at], 0)
        if depth == 0:
            following = blanked.find("{", at + 1)
            return following if following >= 0 else None
    return None


def graph_blocks(quads: Iterable[ox.Quad]) -> str:
    """Quads as ``GRAPH <g> { s p o . ... }`` blocks of at most ``_BLOCK`` triples: a third
    shorter than a ``GRAPH`` per quad, which matters where a store caps a request's text
    (Virtuoso: 10 MB), and short enough for Virtuoso's parser (a block of about 5,000 triples
    exhausts it). Terms are serialised by pyoxigraph (escaped N-Triples), never formatted from
    input."""
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        by_graph.setdefault(str(q.graph_name), []).append(f"{q.subject} {q.predicate} {q.object} .")
    return "\n".join(
        f"GRAPH {g} {{\n" + "\n".join(lines[i : i + _BLOCK]) + "\n}"
        for g, lines in by_graph.items()
        for i in range(0, len(lines), _BLOCK)
    )


_BLOCK = 1000
