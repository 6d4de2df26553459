"""The vocabulary and rules as pages and as data, at every released version.

``/ns`` and ``/shapes`` (and each file of them) read as documentation in a browser and as RDF
for programs (api/records.represent negotiates). Each released version stays at its version
IRI: ``/ns/{version}``, ``/shapes/{version}`` and ``/shapes/{version}/{name}``. ``/ns/diff``
compares two versions, as a page and as RDF (registry/rules/vocabulary_diff.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.pages import formats_links, render
from api.records import LINKED_DATA, represent
from registry.base import rdf
from registry.base.errors import NotFound
from registry.base.vocab import FDI, FDISH, TECH, curie
from registry.rules import releases
from registry.rules import vocabulary_docs as docs
from registry.rules.vocabulary_diff import diff, diff_triples

router = APIRouter(tags=["Linked data"])
_LOCAL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Routed last: /shapes/market/{slug} (api/commercial.py) must be matched before these.
versions = APIRouter(tags=["Linked data"])
NS_IRI = "https://w3id.org/fdi/ns"
SHAPES_IRI = "https://w3id.org/fdi/shapes"


@router.get("/ns", summary="The registry's ontology", **LINKED_DATA)
def ontology(request: Request) -> Response:
    """The vocabulary in force: its documentation in a browser, its Turtle (and so on) for
    programs."""
    registry = request.app.state.registry
    version = releases.in_force(registry)
    page = vocabulary_page(request, version, "FDI ontology")
    triples = releases.ontology_triples(registry, version)
    return represent(request, triples, title="FDI ontology", html=page)


@router.get(
    "/shapes",
    summary="The registry's SHACL shapes: the published rules",
    **LINKED_DATA,
)
def shapes(request: Request) -> Response:
    """The rules in force: documented in a browser, SHACL in Turtle (and so on) for programs.
    Each document is parsed once (registry.rules.releases.parsed): the same blank nodes every
    time, so the ETag stays the same between requests (and ``If-None-Match`` can match)."""
    registry = request.app.state.registry
    version = releases.in_force(registry)
    page = rules_page(request, version, None, "FDI rules (SHACL shapes)")
    triples = releases.shapes_triples(registry, version)
    return represent(request, triples, title="FDI shapes", html=page)


@router.get(
    "/ns/diff",
    summary="What changed between two released versions of the vocabulary and rules",
    **LINKED_DATA,
)
def version_diff(
    request: Request,
    from_: str = Query(None, alias="from", description="The older version (default: the first)"),
    to: str = Query(None, description="The newer version (default: the latest)"),
) -> Response:
    registry = request.app.state.registry
    released = list(releases.released_versions(registry))
    old, new = from_ or released[0], to or released[-1]
    changes = diff(registry, old, new)
    title = f"Changes from {old} to {new}"
    return represent(
        request,
        diff_triples(changes, request.app.state.settings.base_iri, old, new),
        title=title,
        html=lambda: render(
            "diff.html",
            title=title,
            old=old,
            new=new,
            released=released,
            changes=[_change(c, old, new) for c in changes],
            formats=formats_links(request),
        ).encode(),
    )


@router.get(
    "/technology/{name}",
    summary="One technology of the technology scheme (tech:BatteryStorage, ...) at its own IRI",
    **LINKED_DATA,
)
def technology(name: str, request: Request) -> Response:
    if not _LOCAL_NAME.fullmatch(name):  # nor would it make an IRI: no such technology
        raise NotFound(f"no technology {name!r} in the technology scheme")
    iri = TECH[name].value
    version = releases.in_force(request.app.state.registry)
    triples = docs.term_triples(request.app.state.registry, version, iri)
    page = vocabulary_page(request, version, curie(iri), only=iri)
    return represent(request, triples, title=curie(iri), iri=iri, html=page)


@versions.get(
    "/shapes/{version}/{name:path}",
    summary="One shapes document as it was released in a version (e.g. /shapes/0.1.0/asset)",
    **LINKED_DATA,
)
def released_shapes_file(version: str, name: str, request: Request) -> Response:
    triples = releases.shapes_triples(request.app.state.registry, version, name)
    title = f"Shapes: {name} ({version})"
    return represent(request, triples, title=title, html=rules_page(request, version, name, title))


def vocabulary_page(request: Request, version: str, title: str, only: str | None = None) -> Any:
    """The HTML of the vocabulary of ``version`` (or of its term ``only``), rendered when a
    browser asks."""

    def page() -> bytes:
        vocabulary = docs.vocabulary(request.app.state.registry, version)
        path = request.url.path
        groups: dict[str, list[dict[str, object]]] = {}
        for term in vocabulary.terms:
            if only is None or term.iri == only:
                groups.setdefault(term.kind, []).append(_term(term, path, version))
        return render(
            "vocabulary.html",
            title=title if only else vocabulary.title or title,
            description=vocabulary.description,
            groups=sorted(groups.items(), key=lambda kv: _KIND_ORDER.get(kv[0], 99)),
            rules_href=_shapes_path(path, version),
            **_version_context(request, version, f"{NS_IRI}/{version}", f"/ns/{version}"),
        ).encode()

    return page


def rules_page(request: Request, version: str, name: str | None, title: str) -> Any:
    """The HTML of the rules of ``version`` (one shapes document's, or all of them)."""

    def page() -> bytes:
        registry = request.app.state.registry
        vocabulary = docs.vocabulary(registry, version)
        chosen = {rdf.value(t.subject) for t in releases.shapes_triples(registry, version, name)}
        ns = _ns_path(request.url.path, version)
        rules = [_rule(r, ns) for r in vocabulary.rules if r.iri in chosen]
        iri = f"{SHAPES_IRI}/{version}" + (f"/{name}" if name else "")
        href = f"/shapes/{version}" + (f"/{name}" if name else "")
        return render(
            "rules.html",
            title=title,
            description=None,
            rules=rules,
            terms_href=ns,
            **_version_context(request, version, iri if name else None, href),
        ).encode()

    return page


_KIND_ORDER = {
    "Class": 0,
    "Object property": 1,
    "Datatype property": 2,
    "Annotation property": 3,
    "Property": 4,
    "Concept scheme": 5,
    "Concept": 6,
    "Individual": 7,
}


def _version_context(
    request: Request, version: str, iri: str | None, href: str
) -> dict[str, object]:
    others = [v for v in releases.released_versions(request.app.state.registry) if v != version]
    prefix = href.rsplit(version, 1)
    return {
        "version": version,
        "version_iri": iri,
        "version_href": href,
        "others": [{"version": v, "href": prefix[0] + v + prefix[1]} for v in others],
        "formats": formats_links(request),
    }


def _ns_path(path: str, version: str) -> str:
    return f"/ns/{version}" if version in path else "/ns"


def _shapes_path(path: str, version: str) -> str:
    return f"/shapes/{version}" if version in path else "/shapes"


def link(iri: str, ns: str = "/ns", shapes: str = "/shapes") -> dict[str, str]:
    """A term's link: its section on this registry's pages for the registry's own terms,
    else the IRI itself (another vocabulary's)."""
    text = curie(iri)
    if iri.startswith((FDI.iri, TECH.iri)):
        return {"href": f"{ns}#{docs.anchor(iri)}", "text": text}
    if iri.startswith(FDISH.iri):
        return {"href": f"{shapes}#{docs.anchor(iri)}", "text": text}
    return {"href": iri, "text": text}


def _deprecation(d: docs.Deprecation | None, ns: str) -> dict[str, object] | None:
    if d is None:
        return None
    return {"replaced_by": [link(r, ns) for r in d.replaced_by], "sunset": d.sunset}


def _term(term: docs.Term, path: str, version: str) -> dict[str, object]:
    ns = _ns_path(path, version)
    out = asdict(term)
    out["facts"] = [(name, [link(v, ns) for v in values]) for name, values in term.facts]
    out["deprecation"] = _deprecation(term.deprecation, ns)
    return out


def _rule(rule: docs.Rule, ns: str) -> dict[str, object]:
    out = asdict(rule)
    out["constrains"] = [link(c, ns) for c in rule.constrains]
    out["fixtures"] = [(n, docs.fixture("invalid", n)) for n in rule.invalid_fixtures]
    out["deprecation"] = _deprecation(rule.deprecation, ns)
    return out


def _change(change: Any, old: str, new: str) -> dict[str, object]:
    version = old if change.kind == "Removed" else new
    ns, shapes = f"/ns/{version}", f"/shapes/{version}"
    return {**asdict(change), "link": link(change.subject, ns, shapes)}
