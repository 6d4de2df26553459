"""Bulk jobs: good rows in, bad rows reported by row and field, resumable after a crash."""

import csv
import io

from registry.assembly import Registry
from registry.assets.jobs import JobRunner
from registry.operations.demo import generate
from tests.test_assets import make_fsp


def demo_csv(n: int, bad_every: int | None = None) -> tuple[bytes, set[int]]:
    rows = [row for row, _ in zip(generate(assets=n, seed=7).asset_rows, range(n), strict=False)]
    bad = set()
    out = io.StringIO()
    from registry.submissions.csvformat import HEADER

    writer = csv.DictWriter(out, fieldnames=HEADER)
    writer.writeheader()
    for i, row in enumerate(rows):
        row = dict(row)
        if bad_every and i % bad_every == 0:
            row["mpan"] = (
                row["mpan"][:-1] + str((int(row["mpan"][-1]) + 1) % 10)
                if row.get("mpan")
                else row["mpan"]
            )
            if row.get("mpan"):
                bad.add(i + 2)  # CSV row number (header is row 1)
        writer.writerow(row)
    return out.getvalue().encode(), bad


def test_a_job_registers_good_rows_and_reports_bad_ones(registry):
    fsp = make_fsp(registry, "00000001")
    data, bad_rows = demo_csv(300, bad_every=50)
    runner = JobRunner(registry, chunk=100)
    job = runner.submit(data, "csv", "assets.csv", fsp, fsp.organisation, start=False)
    job = runner.run(job.id)
    assert job.status == "finished"
    assert job.registered == 300 - len(bad_rows)
    refused_rows = {int(f["record"].split()[1]) for f in job.refused}
    assert refused_rows == bad_rows
    assert all(f["field"] == "mpan" for f in job.refused)
    assert registry.counts()["asset"] == 300 - len(bad_rows)


def test_a_job_resumes_without_registering_a_chunk_twice(disk_settings):
    registry = Registry(disk_settings)
    fsp = make_fsp(registry, "00000001")
    data, _ = demo_csv(250)
    runner = JobRunner(registry, chunk=100)
    job = runner.submit(data, "csv", "assets.csv", fsp, fsp.organisation, start=False)
    # Run the first chunk only, as if the process died after acknowledging it.
    from registry.submissions.formats import read_bytes
    from registry.submissions.records import split_records

    parsed = read_bytes(data, "csv", "assets.csv")
    records = split_records(parsed.triples, parsed.origins).records
    runner._run_chunk(runner.get(job.id), 0, records[:100], parsed, fsp.actor)
    registry.close()

    reopened = Registry(disk_settings)
    again = JobRunner(reopened, chunk=100)
    assert again.resume() == [job.id]
    again.wait(120)
    finished = again.get(job.id)
    assert finished.status == "finished"
    assert finished.registered == 250
    assert reopened.counts()["asset"] == 250
    reopened.close()
