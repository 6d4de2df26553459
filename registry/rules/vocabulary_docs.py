"""The vocabulary and the rules as documentation (the released versions are in
registry.rules.releases).

Each term of the ontology (class, property, concept, individual) is described by its label,
definition, the rules (shapes) that mention it and an example taken from the shape fixtures
(``tests/fixtures/shapes``, shipped in the wheel as ``registry/fixtures/shapes``); each rule by
its name, description, message, severity, what it constrains and the fixtures that exercise it.
``api/`` renders these as the HTML of ``/ns`` and ``/shapes``; the RDF is the files themselves.

>>> docs = vocabulary(None, "0.1.0")  # the packaged version; a registry also has adopted ones
>>> asset = next(t for t in docs.terms if t.curie == "fdi:FlexibleAsset")
>>> asset.label, asset.kind, "fdish:AssetShape" in [r.curie for r in asset.rules]
('Flexible asset', 'Class', True)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import NotFound
from registry.base.resources import fixtures_dir, ttl_files
from registry.base.vocab import DCT, FDI, OWL, RDF, RDFS, SH, SKOS, XSD, curie
from registry.rules.releases import Release, ontology_triples, parsed, release

if TYPE_CHECKING:
    from registry.kernel.core import Registry

KINDS = {  # the first of a term's types found here names its kind
    OWL.Class.value: "Class",
    OWL.ObjectProperty.value: "Object property",
    OWL.DatatypeProperty.value: "Datatype property",
    OWL.AnnotationProperty.value: "Annotation property",
    RDF.Property.value: "Property",
    SKOS.ConceptScheme.value: "Concept scheme",
    SKOS.Concept.value: "Concept",
}
SHAPE_TYPES = {SH.NodeShape.value, SH.PropertyShape.value}


def term_triples(registry: Registry | None, version: str, iri: str) -> list[ox.Triple]:
    """What a released version's ontology says about one term (with the blank nodes it uses).
    Raises NotFound."""
    triples = ontology_triples(registry, version)
    graph = Graph(triples)
    subject = ox.NamedNode(iri)
    if subject not in graph.out:
        raise NotFound(f"version {version} does not define {iri}")
    out: list[ox.Triple] = []
    todo: list[ox.NamedNode | ox.BlankNode] = [subject]
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    while todo:
        node = todo.pop()
        seen.add(node)
        for predicate, o in graph.out.get(node, []):
            out.append(ox.Triple(node, ox.NamedNode(predicate), o))
            if isinstance(o, ox.BlankNode) and o not in seen:
                todo.append(o)
    return out


def anchor(iri: str) -> str:
    """The fragment a term's section has on its page (the IRI's local name; for a namespace
    IRI such as the technology scheme's, its last path segment).

    >>> anchor("https://w3id.org/fdi/ns#FlexibleAsset"), anchor("https://w3id.org/fdi/technology/")
    ('FlexibleAsset', 'technology')
    """
    return iri.rstrip("#/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class Graph:
    """A small graph indexed by subject: enough to describe terms and shapes."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self.out: dict[rdf.Term, list[tuple[str, rdf.Term]]] = defaultdict(list)
        for t in triples:
            self.out[t.subject].append((t.predicate.value, t.object))

    def values(self, subject: rdf.Term, predicate: ox.NamedNode) -> list[rdf.Term]:
        return [o for p, o in self.out.get(subject, []) if p == predicate.value]

    def text(self, subject: rdf.Term, *predicates: ox.NamedNode) -> str | None:
        for predicate in predicates:
            found = self.values(subject, predicate)
            english = [o for o in found if isinstance(o, ox.Literal) and o.language == "en"]
            for o in english or found:
                return rdf.value(o)
        return None

    def mentions(self, subject: rdf.Term, depth: int = 0) -> set[str]:
        """The IRIs a subject's description names, through blank nodes (lists, capacities)."""
        found: set[str] = set()
        for _, o in self.out.get(subject, []):
            if isinstance(o, ox.NamedNode):
                found.add(o.value)
            elif isinstance(o, ox.BlankNode) and depth < 20:
                found |= self.mentions(o, depth + 1)
        return found

    def named_subjects(self) -> list[ox.NamedNode]:
        return sorted((s for s in self.out if isinstance(s, ox.NamedNode)), key=lambda s: s.value)


