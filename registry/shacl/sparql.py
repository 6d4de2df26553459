"""SHACL-SPARQL constraints, run as pySHACL runs them, or once over the whole data graph.

pySHACL runs a constraint's query once per focus node with ``$this`` pre-bound (Oxigraph's
``substitutions``). When the query's form makes it the same, the query runs once instead, with
the shape's targets joined into its top-level group: no sub-select, union, plain nested group,
aggregate, slice, or bare ``BIND($this ...)``/``BOUND($this)`` (which Oxigraph's pre-binding
does not reach). Rows are then grouped by focus node and read exactly as pySHACL reads them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import pyoxigraph as ox
import rdflib
from pyshacl.helper.path_helper import shacl_path_to_sparql_path
from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
from pyshacl.shapes_graph import ShapesGraph
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node, URIRef

from registry.base import rdf
from registry.shacl.shapes import QUERY_PREFIXES, Check, Result, Run, Shape, mark
from registry.shacl.terms import Term, Unsupported, ox_term, rdf_term, term_text

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
            # pySHACL's own path writer, which reads its ShapesGraph's ``graph`` and ``objects``
            reader = cast(ShapesGraph, SimpleNamespace(graph=g, objects=g.objects))
            path = shacl_path_to_sparql_path(reader, shape.path)
            text = helper.bind_path_regex.sub(rf"\g<1>{path}", text)
        elif helper.bind_path_regex.search(text):
            raise Unsupported("$PATH without a path")
        self.binds_this = bool(helper.bind_this_regex.search(text))
        self.binds_current_shape = bool(helper.bind_cs_regex.search(text))
        self.prefixes = query_prefixes(g, node)
        self.text = text
        # Oxigraph's pre-binding (``substitutions``) does not reach $this in a nested group, a
        # BIND or bound(); pySHACL on rdflib's does. Such queries get the focus node written
        # into their text instead, as SHACL defines pre-binding.
        bare = _NOISE.sub(lambda m: " " * len(m.group()), text)
        self.written_in = not _substitution_reaches(bare)
        if self.written_in and self.binds_current_shape and not isinstance(shape.node, URIRef):
            raise Unsupported("$currentShape of a blank node in a nested group")
        probe = self._written(ox.NamedNode("urn:fdi:this")) if self.written_in else text
        try:  # a query Oxigraph cannot read (rewritten, or with a prefix pySHACL would find
            # among the data graph's own) is left to pySHACL
            ox.Store().query(probe, prefixes=self.prefixes)
        except SyntaxError as e:
            raise Unsupported(f"query: {e}") from e
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
            if self.written_in:
                if isinstance(focus, ox.BlankNode):  # no way to write it into the query
                    raise Unsupported("a blank node focus for $this in a nested group")
                rows = self._rows(run, self._written(focus), {})
                yield from self._results(focus, rows)
                return
            substitutions: dict[ox.Variable, Term] = {}
            if self.binds_this:
                substitutions[ox.Variable("this")] = focus
            if self.binds_current_shape:
                substitutions[ox.Variable("currentShape")] = ox_term(shape.node)
            rows = self._rows(run, self.text, substitutions)
            yield from self._results(focus, rows)

        whole_graph_text = self.whole_graph_text
        if whole_graph_text is not None:

            def whole_graph(run: Run, shape: Shape, nodes: list[Term]) -> Iterator[Result]:
                wanted = set(nodes)
                by_focus: dict[Term, list[dict[str, Term]]] = {}
                for row in self._rows(run, whole_graph_text, {}):
                    this = row.get("this")
                    if this in wanted:
                        by_focus.setdefault(this, []).append(row)
                for focus, rows in by_focus.items():
                    yield from self._results(focus, rows)

            mark(per_focus, whole_graph=whole_graph)
        return mark(per_focus, sparql=True)

    def _written(self, focus: Term) -> str:
        """The query with ``focus`` written in for $this (and the shape for $currentShape)."""
        values = {"this": focus}
        if self.binds_current_shape:
            values["currentShape"] = ox_term(self.shape.node)
        return substitute(self.text, values)

    def _rows(
        self, run: Run, text: str, substitutions: dict[ox.Variable, Term]
    ) -> list[dict[str, Term]]:
        solutions = rdf.solutions(
            run.data.store.query(text, prefixes=self.prefixes, substitutions=substitutions or None)
        )
        names = [v.value for v in solutions.variables]
        given = run.data.as_given
        return [
            {n: given(s[i]) for i, n in enumerate(names) if s[i] is not None} for s in solutions
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
        message = re.sub(f"{{[?$]{name}}}", _text_of(term), message)
    return message


def _text_of(term: Term) -> Callable[[re.Match[str]], str]:
    return lambda _match: term_text(term)


_PREBOUND = re.compile(r"(?<![\w?$])[?$](this|currentShape)\b")
_BOUND = re.compile(r"\bBOUND\s*\(\s*[?$](this|currentShape)\s*\)", re.IGNORECASE)
_PROJECTION = re.compile(r"\bSELECT\b(.*?)(?=\bWHERE\b|\{)", re.IGNORECASE | re.DOTALL)


def _substitution_reaches(bare: str) -> bool:
    """Whether Oxigraph's pre-binding reaches every $this/$currentShape of the query (``bare``:
    the text with strings, IRIs and comments blanked): each is in the top-level group, or in
    groups under EXISTS or OPTIONAL only, and none is in a BIND, bound() or a sub-select."""
    if _BARE_THIS.search(bare) or _BOUND.search(bare):
        return False
    selects = [m.start() for m in re.finditer(r"\bSELECT\b", bare, re.IGNORECASE)]
    groups: list[bool] = []  # for each open group: reached by pre-binding
    events = sorted(
        [(m.start(), m.group()) for m in re.finditer(r"[{}]", bare)]
        + [(m.start(), "$") for m in _PREBOUND.finditer(bare)]
    )
    for at, what in events:
        if what == "{":
            before = bare[:at].rstrip()
            headed = bool(re.search(r"\b(EXISTS|OPTIONAL|WHERE)$", before, re.IGNORECASE))
            groups.append((not groups or groups[-1]) and (headed or not groups))
        elif what == "}":
            if groups:
                groups.pop()
        elif groups and (not groups[-1] or len(selects) > 1 and at > selects[1]):
            return False
    return True


def substitute(text: str, values: dict[str, Term]) -> str:
    """``text`` with each pre-bound variable written as its value, as SHACL defines pre-binding
    (bound() of one is true; the outer projection keeps the variable, bound by a VALUES clause).

    >>> substitute("SELECT $this WHERE { $this <p> ?o . FILTER bound($this) }",
    ...            {"this": ox.NamedNode("http://e/x")})
    'SELECT $this WHERE { <http://e/x> <p> ?o . FILTER (true) } VALUES ?this { <http://e/x> }'
    """
    bare = _NOISE.sub(lambda m: " " * len(m.group()), text)
    kept: set[int] = set()
    for m in _PROJECTION.finditer(bare):
        depth = 0
        for i in range(m.start(1), m.end(1)):
            depth += {"(": 1, ")": -1}.get(bare[i], 0)
            if depth == 0 and _PREBOUND.match(bare, i):
                kept.add(i)
    edits = [(m.start(), m.end(), "(true)") for m in _BOUND.finditer(bare)]
    edits += [
        (m.start(), m.end(), str(values[m.group(1)]))
        for m in _PREBOUND.finditer(bare)
        if m.start() not in kept
        and m.group(1) in values
        and not any(a <= m.start() < b for a, b, _ in edits)
    ]
    out = text
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    projected = {bare[i + 1 : _prebound_end(bare, i)] for i in kept}
    for name in sorted(projected & values.keys()):
        out += f" VALUES ?{name} {{ {values[name]} }}"
    return out


def query_prefixes(g: rdflib.Graph, node: Node) -> dict[str, str]:
    """The prefixes of a SHACL-SPARQL query, as pySHACL collects them (SparqlQueryHelper
    .collect_prefixes): its sh:prefixes' declarations and those of the graph's ontologies."""
    prefixes = dict(QUERY_PREFIXES)
    declared = list(g.objects(node, SH.prefixes))
    if not declared:
        return prefixes
    ontologies = set(g.subjects(RDF.type, OWL.Ontology))
    everywhere = {d for o in ontologies for d in g.objects(o, SH.declare)}
    for holder in declared:
        own = set(g.objects(holder, SH.declare))
        declarations = own if own and holder in ontologies else own | everywhere
        for decl in declarations:
            prefixes[str(g.value(decl, SH.prefix))] = str(g.value(decl, SH.namespace))
    return prefixes


def _check_invalid(text: str) -> None:
    """pySHACL's checks of a SHACL-SPARQL query's text (raise as it would)."""
    helper = SPARQLQueryHelper.__new__(SPARQLQueryHelper)
    # pySHACL leaves check_invalid_sparql unannotated
    helper.check_invalid_sparql(text)  # type: ignore[no-untyped-call]


def _prebound_end(text: str, at: int) -> int:
    """Where the pre-bound variable found at ``at`` in ``text`` ends."""
    found = _PREBOUND.match(text, at)
    assert found is not None  # ``at`` is where _PREBOUND found one
    return found.end()


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
