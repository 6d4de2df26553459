"""The checks on a proposal's documents before it is stored (see registry.rules.proposals):
Turtle, SHACL for SHACL, labels and definitions, namespaces, ownership, no new SPARQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS
from rdflib.term import Node

from registry.base.errors import (
    ProposalRefused,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import FDI
from registry.rules import rules

if TYPE_CHECKING:
    from registry.kernel.core import Registry

STANDARDS_BODY = FDI.StandardsBody.value
MARKET_ROLES = frozenset(
    {
        FDI.MarketOperator.value,
        FDI.DistributionSystemOperator.value,
        FDI.TransmissionSystemOperator.value,
    }
)
FDI_SPACE = "https://w3id.org/fdi/"
MARKET_SPACE = "https://w3id.org/fdi/shapes/market/"
LABELS = (RDFS.label, SKOS.prefLabel, SH.name)
DEFINITIONS = (SKOS.definition, RDFS.comment, SH.description)


def check(
    registry: Registry, principal: Principal, base: rules.RulesVersion, docs: dict[str, Any]
) -> None:
    """The checks on a proposal's documents. Raises UnusableInput (a name or text that is no
    document) or ProposalRefused with every problem found."""
    problems: list[dict[str, str]] = []
    graphs: dict[str, rdflib.Graph] = {}
    for name, turtle in docs.items():
        if not rules.DOCUMENT_NAME.match(name):
            raise UnusableInput(
                f"{name!r} is not a document name: ontology/NAME, shapes/NAME or "
                "shapes/market/SLUG (lower case letters, digits and hyphens)"
            )
        if not isinstance(turtle, str):
            raise UnusableInput(f"{name}: the document must be Turtle text")
        try:
            graphs[name] = rdflib.Graph().parse(data=turtle, format="turtle")
        except Exception as e:  # rdflib raises many kinds
            raise UnusableInput(f"{name} is not well-formed Turtle: {e}") from None
        problems += _ownership(registry, principal, base, name)
    if problems:
        raise ProposalRefused(_say(problems), problems=problems)
    if all(name in base.names and base.text(name) == docs[name] for name in docs):
        raise UnusableInput("every document is as in the latest version: nothing would change")
    before = _subjects(base)
    old = rdflib.Graph()
    for text_ in dict(base.documents).values():
        old.parse(data=text_, format="turtle")
    for name, graph in graphs.items():
        mine = _namespaces(name)
        problems += _terms(name, graph, before, old, mine)
        problems += _new_queries(name, graph, old)
    shapes = rdflib.Graph()
    for name, graph in graphs.items():
        if name.startswith("shapes/"):
            shapes += graph
    if len(shapes):
        problems += _shacl_for_shacl(shapes)
    if problems:
        raise ProposalRefused(_say(problems), problems=problems)


# SHACL-SPARQL and SHACL-AF run queries of the proposer's choosing over every graph of the
# registry when the impact is computed (and, once adopted, on every submission): their results'
# messages and values could carry other organisations' private records, and a query can be
# made as slow as one likes. A proposal may keep the queries its base version has, never add
# or change one; the scheme operator adds them (in a release of the registry).
_QUERIES = (SH.select, SH.ask, SH.construct, SH.update)
_QUERY_TYPES = (SH.SPARQLConstraint, SH.SPARQLTarget, SH.SPARQLRule, SH.ConstraintComponent)


def _new_queries(name: str, graph: rdflib.Graph, old: rdflib.Graph) -> list[dict[str, str]]:
    known = {str(q) for p in _QUERIES for q in old.objects(None, p)}
    problems = [
        {"document": name, "term": str(s), "problem": "adds a SPARQL query (SHACL-SPARQL)"}
        for p in _QUERIES
        for s, q in graph.subject_objects(p)
        if str(q) not in known
    ]
    # Named components, targets and rules too (a blank one's query is caught above; a named
    # one may take its query from elsewhere, e.g. a validator).
    known_types = {(s, t) for t in _QUERY_TYPES for s in old.subjects(RDF.type, t)}
    problems += [
        {"document": name, "term": str(s), "problem": f"declares a {t.split('#')[-1]}"}
        for t in _QUERY_TYPES
        for s in graph.subjects(RDF.type, t)
        if isinstance(s, rdflib.URIRef) and (s, t) not in known_types
    ]
    problems += [
        {"document": name, "term": str(s), "problem": "adds a SHACL rule (sh:rule)"}
        for s in set(graph.subjects(SH.rule, None))
        if not isinstance(s, rdflib.URIRef) or (s, SH.rule, None) not in old
    ]
    return problems


def _say(problems: list[dict[str, str]]) -> str:
    """The first problem in a sentence: ``ontology/fdi: fdi:x has no label (and 2 more)``."""
    one = problems[0]
    who = f"{one['term']} " if one.get("term") else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{one['document']}: {who}{one['problem']}{more}"


def _ownership(
    registry: Registry, principal: Principal, base: rules.RulesVersion, name: str
) -> list[dict[str, str]]:
    """Who may propose which document: market documents their market's operator (or, for a
    market with no operator named, a standards body); the others a standards body."""
    org = principal.organisation
    if name.startswith("shapes/market/"):
        slug = name.rsplit("/", 1)[-1]
        operator = _market_operator(base, slug)
        if operator is not None and operator == org and principal.roles & MARKET_ROLES:
            return []
        if operator is None and STANDARDS_BODY in principal.roles:
            return []
        who = f"its operator ({operator})" if operator else "a standards body"
        return [{"document": name, "problem": f"the requirements of market {slug} are for {who}"}]
    if STANDARDS_BODY in principal.roles:
        return []
    return [
        {
            "document": name,
            "problem": "the registry's ontology and shapes belong to the standards bodies; a "
            "market operator proposes its own market's requirements (shapes/market/SLUG)",
        }
    ]


def _market_operator(base: rules.RulesVersion, slug: str) -> str | None:
    graph = base.ontology()
    found = graph.value(
        rdflib.URIRef(f"{FDI.iri}market-{slug}"), rdflib.URIRef(FDI.operatedBy.value)
    )
    return str(found) if found is not None else None


def _namespaces(name: str) -> tuple[str, ...]:
    """The IRI spaces whose terms a document of this proposer may define."""
    if name.startswith("shapes/market/"):
        slug = name.rsplit("/", 1)[-1]
        return (f"{MARKET_SPACE}{slug}#", f"{MARKET_SPACE}{slug}")
    return (FDI_SPACE,)


def _subjects(base: rules.RulesVersion) -> dict[str, set[str]]:
    """Every IRI subject of the base version, with the documents that state something of it."""
    out: dict[str, set[str]] = {}
    for name in base.names:
        for s in set(base.document(name).subjects()):
            if isinstance(s, rdflib.URIRef):
                out.setdefault(str(s), set()).add(name)
    return out


def _terms(
    name: str,
    graph: rdflib.Graph,
    before: dict[str, set[str]],
    old: rdflib.Graph,
    mine: tuple[str, ...],
) -> list[dict[str, str]]:
    """Namespace policy, ownership, labels and definitions of one proposed document."""
    problems = []
    market = name.startswith("shapes/market/")
    for s in sorted({s for s in graph.subjects() if isinstance(s, rdflib.URIRef)}):
        iri = str(s)
        ours = iri.startswith(mine) and not (not market and iri.startswith(MARKET_SPACE))
        if market and not ours:
            # An existing subject of this very document stays its operator's to change.
            ours = before.get(iri, set()) == {name}
        added = [t for t in graph.triples((s, None, None)) if not _stated(old, t)]
        if not ours and added:
            problems.append(
                {
                    "document": name,
                    "term": iri,
                    "problem": "is not yours to define: the proposal adds statements about a "
                    f"term outside your namespace ({' or '.join(mine)})",
                }
            )
            continue
        if iri in before or (s, RDF.type, OWL.Ontology) in graph:
            continue
        if not any(graph.value(s, p) for p in LABELS):
            problems.append({"document": name, "term": iri, "problem": "has no label"})
        if not any(graph.value(s, p) for p in DEFINITIONS):
            problems.append(
                {
                    "document": name,
                    "term": iri,
                    "problem": "has no definition (skos:definition, rdfs:comment or "
                    "sh:description)",
                }
            )
    return problems


def _stated(old: rdflib.Graph, triple: tuple[Node, Node, Node]) -> bool:
    """Whether the base version states it already (a blank node object matches any: blank
    nodes are named afresh on every parse)."""
    s, p, o = triple
    if isinstance(o, rdflib.BNode):
        return any(isinstance(x, rdflib.BNode) for x in old.objects(s, p))
    return triple in old


_SHACL_SHACL: rdflib.Graph | None = None


def _shacl_for_shacl(shapes: rdflib.Graph) -> list[dict[str, str]]:
    """SHACL for SHACL (the W3C shapes that pySHACL ships) over the proposed shapes."""
    global _SHACL_SHACL
    if _SHACL_SHACL is None:
        from importlib.resources import files

        text_ = (files("pyshacl") / "assets" / "shacl-shacl.ttl").read_text("utf-8")
        _SHACL_SHACL = rdflib.Graph().parse(data=text_, format="turtle")
    conforms, results, _ = shacl_validate(
        shapes, shacl_graph=_SHACL_SHACL, inference="none", advanced=False
    )
    if conforms:
        return []
    out = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(r, SH.focusNode)
        out.append(
            {
                "document": "shapes",
                "term": str(focus) if isinstance(focus, rdflib.URIRef) else "",
                "problem": "is not well-formed SHACL: "
                + str(results.value(r, SH.resultMessage) or results.value(r, SH.sourceShape)),
            }
        )
    return out or [{"document": "shapes", "problem": "is not well-formed SHACL"}]
