"""Other sources of asset data: attestations by asset owners, installers and manufacturers.

BUC.2 steps 1c, 2a, 2b and 7a. An attestation is a record of its own (``fdi:Attestation``),
owned by the organisation that makes it and attributed to it (PROV-O), stating facts about one
asset with the asset's own properties (``saref:hasManufacturer``, ``fdi:exportCapacity``, ...).
Attestations never overwrite the asset: where a source disagrees with the registered value,
both are shown (:func:`conflicts`). An asset whose facts a *trusted* source has attested, or
that a market operator attests is registered in its market already (an attestation stating
``fdi:registeredIn``), is marked as such (:func:`assurance`) and can skip manual checks. An
FSP's own ``fdi:registeredIn`` is a claim, never a reason to skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from registry.base import rdf
from registry.base.activities import activity
from registry.base.clock import now
from registry.base.errors import Forbidden, NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.rdf import Term
from registry.base.vocab import FDI, PROV, QUDT, RDF, SAREF, XSD, sparql_prefixes
from registry.kernel.authorisation import authorise
from registry.kernel.authorisation_rules import MARKET
from registry.kernel.core import Registration, Registry
from registry.submissions.formats import SUBMISSION_BASE, Parsed
from registry.submissions.records import mint
from registry.trust.control import parties

# Roles whose attestations count as trusted, and the facts they may attest (market operators
# attest fdi:registeredIn alone: their own registration of the asset).
TRUSTED_ROLES = frozenset({FDI.Manufacturer.value, FDI.Installer.value, FDI.AssetOwner.value})
ATTESTABLE = (
    FDI.technology,
    FDI.mpanCore,
    FDI.exportMpanCore,
    FDI.postcode,
    FDI.gspGroup,
    FDI.importCapacity,
    FDI.exportCapacity,
    FDI.energyCapacity,
    FDI.commissioningDate,
    FDI.serialNumber,
    FDI.lifecycleStatus,
    FDI.registeredIn,
    SAREF.hasManufacturer,
    SAREF.hasModel,
)

ATTESTATIONS_OF = (
    sparql_prefixes("fdi")
    + """
SELECT ?asset ?attestation WHERE { ?attestation a fdi:Attestation ; fdi:about ?asset }
"""
)


@dataclass(frozen=True)
class Fact:
    """One attested (or registered) value of one property, with where it came from."""

    property: str
    value: str
    source: str
    time: str
    attestation: str | None = None


def attest(registry: Registry, asset: str, parsed: Parsed, principal: Principal) -> Registration:
    """Record what ``principal`` states about ``asset``: the submission's statements whose
    subject is the asset (or one local node standing for it) and whose property is attestable.

    Raises Forbidden (not an owner, installer or manufacturer), NotFound, UnusableInput.
    """
    authorise(principal, "attestation.make")
    assert principal.organisation is not None  # only organisations may attest
    info = registry.info(asset)
    if info is None or info.type != FDI.FlexibleAsset.value:
        raise NotFound(f"no asset {asset}")
    facts = _facts_of(parsed)
    said = {p.value.rsplit("#", 1)[-1] for p, _, _ in facts}
    if not principal.roles & TRUSTED_ROLES and said - {"registeredIn"}:
        raise Forbidden(
            "a market operator attests that an asset is registered in its market "
            "(fdi:registeredIn); other facts come from the asset owner, installer or manufacturer"
        )
    if "registeredIn" in said and not principal.roles & MARKET:
        raise Forbidden(
            "fdi:registeredIn is a market's own verification: only a market operator (DSO, "
            "TSO or market operator) attests that an asset is registered in its market"
        )
    if not facts:
        raise UnusableInput(
            "an attestation states at least one of: "
            + ", ".join(p.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for p in ATTESTABLE)
        )
    with registry.transaction(principal.actor, "attest") as tx:
        iri = mint(registry.settings.base_iri, "attestation")
        triples = [
            ox.Triple(iri, RDF.type, FDI.Attestation),
            ox.Triple(iri, FDI.about, ox.NamedNode(asset)),
            ox.Triple(iri, PROV.wasAttributedTo, ox.NamedNode(principal.organisation)),
            ox.Triple(iri, PROV.generatedAtTime, ox.Literal(now(), datatype=XSD.dateTime)),
        ]
        for predicate, obj, children in facts:
            node = _rename_child(obj, iri, predicate)
            triples.append(ox.Triple(iri, predicate, node))
            if not isinstance(node, ox.Literal):  # a literal has no children
                triples.extend(ox.Triple(node, t.predicate, t.object) for t in children)
        tx.put(
            iri,
            FDI.Attestation,
            triples,
            owner=principal.organisation,
            graph=ox.NamedNode(info.graph),
        )
        for party in sorted(parties(registry, asset) - {principal.organisation}):
            tx.notify(
                party,
                activity(
                    "Add",
                    summary=f"New attestation about {asset}",
                    object=iri.value,
                    target=asset,
                    actor=principal.organisation,
                ),
            )
    entry = tx.entry
    assert entry is not None
    return Registration(
        entry.seq,
        entry.hash,
        entry.time,
        {"attestation": iri.value},
        records=[{"id": iri.value, "type": FDI.Attestation.value, "version": 1}],
        receipt=getattr(tx, "receipt", None),
    )


def _facts_of(parsed: Parsed) -> list[tuple[ox.NamedNode, Term, list[ox.Triple]]]:
    by_subject: dict[Any, list[ox.Triple]] = {}
    for t in parsed.triples:
        by_subject.setdefault(t.subject, []).append(t)
    facts = []
    for t in parsed.triples:
        if t.predicate in ATTESTABLE and not _is_nested(t.subject, parsed.triples):
            children = by_subject.get(t.object, []) if not isinstance(t.object, ox.Literal) else []
            facts.append((t.predicate, t.object, children))
    return facts


def _is_nested(subject: Any, triples: list[ox.Triple]) -> bool:
    return any(t.object == subject for t in triples)


def _rename_child(obj: Term, iri: ox.NamedNode, predicate: ox.NamedNode) -> Term:
    if isinstance(obj, ox.BlankNode) or (
        isinstance(obj, ox.NamedNode) and obj.value.startswith(SUBMISSION_BASE)
    ):
        return ox.NamedNode(f"{iri.value}#{predicate.value.rsplit('#', 1)[-1].rsplit('/', 1)[-1]}")
    return obj


def facts(registry: Registry, asset: str, principal: Principal) -> dict[str, list[Fact]]:
    """Every value of every attestable property of ``asset``: the registered one first, then
    each attestation's, each with its source and time. Raises NotFound."""
    info = registry.info(asset)
    own = registry.record(asset, principal)
    assert info is not None  # else record() raised NotFound
    out: dict[str, list[Fact]] = {}
    for p, value in _values(own, ox.NamedNode(asset)):
        out.setdefault(p, []).append(Fact(p, value, info.owner or "registrant", info.modified))
    for attestation in attestations_of(registry, asset):
        triples = registry.index.record_quads(ox.NamedNode(info.graph), ox.NamedNode(attestation))
        content = [ox.Triple(q.subject, q.predicate, q.object) for q in triples]
        source = next(
            (rdf.value(t.object) for t in content if t.predicate == PROV.wasAttributedTo), ""
        )
        time = next(
            (rdf.value(t.object) for t in content if t.predicate == PROV.generatedAtTime), ""
        )
        for p, value in _values(content, ox.NamedNode(attestation)):
            out.setdefault(p, []).append(Fact(p, value, source, time, attestation))
    return out


