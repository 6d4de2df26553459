"""Signposting: what each market operator requires of a provider's commercial information.

The markets are reference data in the ontology (``fdi:FlexibilityMarket``: name, licence areas,
services procured, and ``fdi:requirements``, the IRI of a SHACL shapes document). Each market
operator's requirements are one shapes document in ``shapes/market/`` (its ``owl:Ontology`` IRI
is the market's ``fdi:requirements``), served at ``/shapes/market/{slug}`` and listed at
``/signpost``. They are not part of the registry's own rules: commercial information that
breaks them is registered, and the report tells the provider, market by market, what is still
needed before pre-qualification (seed BUC.4 step 3 and the scenario's "signpost the necessary
data requirements until pre-qualification, for a given MO").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL, SH

from registry.base import rdf
from registry.base.errors import NotFound
from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.base.vocab import FDI, sparql_prefixes
from registry.shacl.findings import field_name
from registry.shacl.validation import Shapes, load_shapes, shape_findings, shapes_of

MARKETS = (
    sparql_prefixes("fdi", "rdfs")
    + """
SELECT ?market ?name ?description ?requirements WHERE {
  ?market a fdi:FlexibilityMarket ; rdfs:label ?name ; rdfs:comment ?description .
  OPTIONAL { ?market fdi:requirements ?requirements }
} ORDER BY ?market
"""
)
MARKET_LINKS = (
    sparql_prefixes("fdi")
    + """
SELECT ?market ?property ?value WHERE {
  ?market ?property ?value . FILTER (?property IN (fdi:coversArea, fdi:procures))
}
"""
)
PREFIX = "market-"

if TYPE_CHECKING:
    from registry.rules.rules import RulesVersion


@dataclass(frozen=True)
class Market:
    """A flexibility market and, if published, the shapes its operator requires."""

    iri: str
    slug: str
    name: str
    description: str
    areas: tuple[str, ...]
    services: tuple[str, ...]
    requirements: str | None
    path: Path | None
    text: str | None = None  # the document of a later rules version (registry.rules.rules)

    def shapes(self) -> rdflib.Graph:
        if self.text is not None:
            return _parsed(self.text)
        graph = rdflib.Graph()
        if self.path is not None:
            graph.parse(self.path, format="turtle")
        return graph

    def checked(self) -> Shapes:
        """The requirements as validation's shapes."""
        if self.text is not None:
            return _as_shapes(self.text)
        return load_shapes(self.path)


@lru_cache(maxsize=16)
def _parsed(text: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=text, format="turtle")


@lru_cache(maxsize=16)
def _as_shapes(text: str) -> Shapes:
    return shapes_of(_parsed(text), "rules version")


def in_version(m: Market, version: RulesVersion | None) -> Market:
    """The market with its requirements as a rules version has them (the packaged file's
    when the version has the same text, or none)."""
    if version is None or m.path is None:
        return m
    name = f"shapes/market/{m.slug}"
    if name not in version.names:
        return m
    text = version.text(name)
    return m if text == m.path.read_text("utf-8") else replace(m, text=text)


def market_dir() -> Path:
    return shapes_dir() / "market"


@lru_cache(maxsize=1)
def markets() -> dict[str, Market]:
    """The markets of the ontology by slug (``neso`` for ``fdi:market-neso``)."""
    store = ox.Store()
    for path in ttl_files(ontology_dir()):
        store.load(path=path, format=ox.RdfFormat.TURTLE)
    documents = _documents()
    out = {}
    for s in rdf.solutions(store.query(MARKETS)):
        iri = s["market"].value
        links = list(
            rdf.solutions(
                store.query(MARKET_LINKS, substitutions={ox.Variable("market"): ox.NamedNode(iri)})
            )
        )
        requirements = s["requirements"].value if s["requirements"] else None
        slug = iri.rsplit("#", 1)[-1].removeprefix(PREFIX)
        out[slug] = Market(
            iri,
            slug,
            s["name"].value,
            s["description"].value,
            tuple(sorted(v["value"].value for v in links if v["property"] == FDI.coversArea)),
            tuple(sorted(v["value"].value for v in links if v["property"] == FDI.procures)),
            requirements,
            documents.get(requirements or ""),
        )
    return out


def market(name: str, version: RulesVersion | None = None) -> Market:
    """A market by slug (``neso``), local name (``market-neso``) or IRI, with its requirements
    as ``version`` has them (default: the packaged ones). Raises NotFound."""
    slug = name.rsplit("#", 1)[-1].removeprefix(PREFIX).lower()
    if slug not in markets():
        raise NotFound(f"no market {name!r}; the registry knows {', '.join(markets())}")
    return in_version(markets()[slug], version)


