"""Members' catalogues: submitted and updated as ``fdi:MemberCatalogue`` records, checked against
``shapes/catalogue.ttl`` with the publisher (``dct:publisher``) checked against the member's own
record (listed by registry.publishing.catalogue)."""

from __future__ import annotations

import pyoxigraph as ox

from registry.base import rdf
from registry.base.errors import (
    Forbidden,
    NotFound,
    Unauthenticated,
    UnusableInput,
    ValidationFailed,
)
from registry.base.identity import Principal
from registry.base.vocab import DCT, FDI, RDF
from registry.kernel import access
from registry.kernel.core import Registration, Registry, Staged, Transaction
from registry.kernel.preconditions import check_version, require_if_match
from registry.shacl.validation import check
from registry.submissions.formats import Parsed
from registry.submissions.records import assign_iris, rename

AUDIENCES = ("public", "members")


def submit_catalogue(
    registry: Registry, parsed: Parsed, principal: Principal, audience: str = "public"
) -> Registration:
    """Register the member catalogues (``fdi:MemberCatalogue``) of one submission, published by
    ``principal``'s organisation to ``audience`` (``public``, or ``members`` of the scheme).

    A catalogue without ``dct:publisher`` gets the principal's organisation. Raises
    Unauthenticated (anonymous), Forbidden (another publisher, or an organisation the registry
    does not hold), UnusableInput (other records, or an unknown audience), ValidationFailed.
    """
    org = _member(registry, principal)
    graph = _audience_graph(registry, audience)
    parsed = _with_publisher(parsed, org)
    with registry.transaction(principal.actor, "register") as tx:
        staged = _stage(registry, tx, parsed, org, graph)
    return staged.registration(tx)


def update_catalogue(
    registry: Registry, iri: str, parsed: Parsed, principal: Principal, if_match: str | None
) -> Registration:
    """Replace a member catalogue with a new version (the submission holds that one catalogue,
    under any local ID), keeping its audience.

    Raises PreconditionRequired, PreconditionFailed, NotFound, Forbidden (not the publisher),
    UnusableInput, ValidationFailed.
    """
    org = _member(registry, principal)
    if_match = require_if_match(if_match, "catalogue")
    with registry.transaction(principal.actor, "update") as tx:
        info = registry.info(iri)
        if info is None or info.type != FDI.MemberCatalogue.value:
            raise NotFound(f"no member catalogue {iri}")
        if info.owner != org:
            raise Forbidden(f"only the catalogue's publisher may update {iri}")
        check_version(info, if_match)
        renamed = _renamed(parsed, ox.NamedNode(iri))
        with_publisher = _with_publisher(renamed, org)
        staged = _stage(registry, tx, with_publisher, org, ox.NamedNode(info.graph), updating=iri)
    return staged.registration(tx)


def _member(registry: Registry, principal: Principal) -> str:
    if principal.organisation is None:
        raise Unauthenticated("catalogues are submitted by members: present a client certificate")
    if registry.info(principal.organisation) is None:
        raise Forbidden(f"{principal.organisation} has no record in this registry")
    return principal.organisation


def _audience_graph(registry: Registry, audience: str) -> ox.NamedNode:
    base = registry.settings.base_iri
    if audience == "public":
        return access.public_graph(base)
    if audience == "members":
        return access.members_graph(base)
    raise UnusableInput(f"unknown audience {audience!r}: use one of {', '.join(AUDIENCES)}")


def _catalogues(triples: list[ox.Triple]) -> list[ox.NamedNode | ox.BlankNode]:
    return [
        rdf.node(t.subject)
        for t in triples
        if t.predicate == RDF.type and t.object == FDI.MemberCatalogue
    ]


def _with_publisher(parsed: Parsed, org: str) -> Parsed:
    """The submission with each catalogue's publisher set to ``org`` where it is missing.

    Raises Forbidden if a catalogue names another publisher."""
    me = ox.NamedNode(org)
    added = []
    for subject in _catalogues(parsed.triples):
        publishers = [
            t.object
            for t in parsed.triples
            if t.subject == subject and t.predicate == DCT.publisher
        ]
        others = [p for p in publishers if p != me]
        if others:
            raise Forbidden(
                f"a catalogue's publisher must be your own organisation <{org}>; this one names "
                + ", ".join(str(p) for p in others)
            )
        if not publishers:
            added.append(ox.Triple(subject, DCT.publisher, me))
    return Parsed(parsed.source, parsed.format, parsed.triples + added, parsed.origins)


def _renamed(parsed: Parsed, iri: ox.NamedNode) -> Parsed:
    found = _catalogues(parsed.triples)
    if len(found) != 1:
        raise UnusableInput("an update holds exactly one fdi:MemberCatalogue")
    triples = rename(parsed.triples, {found[0]: iri})
    return Parsed(
        parsed.source, parsed.format, triples, {iri: parsed.origins.get(found[0], iri.value)}
    )


def _stage(
    registry: Registry,
    tx: Transaction,
    parsed: Parsed,
    org: str,
    graph: ox.NamedNode,
    updating: str | None = None,
) -> Staged:
    # Every target is checked (not only the records, as in Registry.stage): the datasets,
    # distributions and services of a catalogue have rules of their own, and none of the
    # catalogue rules needs other registry records.
    report, _, split = check(parsed, registry.shapes, on=registry.today())
    if not report.conforms:
        raise ValidationFailed(
            f"{len(report.violations)} rule(s) broken in {parsed.source}; nothing was stored",
            report,
        )
    if not split.records or any(r.type != FDI.MemberCatalogue for r in split.records):
        raise UnusableInput("a catalogue submission holds fdi:MemberCatalogue records only")
    renaming = assign_iris(split.records, registry.settings.base_iri)
    registry.refuse_existing(split.records, renaming, updating)
    for record in split.records:
        tx.put(
            renaming[record.subject],
            record.type,
            rename(record.triples, renaming),
            graph=graph,
            status="registered",
            owner=org,
        )
    return Staged(report, split.records, renaming, [], None)
