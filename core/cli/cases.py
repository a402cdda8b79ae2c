"""The case commands of `python -m core`: init, demo, import, event, show, act, list, views, export.

Apart from admin.py because these are what an analyst or an integration runs day to day.
`from core...` imports sit inside the command functions only so `python -m core --help`
stays fast (they pull in SQLAlchemy).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from core import config
from core.cli.shell import database, print_json, safe_url
from core.errors import DocketError

ACT_ACTIONS = {
    "approve": "Approve the case (optional --reason)",
    "reject": "Reject the case (--reason required)",
    "ask-for-reuploads": "Send every block marked 'Re-upload needed' to the applicant",
    "approve-block": "Approve a document or KYC block (--block document:ID or kyc:ID)",
    "ask-to-reupload": "Mark a document 'Re-upload needed' (--reason), or re-send a UBO's KYC",
    "undo-reupload": "Undo a document's 'Re-upload needed' before the request is sent",
    "assign": "Assign the case (--to USER; a reviewer can only take it for themself)",
    "unassign": "Remove the assignee (admin)",
    "note": "Add a note (--text)",
    "tag": "Add a tag (--tag; a lead or admin on any case, a reviewer on their own)",
    "untag": "Remove a tag (--tag)",
    "edit": "Edit user provided data (--set FIELD=VALUE, repeatable)",
    "edit-subject": "Correct the entity's or a UBO's name, country, birth date or nationality "
                    "(--subject entity|ubo:ID --set FIELD=VALUE); the case is screened again",
    "disposition-hit": "Decide on a screening hit (--hit ID --disposition true_match, "
                       "false_positive or needs_information; --reason for the first two)",
    "sign-off-hit": "Sign off a true match (--hit ID; a lead or admin who did not decide it)",
}


def cmd_init(args) -> None:
    from core.app_setup import prepare_database
    db = database()
    seeded = prepare_database(db, demo=args.demo)
    print(f"database ready: {safe_url(db.url)}" + (" (demo data seeded)" if seeded else ""))


def cmd_demo(args) -> None:
    from core.app_setup import prepare_database
    from core.demo.generate import generate_cases
    if args.cases < 1:
        raise DocketError("--cases must be at least 1")
    db = database()
    prepare_database(db, demo=False)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} / {total:,} cases", end="", file=sys.stderr, flush=True)

    n = generate_cases(db, args.cases, seed=args.seed, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"generated {n} demo cases in {time.perf_counter() - started:.1f} s")
    if args.score_risk:
        from core.cases.risk import recompute_risk
        started = time.perf_counter()
        scored = recompute_risk(db, only_missing=True)
        print(f"scored the risk of {scored:,} cases in {time.perf_counter() - started:.1f} s")


def cmd_import(args) -> None:
    from core.intake.importer import import_cases
    path = Path(args.file)
    if not path.is_file():
        raise DocketError(f"no such file: {path}")
    if path.stat().st_size > config.max_import_bytes():
        raise DocketError(f"{path} is larger than {config.max_import_bytes()} bytes")
    ids = import_cases(database(), path.read_bytes(), actor=args.actor)
    print(f"imported {len(ids)} cases: {', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}")


def cmd_event(args) -> None:
    from core.intake.events import apply_event
    params: dict[str, Any] = {}
    if args.process:
        params["name"] = args.process
    if args.ubo is not None:
        params["ubo_id"] = args.ubo
    if args.result:
        try:
            params["result"] = json.loads(args.result)
        except json.JSONDecodeError as e:
            raise DocketError(f"--result is not valid JSON: {e}") from None
    if args.detail:
        params["detail"] = args.detail
    if args.document is not None:
        params["document_id"] = args.document
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise DocketError(f"no such file: {path}")
        params["filename"], params["content"] = path.name, path.read_bytes()
    apply_event(database(), args.case, args.event, actor=args.actor, **params)
    _show_status(args.case)


def _show_status(case_id: str) -> None:
    from core.cases.read import case_detail
    d = case_detail(database(), case_id, with_timeline=False)
    print(f"{d.id}: {d.status_label} (version {d.version})")


def cmd_show(args) -> None:
    from core.access.actors import active_user
    from core.cases.history import case_history
    from core.cases.read import case_detail
    from core.cases.status import CASE_ACTIONS_BY_STATUS, CaseAction, CaseStatus
    db = database()
    if args.as_user is not None:  # an unknown or disabled user is refused, as by every command
        with db.read() as s:
            active_user(s, args.as_user)
    d = case_detail(db, args.case, args.as_user)
    if args.json:
        print_json(d.to_json())
        return
    e = d.entity
    print(f"{d.id}  {e['name']}  [{e['type']}, {e['country'] or '-'}]  workflow {d.workflow}")
    print(f"status:   {d.status_label}")
    print(f"version:  {d.version}")
    print(f"assignee: {d.assignee or '(unassigned)'}")
    if d.decision:
        print(f"decision: {d.decision} by {d.decided_by}: {d.decision_reason or ''}")
    offered = CASE_ACTIONS_BY_STATUS[CaseStatus(d.status)]
    print("case actions for this status: "
          + (", ".join(a.label for a in CaseAction if a in offered) or "none"))
    for a in d.case_actions:
        mark = "yes" if a.allowed else f"no - {a.reason}"
        label = a.label + (f" ({d.reupload_needed_count})" if a.action == "ask_for_reuploads" else "")
        print(f"  {label:<28} {mark}")
    for p in d.processes:
        print(f"process {p['name']}: {p['state']}")
    for b in [*d.documents, *d.kyc_blocks]:
        name = getattr(b, "label", None) or f"KYC {b.full_name}"
        print(f"block {b.ref:<14} {name:<32} {b.status_label}")
        allowed = [a.label for a in b.actions if a.allowed]
        print(f"    actions: {', '.join(allowed) or 'none'}")
        for sub in getattr(b, "documents", []):
            print(f"    document {sub.ref}: {sub.label} {sub.status_label}")
    for subject in d.screening:  # screening hits (docs/SCREENING.md), per subject
        for h in subject.hits:
            decided = " ".join(f"{h.disposition or ''} {h.reason or ''}".split())
            print(f"hit {h.id:<6} {subject.key:<10} {h.entry.get('name', '')[:30]:<30} "
                  f"{h.dataset[:20]:<20} {h.state_label}" + (f": {decided}" if decided else ""))
    print("timeline (newest first):" if d.timeline else "timeline: no events yet")
    for entry in case_history(db, d):  # one line each: control characters are spaces
        print(f"  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.sentence}")


def cmd_act(args) -> None:
    from core.cases.commands import BLOCK_COMMANDS, perform
    from core.cases.read import case_detail
    db = database()
    version = args.version
    if version is None:
        version = case_detail(db, args.case, with_timeline=False).version
    changes = {}
    for item in args.set or []:
        field, sep, value = item.partition("=")
        if not sep:
            raise DocketError(f"--set takes FIELD=VALUE, got {item!r}")
        changes[field] = value
    if args.action in BLOCK_COMMANDS and not args.block:
        raise DocketError(f"{args.action} needs --block document:ID or kyc:ID")
    if args.action in ("disposition-hit", "sign-off-hit"):
        from core.screening.commands import perform_screening
        perform_screening(db, args.case, args.action, actor=args.as_user,
                          expected_version=version, hit=args.hit,
                          disposition=args.disposition, reason=args.reason)
        _show_status(args.case)
        return
    asked = perform(db, args.case, args.action, actor=args.as_user, expected_version=version,
                    reason=args.reason, block=args.block, to=args.to, text=args.text,
                    changes=changes, tag=args.tag, subject=args.subject)
    if args.action == "ask-for-reuploads":
        print(f"asked for {asked} re-upload(s)")
    _show_status(args.case)


def _case_filter(db, args):
    from core.worklist.query import CaseFilter
    from core.worklist.views import find_view
    view = find_view(db, args.view) if args.view else None
    return CaseFilter(view=view, statuses=tuple(args.status or ()), assignee=args.assignee,
                      me=args.as_user, search=args.search or "",
                      overdue=bool(getattr(args, "overdue", False)))


def cmd_list(args) -> None:
    from core.worklist.query import list_cases
    db = database()
    page = list_cases(db, _case_filter(db, args), page=args.page, page_size=args.page_size,
                      sort=args.sort, descending=not args.ascending)
    if args.json:
        print_json({"total": page.total, "page": page.page, "pages": page.pages,
                    "rows": [r.__dict__ | {"status_label": r.status_label} for r in page.rows]})
        return
    print(f"{page.total} cases, page {page.page}/{page.pages}")
    for r in page.rows:
        print(f"{r.id:<14} {r.status_label:<24} {r.workflow:<19} {r.country:<3} "
              f"{(r.assignee or '-'):<10} {r.entity_name}")


def cmd_export(args) -> None:
    """Every case matching the filters as CSV, in the order of `--sort`/`--order` (the list's
    sorts; default newest first). Columns: see core/worklist/export.py and docs/EXPORT.md."""
    from core.worklist.export import export_cases
    if not args.as_user:
        raise DocketError("export needs --as USER (a user allowed to export)")
    db = database()
    flt = _case_filter(db, args)
    order = {"sort": args.sort, "descending": args.order == "desc"}
    if not args.output:
        for chunk in export_cases(db, flt, actor=args.as_user, **order):
            sys.stdout.buffer.write(chunk.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    path = Path(args.output)
    if path.is_dir():
        raise DocketError(f"{path} is a folder; give a file name")
    live = sys.stderr.isatty()
    done_rows = [0]

    def progress(done: int, total: int) -> None:
        done_rows[0] = done
        if live:
            print(f"\rexporting: {done}/{total} cases", end="", file=sys.stderr, flush=True)

    partial = path.with_name(path.name + ".part")  # renamed once complete: no half files
    chunks = export_cases(db, flt, actor=args.as_user, progress=progress, **order)
    try:
        with open(partial, "w", encoding="utf-8", newline="") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if live:
        print(file=sys.stderr)
    print(f"exported {done_rows[0]} cases to {path}", file=sys.stderr)


def cmd_views(args) -> None:
    from core.worklist.query import counts_by_view
    from core.worklist.views import list_views
    db = database()
    views = list_views(db)
    counts = counts_by_view(db, views)
    for v in views:
        print(f"{v.id:>3}  {v.name:<28} {counts[v.id]:>9}")
