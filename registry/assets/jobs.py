"""Bulk registration jobs: many records from one file, registered in chunks that survive crashes.

A job is journaled when it is accepted (its input file is kept, fsync'd, beside the journal).
It then registers its records chunk by chunk; each chunk is one journal entry that carries the
job ID, the chunk number, the IDs minted and the rows refused, so the progress of a job *is*
what the journal says. After a crash, :meth:`JobRunner.resume` continues each unfinished job
from the first chunk the journal does not have: an acknowledged row is never registered twice,
and a chunk is either wholly in the registry or not at all.

Records may refer to records of earlier chunks by their local IDs (list assets before the
rights to operate them); those references are rewritten to the minted IRIs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from registry.assets.assets import check_submission
from registry.base.errors import NotFound, UnusableInput
from registry.base.identity import Principal
from registry.base.rdf import Term
from registry.kernel.core import Registry
from registry.kernel.features import Feature, Known
from registry.store import personal
from registry.store.journal import Entry
from registry.submissions.formats import SUBMISSION_BASE, Parsed, read_bytes
from registry.submissions.records import Record, local_id, split_records

# Each bulk job's events, one row each.
SCHEMA = """
CREATE TABLE IF NOT EXISTS job_event (
    job   TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    time  TEXT NOT NULL,
    actor TEXT NOT NULL,
    body  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_event_job ON job_event (job, seq);
"""

CHUNK = 500


@dataclass
class Job:
    """A bulk job's state, as derived from the journal."""

    id: str
    owner: str | None
    actor: str
    source: str
    format: str
    total: int
    created: str
    chunks_done: int = 0
    registered: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    finished: str | None = None

    @property
    def processed(self) -> int:
        return self.registered + len({f["record"] for f in self.refused})

    @property
    def status(self) -> str:
        return "finished" if self.finished else "running"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "source": self.source,
            "total": self.total,
            "processed": min(self.processed, self.total),
            "registered": self.registered,
            "refusedRecords": len({f["record"] for f in self.refused}),
            "created": self.created,
            "finished": self.finished,
            "refused": self.refused,
            "ids": self.ids,
        }


