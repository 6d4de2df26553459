"""Rules versions: the vocabulary and shapes a submission is checked against, and when.

A rules version is a set of Turtle documents named as their files are: ``ontology/fdi``,
``ontology/technologies``, ``shapes/asset``, ..., ``shapes/market/neso``. The packaged files are
version :data:`PACKAGED` (the ontology's ``owl:versionInfo``). Every later version is a proposal
(``registry.rules.proposals``) the scheme operator adopted with an effective date: its documents
replace or add to those of its base version. Adopted versions live in the proposal's record,
so they are journaled like every record: they survive a restart, an index rebuild and a
restore from backup.

Which version checks a submission is a matter of time: :func:`in_force` is the latest adopted
version whose effective date has come (the packaged version before any). ``Registry.shapes``
asks it on every submission, so versions and their compiled shapes are kept in memory (per
registry, until the next adoption; per version content, for the shapes).

Graphs are rdflib ``Graph`` objects (:meth:`RulesVersion.ontology`, :meth:`RulesVersion.shapes`,
:meth:`RulesVersion.market`, :meth:`RulesVersion.document`), built once per version.

>>> v = packaged()
>>> v.version, v.iri, v.ontology_iri
('0.1.0', 'https://w3id.org/fdi/shapes/0.1.0', 'https://w3id.org/fdi/ns/0.1.0')
>>> "shapes/asset" in v.names and "shapes/market/neso" in v.names
True
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib

from registry.base.errors import NotFound, UnusableInput
from registry.base.resources import ontology_dir, shapes_dir, ttl_files
from registry.base.vocab import DCT, FDI
from registry.rules.proposal_records import read
from registry.shacl.validation import Shapes, shapes_of

if TYPE_CHECKING:
    from registry.kernel.core import Registry

PACKAGED = "0.1.0"
ONTOLOGY_BASE = "https://w3id.org/fdi/ns/"
SHAPES_BASE = "https://w3id.org/fdi/shapes/"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
DOCUMENT_NAME = re.compile(r"^(ontology|shapes|shapes/market)/[a-z][a-z0-9-]{0,40}$")
STATUSES = ("proposed", "adopted", "in force", "superseded")


@dataclass(frozen=True)
class RulesVersion:
    """One version of the rules.

    ``documents``: name to Turtle text, sorted by name. ``status``: proposed, adopted (its
    effective date is still to come), in force, or superseded. ``effective``: when it came or
    comes into force (None for the packaged version, in force from the start). ``proposal``:
    the IRI of the proposal that made it (None for the packaged version).
    """

    version: str
    documents: tuple[tuple[str, str], ...]
    status: str = "in force"
    effective: dt.datetime | None = None
    proposal: str | None = None

    @property
    def iri(self) -> str:
        """The rules' version IRI, which records name in ``dcterms:conformsTo``."""
        return SHAPES_BASE + self.version

    @property
    def ontology_iri(self) -> str:
        return ONTOLOGY_BASE + self.version

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.documents]

    def text(self, name: str) -> str:
        """A document's Turtle. Raises NotFound."""
        for n, text in self.documents:
            if n == name:
                return text
        raise NotFound(f"rules version {self.version} has no document {name!r}")

    def document(self, name: str) -> rdflib.Graph:
        return _graph(((name, self.text(name)),))

    def ontology(self) -> rdflib.Graph:
        """Every ontology document, as one graph."""
        return _graph(tuple(d for d in self.documents if d[0].startswith("ontology/")))

    def shapes(self) -> rdflib.Graph:
        """The registry's own rules (every shapes document but the markets'), as one graph."""
        return _graph(tuple(d for d in self.documents if _kind(d[0]) == "shapes"))

    def market(self, slug: str) -> rdflib.Graph:
        """One market operator's requirements. Raises NotFound."""
        return self.document(f"shapes/market/{slug}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "iri": self.iri,
            "ontology": self.ontology_iri,
            "status": self.status,
            "effective": self.effective.isoformat() if self.effective else None,
            "proposal": self.proposal,
            "documents": self.names,
        }


def _kind(name: str) -> str:
    return "market" if name.startswith("shapes/market/") else name.split("/", 1)[0]


@lru_cache(maxsize=64)
def _graph(documents: tuple[tuple[str, str], ...]) -> rdflib.Graph:
    graph = rdflib.Graph()
    for name, text in documents:
        try:
            graph.parse(data=text, format="turtle")
        except Exception as e:  # rdflib raises many kinds
            raise UnusableInput(f"{name} is not well-formed Turtle: {e}") from None
    return graph


@lru_cache(maxsize=1)
def packaged() -> RulesVersion:
    """The version of the packaged ontology and shapes files."""
    docs = [(f"ontology/{p.stem}", p.read_text("utf-8")) for p in ttl_files(ontology_dir())]
    docs += [(f"shapes/{p.stem}", p.read_text("utf-8")) for p in ttl_files(shapes_dir())]
    market = shapes_dir() / "market"
    if market.is_dir():
        docs += [(f"shapes/market/{p.stem}", p.read_text("utf-8")) for p in ttl_files(market)]
    return RulesVersion(PACKAGED, tuple(sorted(docs)))


def semver(version: str) -> tuple[int, int, int]:
    """``"0.10.2"`` as ``(0, 10, 2)``. Raises UnusableInput.

    >>> semver("0.10.2") > semver("0.9.9")
    True
    """
    found = SEMVER.match(version or "")
    if not found:
        raise UnusableInput(f"{version!r} is not a semantic version such as 0.2.0")
    return int(found[1]), int(found[2]), int(found[3])


def derive(base: RulesVersion, version: str, documents: dict[str, str], **kw: Any) -> RulesVersion:
    """A new version: ``base``'s documents, those named in ``documents`` replaced or added."""
    merged = dict(base.documents)
    merged.update(documents)
    return RulesVersion(version, tuple(sorted(merged.items())), **kw)


