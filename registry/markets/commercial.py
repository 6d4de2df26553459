"""Commercial information (BUC.4 step 3): what a flexibility service provider offers the markets.

An FSP states, once and under its registry ID, the services it can deliver, the markets it
takes part in or wants to join, the technologies and licence areas of its portfolio and its
flexible capacity (``fdi:CommercialInformation``, one record per organisation, minted under
``id/commercial/``). The record is private to the FSP (its own graph) unless a data-sharing
agreement shares it; its services, markets, technologies and areas are published in the
directory (``registry.markets.directory.keep_listings``) so that market operators can find it.

Every submission gets a report in three parts, so the FSP knows whether its information is
relevant, compliant and sufficient:

* ``missing``: what breaks the registry's rules (``shapes/commercial.ttl``, sh:Violation);
  nothing is stored until these are fixed;
* ``recommended`` and ``optional``: what it should give (sh:Warning) and what it may give
  (properties with no minimum count), each with the JSON key to use;
* ``markets``: for every market whose operator publishes requirements (``shapes/market/``), and
  every market the FSP names, whether it meets them and what is still needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib
from rdflib.namespace import SH

from registry.base import rdf
from registry.base.errors import Conflict, Forbidden, NotFound, UnusableInput, ValidationFailed
from registry.base.identity import FSP, Principal
from registry.base.vocab import FDI, FDISH
from registry.kernel.lifecycle import content, owned
from registry.markets import signposting
from registry.rules import rules
from registry.shacl.findings import field_name
from registry.shacl.validation import Report, parse_and_check
from registry.submissions.formats import Parsed
from registry.submissions.records import split_records
from registry.trust.permissions import SCOPE_COMMERCIAL, require

if TYPE_CHECKING:
    from registry.kernel.core import Registration, Registry

COMMERCIAL = FDI.CommercialInformation
SHAPE = rdflib.URIRef(FDISH.CommercialInformationShape.value)


@dataclass
class CommercialReport:
    """The verdict on commercial information, with what each market requires."""

    report: Report
    optional: list[dict[str, str]] = field(default_factory=list)
    markets: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conforms": self.report.conforms,
            "missing": [f.as_dict() for f in self.report.violations],
            "recommended": [f.as_dict() for f in self.report.warnings],
            "optional": self.optional,
            "markets": self.markets,
        }


def current(registry: Registry, organisation: str) -> str | None:
    """The IRI of an organisation's commercial information, if it has any."""
    found = owned(registry, organisation, COMMERCIAL)
    return found[0].iri if found else None


def assess(
    registry: Registry, parsed: Parsed, principal: Principal | None = None
) -> CommercialReport:
    """Check commercial information without storing it (as ``fdi validate`` would, plus the
    markets' requirements). Raises UnusableInput unless it holds one commercial information
    record."""
    if principal is not None and principal.organisation:
        parsed = _with_provider(parsed, principal.organisation)
    report = parse_and_check(parsed, registry.shapes)
    return _report(registry, report, parsed.triples, _subject(parsed).value)


def submit(
    registry: Registry, parsed: Parsed, principal: Principal
) -> tuple[Registration, CommercialReport]:
    """An FSP registers its commercial information (its first version).

    Raises Unauthenticated, Forbidden (not an FSP with the commercial-write scope, or another
    organisation named as provider), UnusableInput, Conflict (it has commercial information
    already: update that), ValidationFailed (with the report and the markets' requirements).
    """
    org = require(principal, role=FSP, scope=SCOPE_COMMERCIAL)
    parsed = _with_provider(parsed, org)
    with registry.transaction(principal.actor, "commercial-information") as tx:
        existing = current(registry, org)
        if existing:
            raise Conflict(
                f"{org} has commercial information already ({existing}); update it "
                "(PUT /commercial-information with If-Match)",
                existing=existing,
            )
        staged = registry.stage(tx, parsed, org)
        if staged.refusal is not None:
            raise _signposted(registry, staged.refusal, parsed)
    registration = staged.registration(tx)
    return registration, stored_report(registry, registration.records[0]["id"], staged.report)