class JobRunner:
    """Runs bulk jobs in a background thread, one at a time, resuming after a restart."""

    def __init__(self, registry: Registry, chunk: int = CHUNK) -> None:
        self.registry = registry
        self.chunk = chunk
        self._inputs: dict[str, bytes] = {}  # in-memory registries keep inputs here
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # --- starting and resuming -------------------------------------------------------------

    def submit(
        self,
        data: bytes,
        fmt: str,
        source: str,
        principal: Principal,
        owner: str | None,
        *,
        start: bool = True,
    ) -> Job:
        """Accept a file as a job; registration starts in the background.

        Raises UnusableInput if the file cannot be parsed, Unauthenticated or Forbidden if
        ``principal`` may not register what it holds (``registry.assets.assets.check_submission``);
        nothing is stored then.
        """
        parsed = read_bytes(data, fmt, source=source)
        check_submission(self.registry, parsed, principal)
        total = len(split_records(parsed.triples, parsed.origins).records)
        job_id = str(uuid.uuid4())
        self._keep_input(job_id, data)
        payload = {
            "job": {
                "id": job_id,
                "event": "created",
                "source": source,
                "format": fmt,
                "total": total,
                "owner": owner,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        }
        with self.registry.transaction(principal.actor, "job") as tx:
            tx.event(payload)
        if start:
            self._start(job_id)
        return self.get(job_id)

    def resume(self) -> list[str]:
        """Restart every unfinished job (after a crash or restart) whose input this registry
        holds (replicas sharing a journal each resume their own); returns their IDs."""
        unfinished = [job.id for job in self.jobs() if not job.finished and self._holds(job.id)]
        for job_id in unfinished:
            self._start(job_id)
        return unfinished

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _start(self, job_id: str) -> None:
        thread = threading.Thread(
            target=self.run, args=(job_id,), daemon=True, name=f"job-{job_id}"
        )
        self._threads.append(thread)
        thread.start()

    # --- running -----------------------------------------------------------------------------

    def run(self, job_id: str) -> Job:
        """Register the job's remaining chunks (idempotent: done chunks are skipped)."""
        with self._lock:
            job = self.get(job_id)
            actor = job.actor
            parsed = read_bytes(self._input(job_id), job.format, source=job.source)
            records = split_records(parsed.triples, parsed.origins).records
            chunks = [records[i : i + self.chunk] for i in range(0, len(records), self.chunk)]
            for number in range(job.chunks_done, len(chunks)):
                self._run_chunk(job, number, chunks[number], parsed, actor)
                job = self.get(job_id)
            with self.registry.transaction(actor, "job") as tx:
                tx.event({"job": {"id": job_id, "event": "finished"}})
            return self.get(job_id)

    def _run_chunk(
        self, job: Job, number: int, records: list[Record], parsed: Parsed, actor: str
    ) -> None:
        renaming: dict[Term, ox.NamedNode] = {
            ox.NamedNode(_local_iri(k)): ox.NamedNode(v) for k, v in job.ids.items()
        }
        triples = [
            ox.Triple(t.subject, t.predicate, renaming.get(t.object, t.object))
            for r in records
            for t in r.triples
        ]
        origins = {r.subject: r.origin for r in records}
        chunk = Parsed(parsed.source, parsed.format, triples, origins)
        with self.registry.transaction(actor, "register") as tx:
            staged = self.registry.stage(tx, chunk, job.owner, partial=True)
            ids = {local_id(r.subject): staged.renaming[r.subject].value for r in staged.accepted}
            refused = [
                personal.withhold(f.as_dict())
                for f in staged.report.violations
                if f.record in {r.origin for r in staged.refused}
            ]
            # The event alone makes the chunk an entry, so progress moves even if all was refused.
            tx.event(
                {
                    "job": {
                        "id": job.id,
                        "event": "chunk",
                        "chunk": number,
                        "ids": ids,
                        "refused": refused,
                    }
                }
            )

    # --- state from the journal ------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """A job's state. Raises NotFound."""
        for job in self.jobs(job_id):
            return job
        raise NotFound(f"no job {job_id}")

    def jobs(self, job_id: str | None = None) -> list[Job]:
        """Every job (or one), replayed from its journaled events."""
        where, params = ("WHERE job = ?", (job_id,)) if job_id else ("", ())
        found: dict[str, Job] = {}
        for time, actor, body in self.registry.journal.read(
            f"SELECT time, actor, body FROM job_event {where} ORDER BY seq", params
        ):
            _apply(found, json.loads(body), actor, time)
        return list(found.values())

    # --- inputs ------------------------------------------------------------------------------

    def _keep_input(self, job_id: str, data: bytes) -> None:
        directory = self._directory()
        if directory is None:
            self._inputs[job_id] = data
            return
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{job_id}.input"
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _input(self, job_id: str) -> bytes:
        directory = self._directory()
        if directory is None:
            return self._inputs[job_id]
        try:
            return (directory / f"{job_id}.input").read_bytes()
        except OSError as e:
            raise UnusableInput(f"the input of job {job_id} is missing: {e}") from e

    def _holds(self, job_id: str) -> bool:
        directory = self._directory()
        return (directory / f"{job_id}.input").exists() if directory else job_id in self._inputs

    def _directory(self) -> Path | None:
        data_dir = self.registry.settings.data_dir
        return Path(data_dir) / "jobs" if data_dir else None


def _apply(found: dict[str, Job], data: dict[str, Any], actor: str, time: str) -> None:
    event = data.get("event")
    if event == "created":
        found[data["id"]] = Job(
            data["id"],
            data.get("owner"),
            actor,
            data["source"],
            data["format"],
            data["total"],
            time,
        )
        return
    job = found.get(data["id"])
    if job is None:
        return
    if event == "chunk" and data["chunk"] == job.chunks_done:
        job.chunks_done += 1
        job.registered += len(data["ids"])
        job.ids.update(data["ids"])
        job.refused.extend(data["refused"])
    elif event == "finished":
        job.finished = job.finished or time


def _local_iri(local: str) -> str:
    return SUBMISSION_BASE + local


def _derive(db: sqlite3.Connection, entry: Entry, known: Known) -> None:
    """A job's events, one row each, in the entry's transaction."""
    for event in entry.payload.get("events", []):
        if "job" in event:
            db.execute(
                "INSERT INTO job_event (job, seq, time, actor, body) VALUES (?, ?, ?, ?, ?)",
                (event["job"]["id"], entry.seq, entry.time, entry.actor, json.dumps(event["job"])),
            )


FEATURE = Feature("jobs", schema=SCHEMA, derive=_derive)
