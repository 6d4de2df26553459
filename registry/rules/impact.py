"""A proposal's impact: which registered records its rules would refuse, whose, and why.

Computed in a background thread while the registry serves, from a snapshot of the index (an
on-disk index: ``Store.backup``, hard links; in memory: a copy taken under the write lock), by
the compiled engine in parts (``registry.rules.revalidation``'s partition of the focus nodes), so
the
report shows its progress part by part. When it is ready, each organisation with records that
would fail is told its count in its inbox and the proposal goes to consultation
(``registry.rules.consultation.open_consultation``). Reports are kept in memory: after a restart the
first request for one computes it again (the notices are sent once, by the proposal's status).

Who sees what (:func:`view`): anyone the progress and totals; the proposer and the scheme
operator the counts by rule and by organisation; each affected organisation its own records
(counts by rule and samples), never another's.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
import rdflib

from registry.base.clock import now_seconds
from registry.base.identity import Principal
from registry.rules import rules
from registry.rules.consultation import open_consultation
from registry.rules.proposal_records import Proposal, read
from registry.shacl.engine import compile_shapes
from registry.shacl.findings import report_findings, result_findings
from registry.shacl.validation import reference_report

if TYPE_CHECKING:
    from registry.kernel.core import Registry

log = logging.getLogger(__name__)
PARTS = 8
SAMPLES = 5


@dataclass
class Failure:
    record: str
    owner: str | None
    rule: str
    message: str


@dataclass
class Impact:
    """One proposal's report, as far as it has got."""

    proposal: str
    version: str
    status: str = "running"  # running, finished, failed
    parts: int = PARTS
    done: int = 0
    started: str = ""
    finished: str | None = None
    error: str | None = None
    failures: list[Failure] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Records that would fail, per owning organisation."""
        out: dict[str, set[str]] = {}
        for f in self.failures:
            if f.owner:
                out.setdefault(f.owner, set()).add(f.record)
        return {o: len(r) for o, r in out.items()}


def _runners(registry: Registry) -> dict[str, Impact]:
    runners: dict[str, Impact] = registry.__dict__.setdefault("_impacts", {})
    return runners


_lock = threading.Lock()


def start(registry: Registry, proposal_iri: str, *, wait: bool = False) -> Impact:
    """The proposal's report, started in the background if there is none (or it failed)."""
    with _lock:
        found = _runners(registry).get(proposal_iri)
        if found is not None and found.status != "failed":
            return found
        proposal = read(registry, proposal_iri)
        impact = Impact(proposal_iri, proposal.version, started=now_seconds())
        _runners(registry)[proposal_iri] = impact
        version = candidate(registry, proposal)
    thread = threading.Thread(
        target=_run, args=(registry, impact, version), daemon=True, name=f"impact-{proposal_iri}"
    )
    thread.start()
    if wait:
        thread.join()
    return impact


def wait(registry: Registry, proposal_iri: str, timeout: float = 60) -> Impact:
    """Block until the report is ready (tests, the command line)."""
    import time

    deadline = time.monotonic() + timeout
    impact = start(registry, proposal_iri)
    while impact.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    return impact


def affected(registry: Registry, proposal_iri: str) -> dict[str, int]:
    """The organisations whose records the proposal would refuse, with counts (empty until the
    report is ready)."""
    impact = _runners(registry).get(proposal_iri)
    return impact.counts() if impact is not None and impact.status == "finished" else {}


def _run(registry: Registry, impact: Impact, version: rules.RulesVersion) -> None:
    try:
        graph = rules.shapes_for(registry, version).graph
        with tempfile.TemporaryDirectory(prefix="impact-") as tmp:
            store = _snapshot(registry, Path(tmp))
            impact.failures = _failures(registry, impact, graph, store)
            del store
        impact.finished = now_seconds()
        impact.status = "finished"
        open_consultation(registry, impact.proposal, impact.counts())
    except Exception as e:  # a report that fails says so; the registry serves on
        log.exception("the impact report of %s failed", impact.proposal)
        impact.error = f"{type(e).__name__}: {e}"
        impact.status = "failed"


def _snapshot(registry: Registry, tmp: Path) -> ox.Store:
    store = getattr(registry.index, "store", None)
    path = getattr(registry.index, "path", None)
    if store is not None and path is not None:
        store.flush()
        store.backup(str(tmp / "index"))
        return ox.Store.read_only(str(tmp / "index"))
    copy = ox.Store()
    with registry._write_lock:  # an in-memory index: copied between two writes
        copy.bulk_extend(store if store is not None else registry.index.dump())
    return copy


def _failures(
    registry: Registry, impact: Impact, graph: rdflib.Graph, store: ox.Store
) -> list[Failure]:
    engine = compile_shapes(graph)
    pairs: list[tuple[str, str, str]] = []
    if engine is None:  # shapes the compiled engine hands back: pySHACL on rdflib, in one go
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store]
        report = reference_report(triples, graph, None)
        foci = [str(f) for f in report.objects(None, rdflib.SH.focusNode)]
        found = report_findings(report, graph, {}, "turtle")
        pairs = [(f, x.rule, x.message) for f, x in zip(foci, found, strict=False)]
        impact.done = impact.parts
    else:
        for part in range(impact.parts):
            results = engine.validate(store, part=(part, impact.parts))
            findings = result_findings(results, graph, {}, "turtle")
            pairs += [
                (r.focus.value, f.rule, f.message)
                for r, f in zip(results, findings, strict=True)
                if f.severity == "Violation" and isinstance(r.focus, ox.NamedNode)
            ]
            impact.done = part + 1
    out = []
    owners: dict[str, str | None] = {}
    seen = set()
    for focus, rule, message in pairs:
        record = focus.split("#", 1)[0]
        if (record, rule) in seen:
            continue
        seen.add((record, rule))
        if record not in owners:
            info = registry.info(record)
            owners[record] = info.owner if info is not None else None
        out.append(Failure(record, owners[record], rule, message))
    return out


def view(registry: Registry, principal: Principal, proposal_iri: str) -> dict[str, Any]:
    """The report as ``principal`` may see it (see the module's docstring)."""
    proposal = read(registry, proposal_iri)
    impact = start(registry, proposal_iri)
    out: dict[str, Any] = {
        "proposal": proposal_iri,
        "version": impact.version,
        "status": impact.status,
        "progress": {"parts": impact.parts, "done": impact.done},
        "started": impact.started,
        "finished": impact.finished,
    }
    if impact.error:
        out["error"] = impact.error
    if impact.status != "finished":
        return out
    counts = impact.counts()
    out["records"] = sum(counts.values())
    out["organisations"] = len(counts)
    me = principal.organisation
    if principal.is_scheme_operator or (me is not None and me == proposal.proposer):
        out["byOrganisation"] = dict(sorted(counts.items()))
        out["byRule"] = _by_rule(impact.failures)
    if me is not None and me in counts:
        mine = [f for f in impact.failures if f.owner == me]
        out["yours"] = {
            "records": counts[me],
            "byRule": _by_rule(mine),
            "samples": [
                {"record": f.record, "rule": f.rule, "message": f.message} for f in mine[:SAMPLES]
            ],
        }
    return out


def _by_rule(failures: list[Failure]) -> dict[str, int]:
    out: dict[str, set[str]] = {}
    for f in failures:
        out.setdefault(f.rule, set()).add(f.record)
    return {rule: len(records) for rule, records in sorted(out.items())}


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