def update(
    registry: Registry, parsed: Parsed, principal: Principal, if_match: str | None
) -> tuple[Registration, CommercialReport]:
    """A new version of the FSP's commercial information. Raises as :func:`submit`, and
    NotFound (none yet), PreconditionRequired, PreconditionFailed."""
    org = require(principal, role=FSP, scope=SCOPE_COMMERCIAL)
    existing = current(registry, org)
    if existing is None:
        raise NotFound(f"{org} has no commercial information yet: POST /commercial-information")
    parsed = _with_provider(parsed, org)
    try:
        registration = registry.update(existing, parsed, principal, if_match)
    except ValidationFailed as refusal:
        raise _signposted(registry, refusal, parsed) from None
    return registration, stored_report(registry, existing, registration.report)


def of(registry: Registry, principal: Principal) -> dict[str, Any]:
    """The requester's commercial information: its IRI, version and report. Raises
    Unauthenticated, NotFound."""
    org = require(principal)
    iri = current(registry, org)
    if iri is None:
        raise NotFound("no commercial information yet: POST /commercial-information")
    info = registry.info(iri)
    assert info is not None
    return {
        "id": iri,
        "version": info.version,
        "report": stored_report(registry, iri, None).as_dict(),
    }


def stored_report(registry: Registry, iri: str, report: Report | None) -> CommercialReport:
    """The report on stored commercial information."""
    return _report(registry, report or Report(records=1), content(registry, iri), iri)


def _report(
    registry: Registry, report: Report, triples: list[ox.Triple], subject: str
) -> CommercialReport:
    given = {t.predicate.value for t in triples if rdf.value(t.subject) == subject}
    base = registry.settings.base_iri
    return CommercialReport(
        report,
        _optional(registry, given),
        signposting.check(triples, subject, base, rules.in_force(registry)),
    )


def _signposted(registry: Registry, refusal: Exception, parsed: Parsed) -> Exception:
    """A refusal with the commercial report (what is missing, optional, each market's needs)."""
    if isinstance(refusal, ValidationFailed):
        report = _report(registry, refusal.report, parsed.triples, _subject(parsed).value)
        refusal.extra["commercialReport"] = report.as_dict()
    return refusal


def _optional(registry: Registry, given: set[str]) -> list[dict[str, str]]:
    """The properties the commercial information shapes allow but never require, not given."""
    graph = registry.shapes.graph
    by_path: dict[str, list[rdflib.term.Node]] = {}
    for shape in graph.objects(SHAPE, SH.property):
        shape_path = graph.value(shape, SH.path)
        if isinstance(shape_path, rdflib.URIRef):
            by_path.setdefault(str(shape_path), []).append(shape)
    out = []
    for path, shapes in sorted(by_path.items()):
        if path in given or any(graph.value(s, SH.minCount) is not None for s in shapes):
            continue
        shape = shapes[0]
        out.append(
            {
                "field": field_name(path, "json"),
                "name": str(graph.value(shape, SH.name) or ""),
                "description": str(graph.value(shape, SH.description) or ""),
            }
        )
    return out


def _subject(parsed: Parsed) -> ox.NamedNode | ox.BlankNode:
    split = split_records(parsed.triples, parsed.origins)
    found = [r for r in split.records if r.type == COMMERCIAL]
    if len(split.records) != 1 or len(found) != 1:
        raise UnusableInput("send exactly one CommercialInformation record")
    return found[0].subject


def _with_provider(parsed: Parsed, org: str) -> Parsed:
    """The submission with the provider set to ``org``. Raises Forbidden for another provider."""
    subject = _subject(parsed)
    given = {
        rdf.value(t.object)
        for t in parsed.triples
        if t.subject == subject and t.predicate == FDI.provider
    }
    if given - {org}:
        raise Forbidden(
            "commercial information can only be given for your own organisation",
            provider=sorted(given),
        )
    extra = [] if given else [ox.Triple(subject, FDI.provider, ox.NamedNode(org))]
    return Parsed(parsed.source, parsed.format, parsed.triples + extra, parsed.origins)
