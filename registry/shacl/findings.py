"""Findings: validation results in a provider's terms (the record's label, the CSV column or
JSON key, the rule's name and description), from pySHACL's report or the compiled engine's
results (registry.shacl.validation)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox
import rdflib
from rdflib.namespace import SH

from registry.base import rdf
from registry.base.rdf import Term
from registry.base.vocab import RDF
from registry.shacl.shapes import Result
from registry.submissions.csvformat import FIELD_OF_PROPERTY
from registry.submissions.formats import registry_context
from registry.submissions.normalise import IllTyped
from registry.submissions.records import Node, local_id


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


def _nt(term: rdflib.term.Node) -> str:
    return term.n3()


def report_findings(
    results: rdflib.Graph, shapes: rdflib.Graph, labels: dict[str, str], fmt: str
) -> list[Finding]:
    out = []
    for result in results.subjects(RDF_TYPE, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        assert focus is not None  # every validation result has a focus node
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


def result_findings(
    results: list[Result], shapes: rdflib.Graph, labels: dict[str, str], fmt: str
) -> list[Finding]:
    """Findings from the compiled engine's results, exactly as :func:`report_findings` reads
    pySHACL's."""
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
                value=None if r.value is None else value_text(r.value),
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


def value_text(term: Term) -> str:
    return term.value if isinstance(term, (ox.NamedNode, ox.Literal, ox.BlankNode)) else str(term)


def _display_term(term: Term) -> str:
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return _display(
        rdflib.URIRef(term.value) if isinstance(term, ox.NamedNode) else rdf.value(term)
    )


def _display(term: object) -> str:
    if isinstance(term, rdflib.BNode):
        return "_:" + str(term)
    text = str(term)
    return local_id(ox.NamedNode(text)) if text.startswith("http") else text


def ill_typed_finding(problem: IllTyped, labels: dict[str, str], fmt: str) -> Finding:
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


def stray_finding(subject: Node, labels: dict[str, str]) -> Finding:
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
    if fmt == "csv" and path in FIELD_OF_PROPERTY:
        return FIELD_OF_PROPERTY[path]
    return _json_keys().get(path) or _compact(path, registry_context())


@lru_cache(maxsize=1)
def _json_keys() -> dict[str, str]:
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