@dataclass
class Deprecation:
    """A term or rule on its way out: what replaces it and the day it stops being accepted."""

    replaced_by: list[str]
    sunset: str | None


@dataclass
class RuleRef:
    iri: str
    curie: str
    anchor: str
    name: str
    message: str | None


@dataclass
class Rule:
    iri: str
    curie: str
    anchor: str
    name: str
    description: str | None
    message: str | None
    severity: str
    constrains: list[str]
    invalid_fixtures: list[str]
    deprecation: Deprecation | None


@dataclass
class Term:
    iri: str
    curie: str
    anchor: str
    kind: str
    label: str
    definition: str | None
    facts: list[tuple[str, list[str]]]
    rules: list[RuleRef] = field(default_factory=list)
    example: tuple[str, str] | None = None  # (fixture name, its Turtle)
    deprecation: Deprecation | None = None


@dataclass
class Vocabulary:
    version: str
    title: str | None
    description: str | None
    terms: list[Term]
    rules: list[Rule]


def deprecation(graph: Graph, subject: rdf.Term) -> Deprecation | None:
    """The term's deprecation (``owl:deprecated true``), with ``dcterms:isReplacedBy`` and
    ``fdi:sunset``, if it is deprecated."""
    flags = graph.values(subject, OWL.deprecated)
    if not any(isinstance(f, ox.Literal) and f.value in ("true", "1") for f in flags):
        return None
    replaced = [rdf.value(o) for o in graph.values(subject, DCT.isReplacedBy)]
    sunset = next((rdf.value(o) for o in graph.values(subject, FDI.sunset)), None)
    return Deprecation(replaced, sunset)


def vocabulary(registry: Registry | None, version: str) -> Vocabulary:
    """The documentation of a released version's terms and rules. Raises NotFound."""
    return _vocabulary(release(registry, version))


@lru_cache(maxsize=8)
def _vocabulary(found: Release) -> Vocabulary:
    version = found.version
    ontology = Graph([t for text in found.ontology_texts() for t in parsed(text)])
    shapes = Graph([t for text in found.shapes_texts().values() for t in parsed(text)])
    rules = [_rule(shapes, s) for s in shapes.named_subjects() if _is_shape(shapes, s)]
    by_term: dict[str, list[RuleRef]] = defaultdict(list)
    for s in shapes.named_subjects():
        if _is_shape(shapes, s):
            for iri in shapes.mentions(s):
                by_term[iri].append(_ref(shapes, s))
    examples = _fixtures("valid")
    terms = [
        _term(ontology, s, by_term.get(s.value, []), examples)
        for s in ontology.named_subjects()
        if ontology.text(s, RDFS.label, SKOS.prefLabel)
        and ontology.values(s, RDF.type) != [OWL.Ontology]
    ]
    header = next(
        (s for s in ontology.named_subjects() if OWL.Ontology in ontology.values(s, RDF.type)), None
    )
    return Vocabulary(
        version,
        ontology.text(header, DCT.title) if header else None,
        ontology.text(header, DCT.description) if header else None,
        terms,
        rules,
    )


def _ref(graph: Graph, shape: ox.NamedNode) -> RuleRef:
    message = graph.text(shape, SH.message)
    return RuleRef(
        shape.value, curie(shape.value), anchor(shape.value), _name(graph, shape), message
    )


def _is_shape(graph: Graph, subject: rdf.Term) -> bool:
    return any(rdf.value(t) in SHAPE_TYPES for t in graph.values(subject, RDF.type))


def _name(graph: Graph, subject: ox.NamedNode) -> str:
    return graph.text(subject, SH.name, RDFS.label) or curie(subject.value)


