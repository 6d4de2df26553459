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

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import SH

from registry.base.resources import shapes_dir, ttl_files
from registry.base.vocab import FDI, RDF, RECORD_TYPES, REGISTRY_MADE_TYPES
from registry.shacl.deprecation import deprecations, rules_by_shape, uses
from registry.shacl.engine import Engine, compile_shapes
from registry.shacl.shapes import Result
from registry.shacl.terms import Unsupported, rdf_term
from registry.submissions.formats import Parsed
from registry.submissions.normalise import IllTyped, normalise, respellings
from registry.submissions.records import Node, Split, local_id, split_records

REQUIRES_REGISTRY = rdflib.URIRef(FDI.requiresRegistryData.value)


@dataclass
class Finding:
    """One thing wrong (or worth a look) in a submission, in a provider's terms."""

    record: str
    field: str | None
    value: str | None
    message: str
    rule: str
    description: str
    severity: str
    focus: str
    path: str | None
    constraint: str
    shape: str | None

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


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
    for shape in sorted(set(graph.subjects(REQUIRES_REGISTRY, rdflib.Literal(True)))):
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
    report.findings.extend(_ill_typed_finding(p, labels, parsed.format) for p in ill_typed)
    report.findings.extend(_stray_finding(s, labels) for s in split.strays)
    # The triples as parsed (lexical forms as submitted: a store would canonicalise them).
    everything = triples + registry_data if registry_data else triples
    offline = related is None
    focus = None if offline else _focus_nodes(split)
    findings = _validate(everything, shapes, offline, focus, labels, parsed.format)
    findings = _deprecated(findings, triples, shapes, labels, parsed.format, on or _today())
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
                record=labels.get(str(t.subject), local_id(t.subject)),
                field=field_name(t.predicate.value, fmt),
                value=_text(t.object),  # the value given (or the deprecated value)
                message=found.advice(on),
                rule="No deprecated terms",
                description="A deprecated term is accepted with a warning until its sunset "
                "date and refused from it.",
                severity=found.severity(on),
                focus=local_id(t.subject),
                path=t.predicate.value,
                constraint="DeprecatedTermConstraint",
                shape=None,
            )
        )
    return out


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _validate(
    everything: list[ox.Triple],
    shapes: Shapes,
    offline: bool,
    focus: list[rdflib.term.Node] | None,
    labels: dict[str, str],
    fmt: str,
) -> list[Finding]:
    """The findings of the compiled engine, or of pySHACL on rdflib where the engine hands the
    shapes (or, at run time, a query it cannot pre-bind) back."""
    engine = shapes.compiled(offline)
    if engine is not None:
        data = ox.Store()
        data.extend(ox.Quad(t.subject, t.predicate, t.object) for t in everything)
        # Unlike pySHACL's focus_nodes, nested shapes (capacities) are checked too.
        targets = None if focus is None else [ox.NamedNode(str(f)) for f in focus]
        try:
            results = engine.validate(data, targets, triples=everything)
        except Unsupported:
            pass
        else:
            return _result_findings(results, shapes.graph, labels, fmt)
    report = reference_report(everything, shapes.offline if offline else shapes.graph, focus)
    return _findings(report, shapes.graph, labels, fmt)


def shape_findings(triples: list[ox.Triple], shapes: Shapes, fmt: str = "json") -> list[Finding]:
    """Every finding of ``shapes`` (all rules on) on the triples, as parsed or stored: the
    compiled engine's, or pySHACL on rdflib's where the engine hands the shapes back."""
    return _validate(triples, shapes, False, None, {}, fmt)


def reference_report(
    triples: list[ox.Triple], shapes_graph: rdflib.Graph, focus: list[rdflib.term.Node] | None
) -> rdflib.Graph:
    """pySHACL's report on the triples, run on an rdflib Graph (its own substrate: on an
    Oxigraph store it mismatches plain strings, DESIGN.md fact 18)."""
    data = rdflib.Graph()
    for prefix, namespace in shapes_graph.namespaces():  # queries may lean on the shapes' own
        data.bind(prefix, namespace, override=False)
    for t in triples:
        data.add((rdf_term(t.subject), rdf_term(t.predicate), rdf_term(t.object)))
    options = {"focus_nodes": focus} if focus else {}
    _, results, _ = shacl_validate(
        data,
        shacl_graph=shapes_graph,
        inference="none",
        advanced=False,
        allow_warnings=True,
        **options,
    )
    return results


def _focus_nodes(split: Split) -> list[rdflib.term.Node] | None:
    """The submitted records and their named parts as focus nodes (None: validate every
    target). A part may be a target of its own (a catalogue's datasets and services)."""
    subjects = [r.subject for r in split.records]
    if not subjects or any(isinstance(s, ox.BlankNode) for s in subjects):
        return None
    parts = [c for r in split.records for c in r.children if isinstance(c, ox.NamedNode)]
    return [rdflib.URIRef(s.value) for s in subjects + parts]


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


def _nt(term: rdflib.term.Node) -> str:
    return term.n3()


