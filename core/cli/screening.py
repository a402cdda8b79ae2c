"""`python -m core screening ...`: the built-in screener from the shell — load a list file as
a new version, list the lists, show a list's versions (core/screening/lists.py), and the
queue of cases to screen: how long it is, and screening it now (core/screening/runner.py).
A refused file prints its problems, one per line, and exits 1."""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from core.cli.shell import database, print_json
from core.errors import DocketError, InvalidInput


def add_parser(sub) -> None:
    """Registers `screening` and its subcommands on the main parser's subparsers."""
    help_ = ("The built-in screener's lists: load a list file (OpenSanctions "
             "targets.simple.csv or OFAC sdn.csv) as a new version, list them, show versions")
    sp = sub.add_parser("screening", help=help_, description=help_)
    sp.set_defaults(fn=cmd_screening)
    ssub = sp.add_subparsers(dest="screening_command", required=True,
                             metavar="SCREENING_COMMAND")
    s = ssub.add_parser("load", help="load a list file as the list's next version (created on "
                                     "its first load); every case not rejected is queued for "
                                     "rescreening when an entry changed")
    s.add_argument("file", help="the list file")
    s.add_argument("--list", required=True, dest="list_name",
                   help="the list's name: a-z, 0-9 and '-', e.g. demo-sanctions")
    s.add_argument("--format", required=True, dest="fmt",
                   choices=["opensanctions", "ofac-sdn"],
                   help="opensanctions (targets.simple.csv) or ofac-sdn (sdn.csv)")
    s.add_argument("--title", help="what hits show as the list, set by the first load "
                                   "(default: the name); a later load keeps it")
    s.add_argument("--as-user", "--actor", dest="actor", default="system", metavar="USER",
                   help="the admin loading it (default: system)")
    s = ssub.add_parser("lists", help="list the lists with their current versions")
    s.add_argument("--json", action="store_true", help="print JSON")
    s = ssub.add_parser("versions", help="a list's versions, newest first, with what changed")
    s.add_argument("name", help="the list's name")
    s.add_argument("--json", action="store_true", help="print JSON")
    ssub.add_parser("queue", help="how many cases wait to be screened")
    s = ssub.add_parser("run", help="screen every queued case now, then exit (what the worker "
                                    "does in the background)")
    s.add_argument("--case", action="append", dest="cases", metavar="CASE_ID",
                   help="queue this case first (repeatable): screen it again now")


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


def cmd_screening(args: argparse.Namespace) -> int:
    from core.screening import lists  # deferred: `python -m core --help` stays fast
    db = database()
    if args.screening_command == "load":
        path = Path(args.file)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DocketError(f"cannot read {args.file}: {e.strerror or e}") from None
        try:
            result = lists.load_list(db, args.list_name, data, fmt=args.fmt, actor=args.actor,
                                     title=args.title, file_name=path.name)
        except InvalidInput as e:
            head = str(e).split("\n", 1)[0]
            print(f"error: {head}", file=sys.stderr)
            for problem in e.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(result.sentence())
    elif args.screening_command == "lists":
        found = lists.lists(db)
        if args.json:
            print_json([asdict(i) for i in found])
        elif not found:
            print("no screening lists yet: load one with `screening load FILE --list NAME "
                  "--format opensanctions|ofac-sdn`")
        for i in [] if args.json else found:
            print(f"{i.name:<24} v{i.version:<4} {i.entries:>9,} entries  {i.format:<13} "
                  f"loaded {_when(i.loaded_at)} by {i.loaded_by or '-'}  title: {i.title}")
    elif args.screening_command == "queue":
        from core.screening.job_queue import pending
        print(f"{pending(db):,} case(s) queued for screening")
    elif args.screening_command == "run":
        return _run(db, args.cases or [])
    elif args.screening_command == "versions":
        found = lists.versions(db, args.name)
        if args.json:
            print_json([asdict(v) for v in found])
        for v in [] if args.json else found:
            print(f"v{v.version:<4} {_when(v.loaded_at)} by {v.loaded_by:<16} "
                  f"{v.entries:>9,} entries  +{v.added:,} ~{v.changed:,} -{v.removed:,}  "
                  f"{v.file_name or '-'}  sha256 {v.file_sha256[:12]}")
    return 0


def _run(db, case_ids: list[str]) -> int:
    from core.cases.screening_queue import enqueue
    from core.screening.runner import ScreeningRunner
    if case_ids:
        with db.unit_of_work() as s:
            if enqueue(s, case_ids, "manual") < len(set(case_ids)):
                print("note: a case id given does not exist or was queued already",
                      file=sys.stderr)
    runner = ScreeningRunner(db)
    screened = runner.drain()
    said = ", ".join(f"{n:,} {outcome.replace('_', ' ')}" for outcome, n in
                     sorted(runner.outcomes.items()))
    print(f"{screened:,} case(s) screened" + (f": {said}" if said else ""))
    return 0
