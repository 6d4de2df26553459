"""Checking submissions against the published shapes, offline or inside the registry.

The same function gives the verdict in both places: ``fdi validate`` runs it on the submission
alone, with the rules that need the registry's other records switched off and listed as not
checked; the registry runs it with those rules on and the referenced records added to the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import SH

from registry.base import rdf
from registry.base.clock import today
from registry.base.resources import shapes_dir, ttl_files
from registry.base.vocab import FDI, RECORD_TYPES, REGISTRY_MADE_TYPES
from registry.shacl.deprecation import deprecations, rules_by_shape, uses
from registry.shacl.engine import Engine, compile_shapes
from registry.shacl.findings import (
    Finding,
    field_name,
    ill_typed_finding,
    report_findings,
    result_findings,
    stray_finding,
    value_text,
)
from registry.shacl.reach import readable_predicates
from registry.shacl.terms import Unsupported, rdf_term
from registry.submissions.formats import Parsed
from registry.submissions.normalise import normalise, respellings
from registry.submissions.records import Split, local_id, split_records

REQUIRES_REGISTRY = rdflib.URIRef(FDI.requiresRegistryData.value)


@dataclass
class Report:
    """The verdict on one or more submissions."""

    findings: list[Finding] = field(default_factory=list)
    not_checked: list[dict[str, str]] = field(default_factory=list)
    records: int = 0
    sources: list[str] = field(default_factory=list)
    # Offline only: records the registry makes itself (checked, but not accepted if submitted)
    # and the values it stores spelled otherwise than given.
    made_by_registry: list[dict[str, str]] = field(default_factory=list)
    respelled: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "records": self.records,
            "sources": self.sources,
            "violations": len(self.violations),
            "warnings": len(self.warnings),
            "findings": [f.as_dict() for f in self.findings],
            "notChecked": self.not_checked,
            "madeByRegistry": self.made_by_registry,
            "respelled": self.respelled,
        }


@dataclass
class Shapes:
    """A loaded set of shapes: all rules, and the offline subset.

    ``engine`` is ``compiled`` (registry.shacl.engine, checked against pySHACL's verdicts by
    the tests) or ``pyshacl`` (the reference engine; settings.validator chooses).
    """

    graph: rdflib.Graph
    offline: rdflib.Graph
    registry_rules: list[dict[str, str]]
    source: str
    engine: str = "compiled"
    _compiled: dict[bool, Engine | None] = field(default_factory=dict, repr=False, compare=False)
    _reach: list[frozenset[str] | None] = field(default_factory=list, repr=False, compare=False)

    def related_predicates(self) -> frozenset[str] | None:
        """The properties the rules may read of stored records that are not being validated
        (registry.shacl.reach; None: any)."""
        if not self._reach:
            self._reach.append(readable_predicates(self.graph))
        return self._reach[0]

    def compiled(self, offline: bool) -> Engine | None:
        """The compiled shapes (None: the shapes need pySHACL, or pySHACL was chosen)."""
        if self.engine != "compiled":
            return None
        if offline not in self._compiled:
            self._compiled[offline] = compile_shapes(self.offline if offline else self.graph)
        return self._compiled[offline]


@lru_cache(maxsize=4)
def load_shapes(directory: Path | None = None) -> Shapes:
    """Load every ``*.ttl`` in ``directory``, or the one Turtle file it names (default: the
    bundled shapes)."""
    directory = directory or shapes_dir()
    graph = rdflib.Graph()
    for path in [directory] if directory.is_file() else ttl_files(directory):
        graph.parse(path, format="turtle")
    return shapes_of(graph, str(directory))


def shapes_of(graph: rdflib.Graph, source: str) -> Shapes:
    """A shapes graph as :class:`Shapes` (a rules version's, ``registry.rules.rules``)."""
    offline = rdflib.Graph()
    for triple in graph:
        offline.add(triple)
    registry_rules = []
    required = graph.subjects(REQUIRES_REGISTRY, rdflib.Literal(True))
    # a graph's subjects are IRIs and blank nodes, which sort
    for shape in sorted({s for s in required if isinstance(s, rdflib.term.IdentifiedNode)}):
        offline.add((shape, SH.deactivated, rdflib.Literal(True)))
        registry_rules.append(
            {
                "shape": str(shape),
                "name": str(graph.value(shape, SH.name) or shape),
                "description": str(graph.value(shape, SH.description) or ""),
            }
        )
    return Shapes(graph, offline, registry_rules, source)


def check(
    parsed: Parsed,
    shapes: Shapes,
    *,
    related: Callable[[list[ox.Triple]], list[ox.Triple]] | None = None,
    registry_made: bool = False,
    on: dt.date | None = None,
) -> tuple[Report, list[ox.Triple], Split]:
    """Normalise and validate one parsed submission, judging deprecated terms and rules as on
    the day ``on`` (default: today, UTC).

    Offline (``related`` is None) the registry-only rules are listed as not checked. Inside the
    registry, ``related`` gives the stored records the rules need, and every rule runs.
    ``registry_made`` (``fdi validate``) also takes the records the registry makes itself as
    records, noting them in the report. Returns the report, the normalised triples and the
    records they split into.
    """
    triples, ill_typed = normalise(parsed.triples)
    registry_data = related(triples) if related else None
    types = RECORD_TYPES | REGISTRY_MADE_TYPES if registry_made else RECORD_TYPES
    split = split_records(triples, parsed.origins, types)
    labels = _labels(split)
    report = Report(records=len(split.records), sources=[parsed.source])
    report.findings.extend(ill_typed_finding(p, labels, parsed.format) for p in ill_typed)
    report.findings.extend(stray_finding(s, labels) for s in split.strays)
    # The triples as parsed (lexical forms as submitted: a store would canonicalise them).
    everything = triples + registry_data if registry_data else triples
    offline = related is None
    focus = None if offline else _focus_nodes(split)
    findings = _validate(everything, shapes, offline, focus, labels, parsed.format)
    findings = _deprecated(findings, triples, shapes, labels, parsed.format, on or today())
    # Stored records are in the data only as context for cross-record rules: judge only ours.
    report.findings.extend(f for f in findings if offline or f.record in _origins(split))
    report.findings.sort(key=lambda f: (f.record, f.field or "", f.rule))
    if offline:
        report.not_checked = list(shapes.registry_rules)
        report.respelled = [
            {
                "record": labels.get(str(r.subject), local_id(r.subject)),
                "field": field_name(r.predicate.value, parsed.format),
                "given": r.given,
                "stored": r.stored,
            }
            for r in respellings(parsed.triples)
        ]
    report.made_by_registry = [
        {"record": record.origin, "type": record.kind}
        for record in split.records
        if record.type in REGISTRY_MADE_TYPES
    ]
    return report, triples, split


def _deprecated(
    findings: list[Finding],
    triples: list[ox.Triple],
    shapes: Shapes,
    labels: dict[str, str],
    fmt: str,
    on: dt.date,
) -> list[Finding]:
    """A deprecated rule's findings at the severity its sunset gives on ``on``, and a finding
    per use of a deprecated term (registry/shacl/deprecation.py)."""
    known = deprecations(shapes.graph)
    if not known:
        return findings
    rules = rules_by_shape(known)
    out = []
    for f in findings:
        rule = rules.get(f.shape or "")
        if rule is not None:
            f = replace(f, severity=rule.severity(on), message=f"{f.message} ({rule.advice(on)})")
        out.append(f)
    for t, _term, found in uses(triples, known):
        out.append(
            Finding(
                record=labels.get(str(t.subject), local_id(rdf.node(t.subject))),
                field=field_name(t.predicate.value, fmt),
                value=value_text(t.object),  # the value given (or the deprecated value)
                message=found.advice(on),
                rule="No deprecated terms",
                description="A deprecated term is accepted with a warning until its sunset "
                "date and refused from it.",
                severity=found.severity(on),
                focus=local_id(rdf.node(t.subject)),
                path=t.predicate.value,
                constraint="DeprecatedTermConstraint",
                shape=None,
            )
        )
    return out


def _validate(
    everything: list[ox.Triple],
    shapes: Shapes,
    offline: bool,
    focus: list[ox.NamedNode] | None,
    labels: dict[str, str],
    fmt: str,
) -> list[Finding]:
    """The findings of the compiled engine, or of pySHACL on rdflib where the engine hands the
    shapes (or, at run time, a query it cannot pre-bind) back."""
    engine = shapes.compiled(offline)
    if engine is not None:
        data = _store_of(everything)
        # Unlike pySHACL's focus_nodes, nested shapes (capacities) are checked too.
        try:
            results = engine.validate(data, focus, triples=everything)
        except Unsupported:
            pass
        else:
            return result_findings(results, shapes.graph, labels, fmt)
    nodes: list[rdflib.term.Node] | None = (
        None if focus is None else [rdflib.URIRef(f.value) for f in focus]
    )
    report = reference_report(everything, shapes.offline if offline else shapes.graph, nodes)
    return report_findings(report, shapes.graph, labels, fmt)


def _store_of(triples: list[ox.Triple]) -> ox.Store:
    """An in-memory store holding ``triples`` (the data SHACL-SPARQL rules run on)."""
    store = ox.Store()
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    if b"_:" in text:  # loading text would rename blank nodes (or a literal has "_:" in it)
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    else:  # parsing the text in Rust costs half of making a Python object per quad
        store.load(text, format=ox.RdfFormat.N_TRIPLES)
    return store


def shape_findings(triples: list[ox.Triple], shapes: Shapes, fmt: str = "json") -> list[Finding]:
    """Every finding of ``shapes`` (all rules on) on the triples, as parsed or stored: the
    compiled engine's, or pySHACL on rdflib's where the engine hands the shapes back."""
    return _validate(triples, shapes, False, None, {}, fmt)


def reference_report(
    triples: list[ox.Triple], shapes_graph: rdflib.Graph, focus: list[rdflib.term.Node] | None
) -> rdflib.Graph:
    """pySHACL's report on the triples, run on an rdflib Graph (its own substrate: on an
    Oxigraph store it mismatches plain strings, docs/facts.md, fact 18)."""
    data = rdflib.Graph()
    for prefix, namespace in shapes_graph.namespaces():  # queries may lean on the shapes' own
        data.bind(prefix, namespace, override=False)
    for t in triples:
        data.add((rdf_term(t.subject), rdf_term(t.predicate), rdf_term(t.object)))
    options: dict[str, Any] = {"focus_nodes": focus} if focus else {}
    _, results, _ = shacl_validate(
        data,
        shacl_graph=shapes_graph,
        inference="none",
        advanced=False,
        allow_warnings=True,
        **options,
    )
    # pySHACL leaves validate's answer unannotated: the report graph, or the ValidationFailure
    # itself when a SPARQL constraint fails (returned as ever; report_verdict in the tests
    # reads it, report_findings does not)
    report: rdflib.Graph = results
    return report


def _focus_nodes(split: Split) -> list[ox.NamedNode] | None:
    """The submitted records and their named parts as focus nodes (None: validate every
    target). A part may be a target of its own (a catalogue's datasets and services)."""
    subjects = [r.subject for r in split.records]
    named = [s for s in subjects if isinstance(s, ox.NamedNode)]
    if not subjects or len(named) < len(subjects):
        return None
    parts = [c for r in split.records for c in r.children if isinstance(c, ox.NamedNode)]
    return named + parts


def _origins(split: Split) -> set[str]:
    return {r.origin for r in split.records}


def _labels(split: Split) -> dict[str, str]:
    """Map every node (as N-Triples text) to the label of the record it belongs to."""
    labels: dict[str, str] = {}
    for record in split.records:
        labels[str(record.subject)] = record.origin
        for child in record.children:
            labels[str(child)] = record.origin
    return labels


def parse_and_check(
    parsed: Parsed, shapes: Shapes | None = None, on: dt.date | None = None
) -> Report:
    """Offline check of one parsed submission (what ``fdi validate`` does per file), judging
    deprecations as on the day ``on`` (default: today)."""
    report, _, _ = check(parsed, shapes or load_shapes(), registry_made=True, on=on)
    return report