def _findings(
    results: rdflib.Graph, shapes: rdflib.Graph, labels: dict[str, str], fmt: str
) -> list[Finding]:
    out = []
    for result in results.subjects(RDF_TYPE, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        constraint = results.value(result, SH.sourceConstraintComponent)
        severity = results.value(result, SH.resultSeverity)
        message = results.value(result, SH.resultMessage)
        source_constraint = results.value(result, SH.sourceConstraint)
        named = source_constraint if source_constraint is not None else shape
        name = shapes.value(named, SH.name) or shapes.value(shape, SH.name)
        description = shapes.value(named, SH.description) or shapes.value(shape, SH.description)
        out.append(
            Finding(
                record=labels.get(_nt(focus), _display(focus)),
                field=field_name(str(path), fmt) if isinstance(path, rdflib.URIRef) else None,
                value=None if value is None else str(value),
                message=str(message or name or "does not conform"),
                rule=str(name or _display(shape)),
                description=str(description or ""),
                severity=str(severity).rsplit("#", 1)[-1],
                focus=_display(focus),
                path=str(path) if isinstance(path, rdflib.URIRef) else None,
                constraint=str(constraint).rsplit("#", 1)[-1],
                shape=_display(shape) if shape is not None else None,
            )
        )
    return out


RDF_TYPE = rdflib.URIRef(RDF.type.value)


def _result_findings(
    results: list[Result], shapes: rdflib.Graph, labels: dict[str, str], fmt: str
) -> list[Finding]:
    """Findings from the compiled engine's results, exactly as :func:`_findings` reads pySHACL's."""
    out = []
    for r in results:
        named = r.source_constraint if r.source_constraint is not None else r.shape
        name = shapes.value(named, SH.name) or shapes.value(r.shape, SH.name)
        description = shapes.value(named, SH.description) or shapes.value(r.shape, SH.description)
        path = r.path if isinstance(r.path, rdflib.URIRef) else None
        out.append(
            Finding(
                record=labels.get(str(r.focus), _display_term(r.focus)),
                field=field_name(str(path), fmt) if path is not None else None,
                value=None if r.value is None else _text(r.value),
                message=r.messages[0] if r.messages else str(name or "does not conform"),
                rule=str(name or _display(r.shape)),
                description=str(description or ""),
                severity=r.severity,
                focus=_display_term(r.focus),
                path=str(path) if path is not None else None,
                constraint=r.component,
                shape=_display(r.shape),
            )
        )
    return out


def _text(term: ox.Term) -> str:
    return term.value if isinstance(term, (ox.NamedNode, ox.Literal, ox.BlankNode)) else str(term)


def _display_term(term: ox.Term) -> str:
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return _display(rdflib.URIRef(term.value) if isinstance(term, ox.NamedNode) else term.value)


def _display(term: object) -> str:
    if isinstance(term, rdflib.BNode):
        return "_:" + str(term)
    text = str(term)
    return local_id(ox.NamedNode(text)) if text.startswith("http") else text


def _ill_typed_finding(problem: IllTyped, labels: dict[str, str], fmt: str) -> Finding:
    key = str(problem.subject)
    return Finding(
        record=labels.get(key, local_id(problem.subject)),
        field=field_name(problem.predicate.value, fmt),
        value=problem.value,
        message=f"{problem.value!r} is not {problem.expected}; write it as {problem.expected}",
        rule="Well-formed value",
        description="Every typed value must be written in its datatype's lexical form.",
        severity="Violation",
        focus=local_id(problem.subject),
        path=problem.predicate.value,
        constraint="DatatypeConstraintComponent",
        shape=None,
    )


def _stray_finding(subject: Node, labels: dict[str, str]) -> Finding:
    return Finding(
        record=local_id(subject),
        field=None,
        value=None,
        message=(
            f"{local_id(subject)} is not part of any record: give it a type "
            "(FlexibleAsset, RightToOperate, Organisation, SchemeLicence or "
            "DataSharingAgreement) or link it from one"
        ),
        rule="Every statement belongs to a record",
        description="The registry stores records; data outside a record would be lost.",
        severity="Violation",
        focus=local_id(subject),
        path=None,
        constraint="RecordTypeConstraint",
        shape=None,
    )


def field_name(path: str, fmt: str) -> str:
    """The name a provider used for a property: the CSV column or the JSON key."""
    from registry.submissions.csvformat import FIELD_OF_PROPERTY
    from registry.submissions.formats import registry_context

    if fmt == "csv" and path in FIELD_OF_PROPERTY:
        return FIELD_OF_PROPERTY[path]
    return _json_keys().get(path) or _compact(path, registry_context())


@lru_cache(maxsize=1)
def _json_keys() -> dict[str, str]:
    from registry.submissions.formats import registry_context

    ctx = registry_context()
    keys: dict[str, str] = {}
    for key, definition in ctx.items():
        if key.startswith("@"):
            continue
        target = definition.get("@id") if isinstance(definition, dict) else definition
        if not isinstance(target, str) or ":" not in target:
            continue
        keys.setdefault(_expand(target, ctx), key)
    return keys


def _expand(curie: str, ctx: dict[str, object]) -> str:
    prefix, _, rest = curie.partition(":")
    base = ctx.get(prefix)
    return base + rest if isinstance(base, str) and not rest.startswith("//") else curie


def _compact(iri: str, ctx: dict[str, object]) -> str:
    for prefix, ns in ctx.items():
        if (
            isinstance(ns, str)
            and not prefix.startswith("@")
            and iri.startswith(ns)
            and ns[-1] in "#/"
        ):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def parse_and_check(
    parsed: Parsed, shapes: Shapes | None = None, on: dt.date | None = None
) -> Report:
    """Offline check of one parsed submission (what ``fdi validate`` does per file), judging
    deprecations as on the day ``on`` (default: today)."""
    report, _, _ = check(parsed, shapes or load_shapes(), registry_made=True, on=on)
    return report
