"""Proposals: standards bodies and market operators change the rules, in the open.

A proposal (``fdi:RulesProposal``, ``{base}id/proposal/{uuid}``) carries Turtle documents that
replace or add to documents of the latest rules version (``registry.rules.rules``): ``ontology/...``
and ``shapes/...`` from a member with the StandardsBody role, ``shapes/market/{slug}`` from the
organisation that operates that market (``fdi:operatedBy`` in the ontology). On submission it
is checked (:func:`check`): each document is Turtle; the shapes are well-formed SHACL (SHACL
for SHACL, as pySHACL ships it); every new term and shape has a label and a definition; every
new term is in the proposer's namespace; no statement is added about a term the proposer does
not own. A refusal (ProposalRefused, 422) names each term and what is wrong with it.

Then: its impact on the registered records is computed in the background
(``registry.rules.impact``), the organisations whose records would fail are told their counts in
their inboxes, members comment through the proposal's own inbox (:func:`comment`), and the
scheme operator adopts it with an effective date (:func:`adopt`). From that date submissions
are checked against the new version.

Steps, each a new version of the proposal record (graph ``{base}graph/rules``, which no SPARQL
dataset includes; proposals are read through ``/proposals``):

=================  ==========================  =============================================
status             reached by                  who
=================  ==========================  =============================================
``proposed``       :func:`propose`             a standards body, or a market's operator
``consultation``   the impact report's notices  the registry, when the report is ready
``adopted``        :func:`adopt`               the scheme operator
=================  ==========================  =============================================
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from registry.base.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ProposalRefused,
    Unauthenticated,
    UnusableInput,
)
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI
from registry.base.vocab import RDF as ORDF
from registry.kernel.lifecycle import content, first, objects, parse_datetime, require_status, text
from registry.kernel.lifecycle import timestamp as _timestamp
from registry.messaging.inbox import activity
from registry.rules import rules
from registry.trust.schemes import operator_iri

if TYPE_CHECKING:
    from registry.kernel.core import Registry

PROPOSAL = FDI.RulesProposal
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
MAX_DOCUMENTS = 20
MAX_COMMENT = 4000
LABELS = (RDFS.label, SKOS.prefLabel, SH.name)
DEFINITIONS = (SKOS.definition, RDFS.comment, SH.description)
_ALL = "SELECT iri FROM record WHERE type = ? ORDER BY created, iri"


def rules_graph(base: str) -> ox.NamedNode:
    return ox.NamedNode(base + "graph/rules")


@dataclass
class Proposal:
    """A proposal as stored."""

    iri: str
    status: str
    proposer: str
    version: str
    base: str
    title: str
    description: str
    documents: dict[str, str]
    created: str
    effective: dt.datetime | None = None
    comments: list[dict[str, str]] = field(default_factory=list)
    etag: str = ""

    def summary(self, base_url: str) -> dict[str, Any]:
        uid = self.iri.rsplit("/", 1)[-1]
        return {
            "id": self.iri,
            "url": f"{base_url}proposals/{uid}",
            "status": self.status,
            "proposer": self.proposer,
            "title": self.title,
            "version": self.version,
            "baseVersion": self.base,
            "effective": self.effective.isoformat() if self.effective else None,
            "created": self.created,
            "documents": sorted(self.documents),
            "impact": f"{base_url}proposals/{uid}/impact",
            "inbox": f"{base_url}proposals/{uid}/inbox",
        }

    def as_dict(self, base_url: str, *, documents: bool = True) -> dict[str, Any]:
        out = self.summary(base_url)
        out["description"] = self.description
        out["comments"] = self.comments
        if documents:
            out["documents"] = dict(sorted(self.documents.items()))
        return out


# --- submitting --------------------------------------------------------------------------------


def propose(registry: Registry, principal: Principal, body: dict[str, Any]) -> Proposal:
    """Check and store a proposal: ``{"title", "description", "version", "documents": {name:
    turtle}}``. Raises Unauthenticated, Forbidden (neither a standards body nor a market
    operator), UnusableInput (missing fields, a bad version or document name), Conflict (the
    version is not above the latest), ProposalRefused (the checks of :func:`check`)."""
    if not principal.authenticated or principal.organisation is None:
        raise Unauthenticated("proposing needs a member's client certificate")
    if not (principal.roles & ({STANDARDS_BODY} | MARKET_ROLES)):
        raise Forbidden("proposals come from standards bodies and market operators")
    title = str(body.get("title") or "").strip()
    if not title:
        raise UnusableInput("give the proposal a title")
    documents = body.get("documents")
    if not isinstance(documents, dict) or not documents:
        raise UnusableInput("documents must map document names to Turtle text")
    if len(documents) > MAX_DOCUMENTS:
        raise UnusableInput(f"at most {MAX_DOCUMENTS} documents in one proposal")
    version = str(body.get("version") or "")
    base = rules.latest(registry)
    if rules.semver(version) <= rules.semver(base.version):
        raise Conflict(
            f"version {version} must be above the latest rules version, {base.version}",
            latest=base.version,
        )
    docs = {str(k): v for k, v in documents.items()}
    check(registry, principal, base, docs)
    iri = ox.NamedNode(f"{registry.settings.base_iri}id/proposal/{uuid.uuid4()}")
    triples = [
        ox.Triple(iri, ORDF.type, PROPOSAL),
        ox.Triple(iri, DCT.title, ox.Literal(title)),
        ox.Triple(iri, DCT.description, ox.Literal(str(body.get("description") or ""))),
        ox.Triple(iri, DCT.creator, ox.NamedNode(principal.organisation)),
        ox.Triple(iri, DCT.created, _timestamp(registry.clock())),
        ox.Triple(iri, FDI.proposedVersion, ox.Literal(version)),
        ox.Triple(iri, FDI.baseVersion, ox.Literal(base.version)),
    ]
    for n, (name, turtle) in enumerate(sorted(docs.items())):
        node = ox.NamedNode(f"{iri.value}#document-{n}")
        triples += [
            ox.Triple(iri, FDI.proposalDocument, node),
            ox.Triple(node, FDI.documentName, ox.Literal(name)),
            ox.Triple(node, FDI.documentText, ox.Literal(turtle)),
        ]
    with registry.transaction(principal.actor, "proposal") as tx:
        tx.put(
            iri,
            PROPOSAL,
            triples,
            graph=rules_graph(registry.settings.base_iri),
            status="proposed",
            owner=principal.organisation,
        )
        tx.event({"proposal": iri.value, "step": "propose"})
        tx.notify(
            operator_iri(registry.settings.base_iri),
            activity(
                "Offer", principal.organisation, iri.value, f"Rules {version} proposed: {title}"
            ),
        )
    return read(registry, iri.value)


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


def _stated(old: rdflib.Graph, triple: tuple) -> bool:  # type: ignore[type-arg]
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


# --- reading -------------------------------------------------------------------------------------


def read(registry: Registry, iri: str) -> Proposal:
    """A proposal from its record. Raises NotFound."""
    info = registry.info(iri)
    if info is None or info.type != PROPOSAL.value:
        raise NotFound(f"no proposal {iri}")
    triples = content(registry, iri)
    s = ox.NamedNode(iri)
    documents = {}
    for node in objects(triples, s, FDI.proposalDocument):
        documents[text(triples, node, FDI.documentName) or ""] = (
            text(triples, node, FDI.documentText) or ""
        )
    comments = []
    for node in objects(triples, s, FDI.proposalComment):
        comments.append(
            {
                "id": node.value,
                "author": text(triples, node, DCT.creator) or "",
                "published": text(triples, node, DCT.created) or "",
                "content": text(triples, node, DCT.description) or "",
            }
        )
    comments.sort(key=lambda c: (c["published"], c["id"]))
    return Proposal(
        iri,
        info.status or "proposed",
        text(triples, s, DCT.creator) or "",
        text(triples, s, FDI.proposedVersion) or "",
        text(triples, s, FDI.baseVersion) or "",
        text(triples, s, DCT.title) or "",
        text(triples, s, DCT.description) or "",
        documents,
        text(triples, s, DCT.created) or "",
        parse_datetime(first(triples, s, FDI.effectiveFrom)),
        comments,
        info.etag,
    )


def iri_of(registry: Registry, uid: str) -> str:
    return f"{registry.settings.base_iri}id/proposal/{uid}"


def by_uid(registry: Registry, uid: str) -> Proposal:
    return read(registry, iri_of(registry, uid))


def every(registry: Registry) -> list[Proposal]:
    return [read(registry, iri) for (iri,) in registry.journal.read(_ALL, (PROPOSAL.value,))]


def candidate(registry: Registry, proposal: Proposal) -> rules.RulesVersion:
    """The rules version a proposal would make (status ``proposed``, or as adopted)."""
    base = rules.get(registry, proposal.base)
    return rules.derive(
        base,
        proposal.version,
        proposal.documents,
        status="proposed" if proposal.status != "adopted" else "adopted",
        effective=proposal.effective,
        proposal=proposal.iri,
    )


# --- consultation and adoption -------------------------------------------------------------------


def comment(registry: Registry, principal: Principal, uid: str, body: bytes) -> dict[str, Any]:
    """A member's comment on a proposal, posted to its inbox as an ActivityStreams object with
    ``content``. The proposer and the scheme operator are told. Raises Unauthenticated,
    NotFound, UnusableInput, InvalidTransition (adopted already)."""
    if not principal.authenticated or principal.organisation is None:
        raise Unauthenticated("commenting needs a member's client certificate")
    proposal = by_uid(registry, uid)
    try:
        note = json.loads(body)
    except ValueError:
        raise UnusableInput("post an ActivityStreams object (JSON) with content") from None
    words = note.get("content") if isinstance(note, dict) else None
    if not isinstance(words, str) or not words.strip():
        raise UnusableInput("say something in content")
    if len(words) > MAX_COMMENT:
        raise UnusableInput(f"a comment has at most {MAX_COMMENT} characters")
    with registry.transaction(principal.actor, "proposal-comment") as tx:
        info = registry.info(proposal.iri)
        assert info is not None
        require_status(info, ("proposed", "consultation"), "comment on", "proposal")
        triples = content(registry, proposal.iri)
        s = ox.NamedNode(proposal.iri)
        node = ox.NamedNode(f"{proposal.iri}#comment-{info.version}")
        triples += [
            ox.Triple(s, FDI.proposalComment, node),
            ox.Triple(node, DCT.creator, ox.NamedNode(principal.organisation)),
            ox.Triple(node, DCT.created, _timestamp(registry.clock())),
            ox.Triple(node, DCT.description, ox.Literal(words.strip())),
        ]
        tx.put(s, PROPOSAL, triples, graph=ox.NamedNode(info.graph), status=info.status)
        tx.event({"proposal": proposal.iri, "step": "comment"})
        news = activity(
            "Note",
            principal.organisation,
            proposal.iri,
            f"A comment on proposal {proposal.title} ({proposal.version})",
            content=words.strip(),
        )
        for recipient in {proposal.proposer, operator_iri(registry.settings.base_iri)}:
            if recipient != principal.organisation:
                tx.notify(recipient, news)
    return {"id": node.value, "proposal": proposal.iri}


def open_consultation(registry: Registry, iri: str, counts: dict[str, int]) -> bool:
    """Tell each organisation how many of its records the proposal would refuse, and put the
    proposal to consultation. Once only (False if it was done already, or adopted)."""
    proposal = read(registry, iri)
    with registry.transaction("registry", "proposal-consultation") as tx:
        info = registry.info(iri)
        if info is None or info.status != "proposed":
            return False
        triples = content(registry, iri)
        tx.put(
            ox.NamedNode(iri),
            PROPOSAL,
            triples,
            graph=ox.NamedNode(info.graph),
            status="consultation",
        )
        tx.event({"proposal": iri, "step": "consultation", "affected": len(counts)})
        for organisation, count in sorted(counts.items()):
            tx.notify(
                organisation,
                activity(
                    "Announce",
                    operator_iri(registry.settings.base_iri),
                    iri,
                    f"Proposed rules {proposal.version} ({proposal.title}) would refuse "
                    f"{count} of your registered records; see the impact report and comment "
                    "in the proposal's inbox",
                    records=count,
                ),
            )
    return True


def adopt(registry: Registry, principal: Principal, uid: str, effective: str) -> rules.RulesVersion:
    """The scheme operator adopts a proposal: from ``effective`` (ISO 8601 date-time with a
    time zone, now or later) submissions are checked against it. Raises Forbidden (not the
    scheme operator), NotFound, UnusableInput (bad date, in the past), Conflict (another
    version was adopted since: the proposal's base is no longer the latest, or its version no
    longer above it), InvalidTransition (adopted already)."""
    if not principal.is_scheme_operator:
        raise Forbidden("only the scheme operator adopts proposals")
    try:
        when = dt.datetime.fromisoformat(str(effective).replace("Z", "+00:00"))
    except ValueError:
        raise UnusableInput(f"effective must be an ISO 8601 date-time, not {effective!r}") from None
    if when.tzinfo is None:
        raise UnusableInput("effective needs a time zone (for example 2027-01-01T00:00:00Z)")
    when = when.astimezone(dt.UTC)
    now = registry.clock()
    if when < now.replace(microsecond=0):
        raise UnusableInput(f"effective must be now or later, not {effective}")
    proposal = by_uid(registry, uid)
    with registry.transaction(principal.actor, "proposal-adopt") as tx:
        info = registry.info(proposal.iri)
        assert info is not None
        require_status(info, ("proposed", "consultation"), "adopt", "proposal")
        latest = rules.latest(registry)
        if proposal.base != latest.version:
            raise Conflict(
                f"the proposal changes {proposal.base}, but {latest.version} was adopted since: "
                "the proposer submits it again on the latest version",
                latest=latest.version,
            )
        triples = content(registry, proposal.iri)
        s = ox.NamedNode(proposal.iri)
        triples.append(ox.Triple(s, FDI.effectiveFrom, _timestamp(when)))
        tx.put(s, PROPOSAL, triples, graph=ox.NamedNode(info.graph), status="adopted")
        tx.event({"proposal": proposal.iri, "step": "adopt", "effective": when.isoformat()})
        news = activity(
            "Accept",
            principal.organisation,
            proposal.iri,
            f"Rules {proposal.version} ({proposal.title}) adopted: in force from "
            f"{when.isoformat()}",
        )
        for recipient in _told(registry, proposal):
            tx.notify(recipient, news)
    rules.forget(registry)
    return rules.get(registry, proposal.version)


def _told(registry: Registry, proposal: Proposal) -> set[str]:
    """Who hears of an adoption: the proposer, the commenters and the affected organisations."""
    from registry.rules.impact import affected

    out = {proposal.proposer} | {c["author"] for c in proposal.comments}
    out |= set(affected(registry, proposal.iri))
    out.discard(operator_iri(registry.settings.base_iri))
    return {o for o in out if o}
