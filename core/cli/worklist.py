"""The queue commands of `python -m core`: next (take the most urgent case) and digest (the
daily overdue emails, for cron). See docs/WORKLIST.md."""
from __future__ import annotations

from core.cli.shell import database, print_json


def cmd_next(args) -> None:
    """Assigns the most urgent case of the view to --as USER and prints its id."""
    from core.worklist.next_case import take_next_case
    from core.worklist.query import CaseFilter
    from core.worklist.views import find_view
    db = database()
    view = find_view(db, args.view) if args.view else None
    case_id = take_next_case(db, args.as_user, CaseFilter(view=view))
    if args.json:
        print_json({"case": case_id, "assignee": args.as_user if case_id else None})
    elif case_id is None:
        where = f"view {view.name!r}" if view else "any view"
        print(f"no case to take in {where}: nothing waits for a decision there")
    else:
        print(case_id)


def cmd_digest(args) -> None:
    """Enqueues today's overdue digest emails (once per day; the worker sends them)."""
    from core.worklist.digest import send_overdue_digest
    result = send_overdue_digest(database())
    if args.json:
        print_json(result.__dict__)
        return
    print(f"{result.day}: {result.overdue} overdue case(s); digest emails queued for "
          f"{len(result.enqueued)}: {', '.join(result.enqueued) or '-'}")
    if result.already_sent:
        print(f"already queued today: {', '.join(result.already_sent)}")
    if result.no_email:
        print(f"no valid email address (not emailed): {', '.join(result.no_email)}")


def cmd_bulk(args) -> int:
    """One action on many cases (--case ID..., or every case of the list's filters, at most
    500): each through its own command; prints what was done, unchanged and refused (why).
    Exit status 3 when some cases were refused (1 when the whole request was)."""
    from core.cli.cases import _case_filter
    from core.errors import DocketError
    from core.worklist.bulk import bulk_act, case_ids_for
    if not args.as_user:
        raise DocketError("bulk needs --as USER (who acts)")
    db = database()
    if args.case:
        ids = args.case
    else:
        ids = case_ids_for(db, _case_filter(db, args), sort=args.sort,
                           descending=args.order == "desc")
        if not ids:
            raise DocketError("no case matches these filters")
    result = bulk_act(db, ids, args.action, actor=args.as_user, to=args.to, tag=args.tag,
                      reason=args.reason)
    if args.json:
        print_json({"action": result.action, "done": result.done,
                    "unchanged": result.unchanged,
                    "refused": [{"case": c, "reason": r} for c, r in result.refused]})
    else:
        print(result.summary())
        if result.unchanged:
            print(f"unchanged (already so): {', '.join(result.unchanged)}")
        if result.refused:
            print("refused:")
            for case_id, reason in result.refused:
                print(f"  {case_id}: {' '.join(reason.split())}")
    return 3 if result.refused else 0