# --- the registry's versions -------------------------------------------------------------------

_cache_lock = threading.Lock()


def versions(registry: Registry) -> list[RulesVersion]:
    """Every released version (the packaged one and every adopted one), oldest first, each
    with its status as of now (``registry.clock``)."""
    return _with_status(_released(registry), registry.clock())


def get(registry: Registry, version: str) -> RulesVersion:
    """One released version. Raises NotFound."""
    for v in versions(registry):
        if v.version == version:
            return v
    known = ", ".join(v.version for v in versions(registry))
    raise NotFound(f"no rules version {version!r}; the registry has {known}")


def in_force(registry: Registry, at: dt.datetime | None = None) -> RulesVersion:
    """The version that checks a submission made at ``at`` (default: now)."""
    return replace(_pick(registry, at or registry.clock()), status="in force")


def _pick(registry: Registry, at: dt.datetime) -> RulesVersion:
    chosen = None
    for v in _released(registry):
        if v.effective is None or v.effective <= at:
            chosen = v
    assert chosen is not None  # the packaged version has no effective date
    return chosen


def latest(registry: Registry) -> RulesVersion:
    """The newest adopted version (in force or not yet): what a new proposal builds on."""
    return _released(registry)[-1]


def shapes_in_force(registry: Registry, at: dt.datetime | None = None) -> tuple[str, Shapes]:
    """The version in force and its shapes, compiled once per version."""
    v = _pick(registry, at or registry.clock())  # on every submission: kept cheap
    return v.version, shapes_for(registry, v)


def shapes_for(registry: Registry, v: RulesVersion) -> Shapes:
    """A version's shapes as validation uses them (the registry's validator chosen)."""
    # A released version number names one content for good (adoption takes numbers above the
    # latest only); competing proposals may share a number, so theirs are kept by content.
    cache: dict[Any, Shapes] = registry.__dict__.setdefault("_rules_shapes", {})
    key = (v.version, v.documents) if v.status == "proposed" else v.version
    found = cache.get(key)
    if found is None:
        if v.version == PACKAGED and v.documents == packaged().documents:
            found = registry.packaged_shapes
        else:
            found = replace(
                shapes_of(v.shapes(), v.iri), engine=registry.settings.validator, _compiled={}
            )
        with _cache_lock:
            cache[key] = found
    return found


def forget(registry: Registry) -> None:
    """Drop the registry's list of versions (after an adoption)."""
    registry.__dict__.pop("_rules_released", None)


def _released(registry: Registry) -> list[RulesVersion]:
    found = registry.__dict__.get("_rules_released")
    if found is None:
        found = [packaged(), *_adopted(registry)]
        found.sort(key=lambda v: semver(v.version))
        with _cache_lock:
            registry.__dict__["_rules_released"] = found
    return found


def _adopted(registry: Registry) -> list[RulesVersion]:
    """Adopted proposals as versions, each built on its base."""
    adopted = registry.record_iris(FDI.RulesProposal, status="adopted")
    proposals = [read(registry, iri) for iri in adopted]
    proposals.sort(key=lambda p: semver(p.version))
    by_version = {PACKAGED: packaged()}
    out = []
    for p in proposals:
        base = by_version.get(p.base)
        if base is None:  # cannot happen: adoption checks the base is the latest version
            continue
        v = derive(base, p.version, p.documents, effective=p.effective, proposal=p.iri)
        by_version[p.version] = v
        out.append(v)
    return out


def _with_status(released: list[RulesVersion], now: dt.datetime) -> list[RulesVersion]:
    current = None
    for v in released:
        if v.effective is None or v.effective <= now:
            current = v.version
    out = []
    passed = False
    for v in reversed(released):
        if v.version == current:
            status, passed = "in force", True
        elif passed:
            status = "superseded"
        else:
            status = "adopted"
        out.append(replace(v, status=status))
    return list(reversed(out))


# --- which version validated a record -----------------------------------------------------------


def validated_by(registry: Registry, iri: str) -> str | None:
    """The rules version that validated the current version of a record (None: a record the
    registry made itself, or one registered with shapes given to the registry directly)."""
    info = registry.info(iri)
    if info is None:
        return None
    query = _RULES_OF_RECORD_PG if registry.journal.shared else _RULES_OF_RECORD
    rows = registry.journal.read(query, (info.seq, iri))
    return str(rows[0][0]) if rows and rows[0][0] else None


# The "rules" of the record in its entry, read by SQLite's JSON functions (a bulk entry holds
# hundreds of records: parsing it in Python for one record's version was the slow part), its
# body decompressed by the journal's ``entry_body`` (registry.store.journal).
_RULES_OF_RECORD = (
    "SELECT json_extract(r.value, '$.rules') "
    "FROM entry, json_each(entry_body(entry.body), '$.records') AS r "
    "WHERE entry.seq = ? AND json_extract(r.value, '$.iri') = ?"
)
# The same with PostgreSQL's JSON functions (the journal on PostgreSQL, registry.store.journal_pg).
_RULES_OF_RECORD_PG = (
    "SELECT r ->> 'rules' FROM entry, json_array_elements(entry.body::json -> 'records') AS r "
    "WHERE entry.seq = ? AND r ->> 'iri' = ?"
)


def conforms_to(registry: Registry, iri: str) -> list[ox.Triple]:
    """The ``dcterms:conformsTo`` statement of a record (served as a Link header): the rules
    that validated it."""
    version = validated_by(registry, iri)
    if version is None:
        return []
    return [ox.Triple(ox.NamedNode(iri), DCT.conformsTo, ox.NamedNode(SHAPES_BASE + version))]