def _term(
    graph: Graph, subject: ox.NamedNode, rules: list[RuleRef], examples: dict[str, str]
) -> Term:
    types = [rdf.value(t) for t in graph.values(subject, RDF.type)]
    kind = next((KINDS[t] for t in KINDS if t in types), "Individual")
    facts = []
    for label, predicate in (
        ("Type", RDF.type),
        ("Subclass of", RDFS.subClassOf),
        ("Subproperty of", RDFS.subPropertyOf),
        ("Domain", RDFS.domain),
        ("Range", RDFS.range),
        ("In scheme", SKOS.inScheme),
    ):
        shown = [o.value for o in graph.values(subject, predicate) if isinstance(o, ox.NamedNode)]
        if shown:
            facts.append((label, shown))
    example = next(((n, text) for n, text in examples.items() if _uses(text, subject.value)), None)
    example = example or _generated(graph, subject, kind)
    return Term(
        iri=subject.value,
        curie=curie(subject.value),
        anchor=anchor(subject.value),
        kind=kind,
        label=graph.text(subject, RDFS.label, SKOS.prefLabel) or curie(subject.value),
        definition=graph.text(subject, RDFS.comment, SKOS.definition),
        facts=facts,
        rules=sorted(rules, key=lambda r: r.curie),
        example=example,
        deprecation=deprecation(graph, subject),
    )


def _rule(graph: Graph, subject: ox.NamedNode) -> Rule:
    severity = next((rdf.value(o) for o in graph.values(subject, SH.severity)), SH.Violation.value)
    constrains = sorted(
        o.value
        for predicate in (SH.targetClass, SH.path)
        for o in graph.values(subject, predicate)
        if isinstance(o, ox.NamedNode)
    )
    short = curie(subject.value)
    invalid = sorted(n for n, text in _fixtures("invalid").items() if _expects(text, short))
    return Rule(
        iri=subject.value,
        curie=short,
        anchor=anchor(subject.value),
        name=_name(graph, subject),
        description=graph.text(subject, SH.description),
        message=graph.text(subject, SH.message),
        severity=severity.rsplit("#", 1)[-1],
        constrains=constrains,
        invalid_fixtures=invalid,
        deprecation=deprecation(graph, subject),
    )


SAMPLES = {  # a value of each datatype, for generated examples
    XSD.date.value: '"2026-12-07"^^xsd:date',
    XSD.dateTime.value: '"2026-12-07T10:00:00Z"^^xsd:dateTime',
    XSD.boolean.value: "true",
    XSD.decimal.value: "5.0",
    XSD.integer.value: "1",
    XSD.nonNegativeInteger.value: '"1"^^xsd:nonNegativeInteger',
    XSD.anyURI.value: '"https://example.org/"^^xsd:anyURI',
}


def _generated(graph: Graph, subject: ox.NamedNode, kind: str) -> tuple[str, str] | None:
    """A minimal example for a class or property no fixture uses (labelled as generated)."""
    name = curie(subject.value)
    if kind == "Class":
        body = f"<#example> a {name} ."
    elif kind == "Datatype property":
        ranges = [rdf.value(r) for r in graph.values(subject, RDFS.range)]
        value = next((SAMPLES[r] for r in ranges if r in SAMPLES), '"text"')
        body = f"<#example> {name} {value} ."
    elif kind == "Object property":
        body = f"<#example> {name} <#other> ."
    else:
        return None
    prefixes = f"@prefix fdi: <{FDI.iri}> .\n@prefix xsd: <{XSD.iri}> .\n\n"
    return ("generated (no shape fixture uses this term)", prefixes + body + "\n")


@cache
def _fixtures(kind: str) -> dict[str, str]:
    """The shape fixtures of one kind (``valid`` or ``invalid``), by file name."""
    directory = fixtures_dir() / kind
    if not directory.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in ttl_files(directory)}


def _uses(turtle: str, iri: str) -> bool:
    local = curie(iri)
    return f"<{iri}>" in turtle or any(
        f"{local}{end}" in turtle for end in (" ", ";", ",", ".", "\n", ")")
    )


def _expects(turtle: str, shape_curie: str) -> bool:
    """Whether a fixture's ``# expect: focus | path | component | shape [| severity]`` lines
    name the shape (tests/test_shapes.py reads the same lines)."""
    for line in turtle.splitlines():
        if line.startswith("# expect:"):
            fields = [f.strip() for f in line.split(" | ")]
            if len(fields) > 3 and fields[3] == shape_curie:
                return True
    return False


def fixture(kind: str, name: str) -> str:
    """One shape fixture's Turtle. Raises NotFound."""
    found = _fixtures(kind).get(name)
    if found is None:
        raise NotFound(f"no {kind} fixture {name}")
    return found
