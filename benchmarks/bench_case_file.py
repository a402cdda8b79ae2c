"""The examiner's case file: how long one export takes (docs/PERFORMANCE.md, "The examiner's
case file"). The target: a case with 20 documents exports in at most 10 s.

Builds a throwaway database (SQLite, or a PostgreSQL schema with --postgres) holding
--chain-events audit events of other work (recorded through `core.store.audit.record_many`,
so chained as any write is: the export's fresh checkpoint and inclusion proofs read the whole
chain) and one case with --documents documents, each with --versions file versions of
--doc-kb KB of random bytes (incompressible, as scans are), two UBOs, screening hits, notes
and a few hundred audit events of its own. Then it times, median of --repeat runs after one
warm-up: gathering the contents, rendering the HTML, rendering the PDF, and the whole
`export_case_file` (all of them, the checkpoint, proofs, signing, ZIP and the audited export
record), and checks the bundle with the verifier.

    python benchmarks/bench_case_file.py
    python benchmarks/bench_case_file.py --chain-events 1000000
    python benchmarks/bench_case_file.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
import zipfile
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import throwaway_schema  # noqa: E402
from sqlalchemy import select  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.cases.actions import add_note  # noqa: E402
from core.intake.documents import store_blob  # noqa: E402
from core.records.case_file import export_case_file  # noqa: E402
from core.records.case_file_contents import Profile, gather  # noqa: E402
from core.records.case_file_render import render_html, render_pdf  # noqa: E402
from core.records.case_file_verify import verify_files  # noqa: E402
from core.store import audit  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Document, DocumentFile, ScreeningHit, utcnow  # noqa: E402
from core.workflows.definitions import ensure_default_workflows  # noqa: E402
from tests.factories import make_case, version_of  # noqa: E402

CASE = "BENCH-CF-1"


def load(db: Database, args) -> None:
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    ensure_demo_users(db)
    started = time.perf_counter()
    for first in range(0, args.chain_events, 10_000):
        with db.unit_of_work() as s:
            audit.record_many(s, ({"case_id": None, "actor": "bench", "kind": "bench.filler",
                                   "after": {"i": i}}
                                  for i in range(first, min(first + 10_000, args.chain_events))))
    print(f"  {args.chain_events:,} other audit events in {time.perf_counter() - started:.1f} s")
    make_case(db, CASE, documents=args.documents, ubos=2, assignee="reviewer", reviewed=True)
    now = utcnow()
    with db.unit_of_work() as s:
        for doc in s.scalars(select(Document).where(Document.case_id == CASE)):
            for version in range(1, args.versions + 1):
                sha = store_blob(s, secrets.token_bytes(args.doc_kb * 1024), "application/pdf")
                s.add(DocumentFile(document_id=doc.id, version=version, blob_sha256=sha,
                                   filename=f"scan-{doc.id}-{version}.pdf",
                                   uploaded_by="applicant"))
        for i in range(5):
            s.add(ScreeningHit(case_id=CASE, subject_key="entity", subject_name="Acme",
                               source="api", dataset="OFAC SDN", entry_id=f"E-{i}",
                               entry={"name": f"ACME {i}"}, score=80 + i,
                               matched_fields=["name"], match_hash=f"{i:064x}",
                               first_seen_at=now, last_seen_at=now,
                               disposition="false_positive", reason="different country",
                               disposed_by="reviewer", disposed_at=now))
        audit.record_many(s, ({"case_id": CASE, "actor": "reviewer", "kind": "user_data.edited",
                               "before": {"value": f"v{i}"},
                               "after": {"field": "industry", "value": f"v{i + 1}"}}
                              for i in range(args.case_events)))
    for i in range(10):
        add_note(db, CASE, f"Note {i}: checked the registry extract against the filing.",
                 actor="reviewer", expected_version=version_of(db, CASE))


CPU: dict[str, float] = {}


def median_s(fn, repeat: int, label: str = "") -> tuple[float, object]:
    """Median wall seconds of `repeat` calls after a warm-up; the median CPU seconds of this
    process go to CPU[label] (on a loaded machine the wall time is mostly waiting)."""
    result = fn()
    times, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), result


def bench(url: str, args, label: str) -> None:
    print(f"{label}: {args.documents} documents × {args.versions} versions × {args.doc_kb} KB, "
          f"load {os.getloadavg()[0]:.1f}")
    db = Database(url)
    db.upgrade_schema()
    load(db, args)

    def contents():
        with db.read() as s:
            return gather(s, db, CASE, Profile.EXAMINER)
    t_gather, data = median_s(contents, args.repeat)
    t_html, html = median_s(lambda: render_html(data, files={}), args.repeat)
    t_pdf, (pdf, pages) = median_s(lambda: render_pdf(html), args.repeat, "pdf")
    t_export, result = median_s(lambda: export_case_file(db, CASE, profile="examiner",
                                                        actor="admin", recipient="bench"),
                                args.repeat, "export")
    if args.keep:
        Path(args.keep).write_bytes(result.data)
    with zipfile.ZipFile(io.BytesIO(result.data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    started = time.perf_counter()
    problems, _ = verify_files(files)
    t_verify = time.perf_counter() - started
    print(f"  gather contents          {t_gather * 1000:8.0f} ms")
    print(f"  render HTML              {t_html * 1000:8.0f} ms")
    print(f"  render PDF ({pages} pages)     {t_pdf * 1000:8.0f} ms   (CPU {CPU['pdf'] * 1000:.0f} ms)")
    print(f"  whole export             {t_export * 1000:8.0f} ms   "
          f"(CPU {CPU['export'] * 1000:.0f} ms; {len(files)} files, ZIP {len(result.data) / 1e6:.1f} MB, PDF {len(pdf) / 1e3:.0f} KB)")
    print(f"  verify the bundle        {t_verify * 1000:8.0f} ms   "
          f"({'intact' if not problems else problems})")
    print(f"  target ≤ 10 s: {'met' if t_export <= 10 else 'NOT met'}")
    db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--documents", type=int, default=20)
    p.add_argument("--versions", type=int, default=2, help="file versions per document")
    p.add_argument("--doc-kb", type=int, default=500, help="each file's size in KB")
    p.add_argument("--case-events", type=int, default=300, help="the case's own audit events")
    p.add_argument("--chain-events", type=int, default=100_000,
                   help="other audit events in the chain (the checkpoint reads them all)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", metavar="FILE.zip", help="write the last export there")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--postgres", help="a PostgreSQL URL (a throwaway schema is used)")
    args = p.parse_args()
    os.environ.setdefault("DOCKET_DEMO_MAILBOX", "off")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DOCKET_AUDIT_SIGNING_KEY"] = str(Path(tmp) / "audit-signing.key")
        if not args.no_sqlite:
            bench(f"sqlite:///{tmp}/bench.sqlite3", args, "SQLite")
        if args.postgres:
            with throwaway_schema(args.postgres) if args.postgres else nullcontext() as url:
                bench(url, args, "PostgreSQL")


if __name__ == "__main__":
    main()
