"""`python -m core audit verify [--from-seq N]`: checks the audit chain (core/records/verify.py,
docs/RECORDS.md). Exit 0: intact; 1: tampered (each finding names its kind and row);
2: the check could not run (no database, no chain)."""
from __future__ import annotations

import argparse
import sys

from core.cli.shell import print_json


def add_verify(asub) -> None:
    text = ("Check the audit chain: every event's hash and link, the copied columns and "
            "before/after against the hashed body, no gap, no fork, the head. Exit 0 intact, "
            "1 tampered (naming the kind and the row), 2 could not check")
    s = asub.add_parser("verify", help=text, description=text)
    s.add_argument("--from-seq", type=int, default=1, metavar="N",
                   help="start at event seq N, trusting the one before it (default 1: all)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(fn=cmd_verify)


def _open_database():
    from sqlalchemy.engine import make_url  # deferred: `python -m core --help` stays fast

    from core import config
    from core.store.db import Database
    url = config.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        import os
        if not os.path.exists(parsed.database):
            raise FileNotFoundError(f"no database file at {parsed.database}")
    return Database(url)


def cmd_verify(args: argparse.Namespace) -> int:
    from core.records.verify import PROBLEMS, verify_chain  # deferred: fast --help
    try:
        db = _open_database()
        report = verify_chain(db, from_seq=max(1, args.from_seq))
    except Exception as e:  # no database, no chain tables: could not check
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: cannot verify: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
    if args.json:
        print_json({"ok": report.ok, "checked": report.checked, "first_seq": report.first_seq,
                    "last_seq": report.last_seq, "head_seq": report.head_seq,
                    "proven_from": report.proven_from, "more_findings": report.more_findings,
                    "findings": [{"problem": f.problem, "meaning": PROBLEMS[f.problem],
                                  "seq": f.seq, "id": f.id, "detail": f.detail}
                                 for f in report.findings]})
    else:
        span = (f"seq {report.first_seq}..{report.last_seq}" if report.checked else "no events")
        print(f"checked {report.checked:,} events ({span}); head at seq {report.head_seq}")
        print(f"integrity proven from {report.proven_from}")
        for finding in report.findings:
            print(f"TAMPERED {finding.problem}: {finding}")
        if report.more_findings:
            print(f"... and {report.more_findings} more findings")
        print("intact" if report.ok else f"{len(report.findings) + report.more_findings} "
              "findings: the audit log was changed outside Docket")
    return 0 if report.ok else 1


def add_protect(asub) -> None:
    text = ("PostgreSQL: install the triggers that make the audit log append-only (run as the "
            "schema's owner; see docs/DEPLOY.md), and with --app-role the app role's grants")
    s = asub.add_parser("protect", help=text, description=text)
    s.add_argument("--app-role", metavar="ROLE",
                   help="the role the app connects as: SELECT, INSERT, UPDATE on the audit "
                        "tables, no DELETE or TRUNCATE")
    s.set_defaults(fn=cmd_protect)


def cmd_protect(args: argparse.Namespace) -> int:
    from core.cli.shell import database  # deferred: fast --help
    from core.store.audit_chain_guard import protect_audit_log
    db = database()
    if db.is_sqlite:
        print("error: the audit log's guard is for PostgreSQL (SQLite has no roles)",
              file=sys.stderr)
        return 2
    with db.write_engine.begin() as conn:
        protect_audit_log(conn, app_role=args.app_role)
    print("audit log guarded: UPDATE and DELETE of audit rows are refused"
          + (f"; grants set for {args.app_role}" if args.app_role else ""))
    return 0