def attestations_of(registry: Registry, asset: str) -> list[str]:
    rows = rdf.solutions(
        registry.index.query(
            ATTESTATIONS_OF, None, substitutions={ox.Variable("asset"): ox.NamedNode(asset)}
        )
    )
    return sorted(row["attestation"].value for row in rows)


def _values(triples: list[ox.Triple], subject: ox.NamedNode) -> list[tuple[str, str]]:
    """(property, comparable value) pairs; quantities compare as "<number> <unit>"."""
    by_subject: dict[Any, list[ox.Triple]] = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    out = []
    for t in by_subject.get(subject, []):
        if t.predicate not in ATTESTABLE:
            continue
        children = by_subject.get(t.object, [])
        if children:
            number = next(
                (rdf.value(c.object) for c in children if c.predicate == QUDT.numericValue), ""
            )
            unit = next((rdf.value(c.object) for c in children if c.predicate == QUDT.unit), "")
            out.append(
                (
                    t.predicate.value,
                    f"{float(number):g} {unit.rsplit('/', 1)[-1]}" if number else unit,
                )
            )
        else:
            out.append((t.predicate.value, rdf.value(t.object)))
    return out


def conflicts(registry: Registry, asset: str, principal: Principal) -> list[dict[str, Any]]:
    """Properties on which sources disagree: every value shown with its source, none dropped."""
    out = []
    for prop, values in facts(registry, asset, principal).items():
        if len({v.value for v in values}) > 1:
            out.append({"property": prop, "values": [v.__dict__ for v in values]})
    return out


def assurance(registry: Registry, asset: str, principal: Principal) -> dict[str, Any]:
    """Whether ``asset`` can skip manual checks: attested by a trusted source with no
    conflicting value, or registered in another market already."""
    registry.record(asset, principal)  # the same visibility as the asset
    # Only a market's own attestation counts: an FSP's fdi:registeredIn in its own record is a
    # claim (and new submissions are refused one), never a reason to skip checks.
    elsewhere = sorted(
        {
            f.value
            for f in facts(registry, asset, principal).get(FDI.registeredIn.value, [])
            if f.attestation  # attest() takes registeredIn from market operators only
        }
    )
    trusted = [a for a in attestations_of(registry, asset) if _states_facts(registry, a)]
    disputed = [
        c for c in conflicts(registry, asset, principal) if c["property"] != FDI.registeredIn.value
    ]
    status = (
        "registered-elsewhere"
        if elsewhere
        else "attested"
        if trusted and not disputed
        else "disputed"
        if disputed
        else "unverified"
    )
    return {
        "asset": asset,
        "status": status,
        "skipManualChecks": status in ("registered-elsewhere", "attested"),
        "registeredIn": elsewhere,
        "attestations": trusted,
        "conflicts": disputed,
    }


def _states_facts(registry: Registry, attestation: str) -> bool:
    """Whether an attestation states facts beyond fdi:registeredIn: attest() admits those from
    asset owners, installers and manufacturers only, and registeredIn from markets only."""
    info = registry.info(attestation)
    if info is None:
        return False
    quads = registry.index.record_quads(ox.NamedNode(info.graph), ox.NamedNode(attestation))
    stated = {q.predicate for q in quads if rdf.value(q.subject) == attestation}
    return bool((stated & set(ATTESTABLE)) - {FDI.registeredIn})