def document(name: str, version: RulesVersion | None = None) -> tuple[Market, list[ox.Triple]]:
    """A market and its requirements document as triples. Raises NotFound (no such market, or
    its operator has not published requirements)."""
    m = market(name, version)
    if m.path is None:
        raise NotFound(f"{m.name} has not published requirements in the registry yet")
    if m.text is not None:
        quads = ox.parse(m.text.encode(), format=ox.RdfFormat.TURTLE)
    else:
        quads = ox.parse(path=m.path, format=ox.RdfFormat.TURTLE)
    return m, [ox.Triple(q.subject, q.predicate, q.object) for q in quads]


def _documents() -> dict[str, Path]:
    """Market shapes documents by their ``owl:Ontology`` IRI."""
    found = {}
    for path in ttl_files(market_dir()) if market_dir().is_dir() else []:
        graph = rdflib.Graph().parse(path, format="turtle")
        for header in graph.subjects(rdflib.RDF.type, OWL.Ontology):
            found[str(header)] = path
    return found


def _sorted(nodes: Iterable[rdflib.term.Node]) -> list[rdflib.term.Identifier]:
    """``nodes`` in rdflib's order: IRIs, blank nodes and literals, which every node of a
    parsed graph is (rdflib's stubs type them as nodes, which have no order)."""
    return sorted(n for n in nodes if isinstance(n, rdflib.term.Identifier))


def requirements(m: Market) -> list[dict[str, Any]]:
    """The rules of a market's shapes, in a provider's terms."""
    graph = m.shapes()
    rules = []
    for node in _sorted(
        graph.subjects(SH.targetClass, rdflib.URIRef(FDI.CommercialInformation.value))
    ):
        for shape in _sorted(graph.objects(node, SH.property)):
            path = graph.value(shape, SH.path)
            rules.append(
                {
                    "rule": str(shape).rsplit("#", 1)[-1],
                    "name": str(graph.value(shape, SH.name) or ""),
                    "description": str(graph.value(shape, SH.description) or ""),
                    "message": str(graph.value(shape, SH.message) or ""),
                    "field": field_name(str(path), "json") if path is not None else None,
                    "severity": str(graph.value(shape, SH.severity) or SH.Violation).rsplit("#", 1)[
                        -1
                    ],
                }
            )
    return rules


def describe(m: Market, base: str, *, rules: bool = True) -> dict[str, Any]:
    """A market as ``/signpost`` shows it."""
    out: dict[str, Any] = {
        "id": m.iri,
        "slug": m.slug,
        "name": m.name,
        "description": m.description,
        "areas": [a.rsplit("#", 1)[-1] for a in m.areas],
        "services": [s.rsplit("#", 1)[-1] for s in m.services],
        "requirementsPublished": m.path is not None,
        "shapes": f"{base}shapes/market/{m.slug}" if m.path is not None else None,
    }
    if rules:
        out["requirements"] = requirements(m) if m.path is not None else []
    return out


def check(
    triples: list[ox.Triple], record: str, base: str, version: RulesVersion | None = None
) -> list[dict[str, Any]]:
    """How one commercial information record (``record``, its IRI or local ID node) stands
    against every market's published requirements: for each market, whether the provider named
    it, whether the record meets its requirements, and what is missing."""
    chosen = {
        rdf.value(t.object)
        for t in triples
        if t.predicate == FDI.market and rdf.value(t.subject) == record
    }
    out = []
    for m in (in_version(m, version) for m in markets().values()):
        entry = describe(m, base, rules=False)
        entry["selected"] = m.iri in chosen
        if m.path is None:
            if entry["selected"]:
                out.append({**entry, "meets": None, "missing": []})
            continue
        missing = _missing(triples, m)
        out.append({**entry, "meets": not missing, "missing": missing})
    return sorted(out, key=lambda e: (not e["selected"], e["slug"]))


def _missing(triples: list[ox.Triple], m: Market) -> list[dict[str, Any]]:
    # The compiled engine, as for submissions: pySHACL on an Oxigraph store mismatched the
    # plain strings of sh:in, and a London asset missed UK Power Networks' areas (issue 14).
    missing = [
        {
            "field": f.field if f.path is not None else None,
            "rule": f.rule,
            "message": f.message,
            "severity": f.severity,
        }
        for f in shape_findings(triples, m.checked())
    ]
    return sorted(missing, key=lambda f: (f["field"] or "", f["rule"]))
