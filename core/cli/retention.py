"""`python -m core retention run|hold|release|request-erasure`: retention from the shell
(core/records/retention*.py; docs/RECORDS.md, "Retention, legal hold and erasure").

`run` is a dry run unless given `--apply`: it lists what it would erase (the case, why it is
due, since when) and what it skips (held: by whom, why; erasure requested but retention not
over). Run it from cron (daily) with `--apply` once the list reads right.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime

from core.cli.shell import database

AS_HELP = "the admin acting (default: system, the shell operator)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    text = ("Retention: list what falls due and erase it (--apply), legal holds, erasure "
            "requests (admins; docs/RECORDS.md)")
    sp = sub.add_parser("retention", help=text, description=text)
    rsub = sp.add_subparsers(dest="retention_command", required=True,
                             metavar="RETENTION_COMMAND")
    r = rsub.add_parser("run", help="list what would be erased and what is skipped, and why; "
                                    "--apply erases every due case without a legal hold")
    r.add_argument("--apply", action="store_true", help="erase them (default: a dry run)")
    r.add_argument("--case", help="only this case (with --apply: refused, with why, if it "
                                  "may not be erased)")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(fn=cmd_run)
    r = rsub.add_parser("hold", help="place a legal hold on a case (it is not erased while "
                                     "the hold is in force)")
    r.add_argument("case")
    r.add_argument("--reason", required=True, help="why (a matter, an authority's request)")
    r.add_argument("--until", help="YYYY-MM-DD the hold ends (default: until released)")
    r.set_defaults(fn=cmd_hold)
    r = rsub.add_parser("release", help="release a case's legal holds (or one, --hold ID)")
    r.add_argument("case")
    r.add_argument("--reason", required=True, help="why the hold ends")
    r.add_argument("--hold", type=int, help="only this hold")
    r.set_defaults(fn=cmd_release)
    r = rsub.add_parser("request-erasure", help="record a data subject's erasure request (GDPR "
                                                "Art. 17): deferred until retention ends; the "
                                                "case is restricted to admins")
    r.add_argument("case")
    r.add_argument("--reason", required=True, help="how and when the request came")
    r.set_defaults(fn=cmd_request_erasure)
    for parser in rsub.choices.values():
        parser.add_argument("--as", dest="as_user", default="system", help=AS_HELP)


def _day(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d") if at else "-"


def cmd_run(args: argparse.Namespace) -> int:
    from core.records.retention_erase import run_retention  # deferred: --help stays fast
    report = run_retention(database(), apply=args.apply, actor=args.as_user, case_id=args.case)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 3 if report.refused else 0
    plan = report.plan
    verb = "erased" if args.apply else "would erase"
    for row in plan.due:
        if args.apply and row.case_id not in report.erased:
            continue
        done = report.erased.get(row.case_id)
        what = (": " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(done.items())
                                 if n)) if done else ""
        print(f"{verb} {row.case_id} ({row.workflow}, {row.status}): {row.why}{what}")
    for case_id, why in report.refused.items():
        print(f"refused {case_id}: {why}")
    for row in plan.held:
        print(f"skipped {row.case_id}: {row.why}")
    for row in plan.not_over:
        print(f"skipped {row.case_id}: erasure requested on {_day(row.erasure_requested_at)}; "
              f"{row.why}")
    print(f"{len(report.erased) if args.apply else len(plan.due)} {verb}, "
          f"{len(plan.held)} held, {len(plan.not_over)} erasure requests waiting for "
          f"retention to end, {plan.kept} other cases within retention"
          + ("" if args.apply else " (dry run: nothing changed; --apply erases)"))
    return 3 if report.refused else 0


def cmd_hold(args: argparse.Namespace) -> int:
    from core.errors import InvalidInput
    from core.records.retention import place_hold
    until = None
    if args.until:
        try:
            until = datetime.strptime(args.until, "%Y-%m-%d")
        except ValueError:
            raise InvalidInput(f"--until must be YYYY-MM-DD, got {args.until!r}") from None
    hold_id = place_hold(database(), args.case, actor=args.as_user, reason=args.reason,
                         until=until)
    print(f"legal hold {hold_id} placed on {args.case}"
          + (f" until {args.until}" if args.until else " until released"))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from core.records.retention import release_hold
    released = release_hold(database(), args.case, actor=args.as_user, reason=args.reason,
                            hold_id=args.hold)
    print(f"released legal hold {', '.join(map(str, released))} of {args.case}")
    return 0


def cmd_request_erasure(args: argparse.Namespace) -> int:
    from core.records.retention import request_erasure
    outcome = request_erasure(database(), args.case, actor=args.as_user, reason=args.reason)
    print(f"erasure request recorded for {args.case}: "
          + ("deferred until its retention ends (restricted to admins meanwhile)"
             if outcome == "deferred" else "retention is over: the next run erases it"))
    return 0
