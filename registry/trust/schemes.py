"""Schemes: the FDI scheme (and room for others), the roles and scopes it can grant, the
default scopes for each role, and its standard agreement (a versioned document served by the
registry, with its SHA-256 digest). Memberships of a scheme are in ``registry.trust.memberships``.

>>> FDI_SCHEME.slug, FDI_SCHEME.current_version
('fdi', '1.0')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from registry.base import iris
from registry.base.errors import Forbidden, NotFound, Unauthenticated, UnusableInput
from registry.base.identity import SCHEME_OPERATOR, Principal
from registry.base.vocab import DCAT, DCT, FDI, OWL, RDF, RDFS

if TYPE_CHECKING:
    from registry.kernel.core import Registry, Transaction


AGREEMENTS = Path(__file__).resolve().parent / "agreements"
MARKET_ROLES = {
    n: FDI[n]
    for n in (
        "FlexibilityServiceProvider",
        "MarketOperator",
        "DistributionSystemOperator",
        "TransmissionSystemOperator",
        "AssetOwner",
        "Installer",
        "Manufacturer",
        "StandardsBody",
        "SchemeOperator",
    )
}
# The market roles an organisation record lists (fdi:marketRole): those of its active memberships,
# less the scheme operator's own role, which is not a role in the flexibility markets.
DIRECTORY_ROLES = frozenset(v.value for k, v in MARKET_ROLES.items() if k != "SchemeOperator")
SCOPES = {
    n: FDI["scope-" + n]
    for n in (
        "assets-write",
        "assets-read",
        "commercial-write",
        "agreements-write",
        "messages-send",
    )
}


@dataclass(frozen=True)
class Scheme:
    """A scheme the registry runs: what it can grant, and its standard agreement versions."""

    iri: str
    slug: str
    title: str
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    default_scopes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    agreement_versions: tuple[str, ...] = ("1.0",)

    @property
    def current_version(self) -> str:
        return self.agreement_versions[-1]

    def agreement_iri(self, base: str, version: str | None = None) -> str:
        return iris.standard_agreement(base, f"{self.slug}-{version or self.current_version}")

    def agreement_text(self, version: str) -> bytes:
        if version not in self.agreement_versions:
            raise NotFound(f"the {self.slug} scheme has no agreement version {version}")
        return (AGREEMENTS / f"{self.slug}-{version}.md").read_bytes()

    def agreement_digest(self, version: str) -> str:
        return "sha256:" + hashlib.sha256(self.agreement_text(version)).hexdigest()


_WRITE = ("assets-write", "commercial-write", "agreements-write", "messages-send")
_READ = ("assets-read", "messages-send")
FDI_SCHEME = Scheme(
    iri=FDI.FDIScheme.value,
    slug="fdi",
    title="Flexibility digital infrastructure scheme",
    roles=tuple(MARKET_ROLES[n].value for n in MARKET_ROLES if n != "SchemeOperator"),
    scopes=tuple(s.value for s in SCOPES.values()),
    default_scopes={
        MARKET_ROLES[role].value: tuple(SCOPES[s].value for s in scopes)
        for role, scopes in {
            "FlexibilityServiceProvider": _WRITE,
            "MarketOperator": _READ,
            "DistributionSystemOperator": _READ,
            "TransmissionSystemOperator": _READ,
            "AssetOwner": ("assets-read",),
            "Installer": ("messages-send",),
            "Manufacturer": ("messages-send",),
            "StandardsBody": ("messages-send",),
        }.items()
    },
)
SCHEMES = {FDI_SCHEME.slug: FDI_SCHEME}


def scheme(slug: str) -> Scheme:
    """Raises NotFound."""
    if slug not in SCHEMES:
        raise NotFound(f"no scheme {slug!r}; the registry runs {', '.join(SCHEMES)}")
    return SCHEMES[slug]


def scheme_of(iri: str) -> Scheme:
    return next(s for s in SCHEMES.values() if s.iri == iri)


def operator_iri(base: str) -> str:
    """The scheme operator organisation, created on first start (see
    ``registry.trust.operator``)."""
    return iris.organisation(base, "scheme-operator")


def name_of(iri: str) -> str:
    """The short name the API uses for a role or scope IRI.

    >>> name_of(FDI["scope-assets-read"].value), name_of(FDI.MarketOperator.value)
    ('assets-read', 'MarketOperator')
    """
    local = iri.rsplit("#", 1)[-1]
    return local.removeprefix("scope-")


def terms(names: list[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    """IRIs for short names or IRIs, each one of ``allowed``. Raises UnusableInput."""
    by_name = {name_of(a): a for a in allowed}
    out = []
    for name in names or []:
        iri = name if name in allowed else by_name.get(name)
        if iri is None:
            raise UnusableInput(f"unknown {what} {name!r}; use one of {', '.join(sorted(by_name))}")
        out.append(iri)
    return sorted(set(out))


# --- the scheme and its agreements as records ------------------------------------------------


def ensure_scheme(registry: Registry, tx: Transaction, s: Scheme = FDI_SCHEME) -> None:
    """Put the scheme's record and its agreement versions into ``tx`` unless already there."""
    if tx.info(s.iri) is not None:
        return
    base = registry.settings.base_iri
    for version in s.agreement_versions:
        iri = ox.NamedNode(s.agreement_iri(base, version))
        tx.put(
            iri,
            FDI.StandardAgreement,
            [
                ox.Triple(iri, RDF.type, FDI.StandardAgreement),
                ox.Triple(
                    iri,
                    DCT.title,
                    ox.Literal(f"{s.title}: standard agreement {version}", language="en"),
                ),
                ox.Triple(iri, OWL.versionInfo, ox.Literal(version)),
                ox.Triple(iri, FDI.scheme, ox.NamedNode(s.iri)),
                ox.Triple(iri, FDI.documentDigest, ox.Literal(s.agreement_digest(version))),
                ox.Triple(
                    iri,
                    DCAT.downloadURL,
                    ox.NamedNode(f"{base}schemes/{s.slug}/agreements/{version}"),
                ),
            ],
            graph=registry.public_graph,
            status="active",
        )
    node = ox.NamedNode(s.iri)
    triples = [
        ox.Triple(node, RDF.type, FDI.Scheme),
        ox.Triple(node, RDFS.label, ox.Literal(s.title, language="en")),
        ox.Triple(node, DCT.identifier, ox.Literal(s.slug)),
        ox.Triple(node, FDI.schemeOperator, ox.NamedNode(operator_iri(base))),
        ox.Triple(node, FDI.standardAgreement, ox.NamedNode(s.agreement_iri(base))),
        *(ox.Triple(node, FDI.offersRole, ox.NamedNode(r)) for r in s.roles),
        *(ox.Triple(node, FDI.offersScope, ox.NamedNode(c)) for c in s.scopes),
    ]
    tx.put(node, FDI.Scheme, triples, graph=registry.public_graph, status="active")


def describe(registry: Registry, s: Scheme) -> dict[str, Any]:
    base = registry.settings.base_iri
    return {
        "id": s.iri,
        "slug": s.slug,
        "title": s.title,
        "operator": operator_iri(base),
        "roles": [name_of(r) for r in s.roles],
        "scopes": [name_of(c) for c in s.scopes],
        "defaultScopes": {
            name_of(r): [name_of(c) for c in cs] for r, cs in s.default_scopes.items()
        },
        "agreement": {
            "id": s.agreement_iri(base),
            "version": s.current_version,
            "digest": s.agreement_digest(s.current_version),
            "href": f"{base}schemes/{s.slug}/agreements/{s.current_version}",
        },
        "join": {"method": "POST", "href": f"{base}schemes/{s.slug}/memberships"},
    }


def require_operator(principal: Principal) -> None:
    """Raises Unauthenticated or Forbidden unless the scheme operator is asking."""

    if not principal.authenticated:
        raise Unauthenticated("this needs the scheme operator's client certificate")
    if SCHEME_OPERATOR not in principal.roles:
        raise Forbidden("only the scheme operator may do this")
