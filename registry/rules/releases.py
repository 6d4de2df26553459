"""Released versions of the vocabulary and the rules (the packaged one and each adopted one),
and their documents' triples, as ``/ns`` and ``/shapes`` serve them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from registry.base.errors import NotFound
from registry.rules import rules

if TYPE_CHECKING:
    from registry.kernel.core import Registry


@dataclass(frozen=True)
class Release:
    """One released version of the vocabulary and rules: its documents (name to Turtle) as
    registry.rules.rules keeps them: ``ontology/fdi``, ``shapes/asset``, ``shapes/market/neso``."""

    version: str
    documents: tuple[tuple[str, str], ...]

    def ontology_texts(self) -> list[str]:
        return [text for name, text in self.documents if name.startswith("ontology/")]

    def shapes_texts(self) -> dict[str, str]:
        """Shapes documents by name: ``asset``, ..., and ``market/neso`` for market rules."""
        return {
            name.removeprefix("shapes/"): text
            for name, text in self.documents
            if name.startswith("shapes/")
        }


def released_versions(registry: Registry | None = None) -> dict[str, Release]:
    """Every released version by version number, oldest first: the packaged one and each one
    the scheme operator adopted (in force, superseded, or adopted for a day still to come).
    Without a registry, the packaged version alone."""
    found = rules.versions(registry) if registry is not None else [rules.packaged()]
    return {v.version: Release(v.version, v.documents) for v in found}


def in_force(registry: Registry | None) -> str:
    """The version in force now (what ``/ns`` and ``/shapes`` serve)."""
    return rules.in_force(registry).version if registry is not None else rules.PACKAGED


def release(registry: Registry | None, version: str) -> Release:
    """The released version ``version``. Raises NotFound."""
    released = released_versions(registry)
    found = released.get(version)
    if found is None:
        raise NotFound(f"no released version {version}; released: {', '.join(released)}")
    return found


@lru_cache(maxsize=64)
def parsed(text: str) -> tuple[ox.Triple, ...]:
    """A Turtle document's triples, parsed once (stable blank nodes, so stable ETags)."""
    return tuple(
        ox.Triple(q.subject, q.predicate, q.object)
        for q in ox.parse(text, format=ox.RdfFormat.TURTLE)
    )


def ontology_triples(registry: Registry | None, version: str) -> list[ox.Triple]:
    """The ontology of a released version. Raises NotFound."""
    return [t for text in release(registry, version).ontology_texts() for t in parsed(text)]


def ontology_document(registry: Registry | None, version: str, name: str) -> list[ox.Triple]:
    """One document of a released version's ontology (``fdi``, ``technologies``). Raises
    NotFound."""
    for document, text in release(registry, version).documents:
        if document == "ontology/" + name.removesuffix(".ttl"):
            return list(parsed(text))
    raise NotFound(f"version {version} has no ontology document {name}")


def shapes_triples(
    registry: Registry | None, version: str, name: str | None = None
) -> list[ox.Triple]:
    """One shapes document of a released version, or (no name) every document outside
    ``market/``, as ``/shapes`` serves them. Raises NotFound."""
    texts = release(registry, version).shapes_texts()
    if name is None:
        return [t for key, text in texts.items() if "/" not in key for t in parsed(text)]
    if name.removesuffix(".ttl") not in texts:
        raise NotFound(f"version {version} has no shapes document {name}")
    return list(parsed(texts[name.removesuffix(".ttl")]))


def all_shapes_triples(registry: Registry | None, version: str) -> list[ox.Triple]:
    return [t for text in release(registry, version).shapes_texts().values() for t in parsed(text)]
