"""`python -m core`: Docket from the shell. Calls the same service functions as the pages.

Every command has --help. Errors print one line on stderr and exit non-zero, no traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any, Callable

from core import config
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
    "edit": "Edit user provided data (--set FIELD=VALUE, repeatable)",
}


def _database():
    from core.store.db import get_database
    return get_database()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


# --- commands -------------------------------------------------------------------------------

def cmd_init(args) -> None:
    from core.app_setup import prepare_database
    db = _database()
    seeded = prepare_database(db, demo=args.demo)
    print(f"database ready: {_safe_url(db.url)}" + (" (demo data seeded)" if seeded else ""))


def cmd_demo(args) -> None:
    import time

    from core.app_setup import prepare_database
    from core.demo.generate import generate_cases
    db = _database()
    prepare_database(db, demo=False)
    if args.cases < 1:
        raise DocketError("--cases must be at least 1")
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} / {total:,} cases", end="", file=sys.stderr, flush=True)

    n = generate_cases(db, args.cases, seed=args.seed, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"generated {n} demo cases in {time.perf_counter() - started:.1f} s")


def cmd_import(args) -> None:
    from core.intake.importer import import_cases
    path = Path(args.file)
    if not path.is_file():
        raise DocketError(f"no such file: {path}")
    if path.stat().st_size > config.max_import_bytes():
        raise DocketError(f"{path} is larger than {config.max_import_bytes()} bytes")
    ids = import_cases(_database(), path.read_bytes(), actor=args.actor)
    print(f"imported {len(ids)} cases: {', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}")


def cmd_event(args) -> None:
    from core.intake.importer import apply_event
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
    apply_event(_database(), args.case, args.event, actor=args.actor, **params)
    _show_status(args.case)


def _show_status(case_id: str) -> None:
    from core.cases.read import case_detail
    d = case_detail(_database(), case_id, with_timeline=False)
    print(f"{d.id}: {d.status_label} (version {d.version})")


def cmd_show(args) -> None:
    from core.cases.read import case_detail
    d = case_detail(_database(), args.case, args.as_user)
    if args.json:
        _print_json(d.to_json())
        return
    e = d.entity
    print(f"{d.id}  {e['name']}  [{e['type']}, {e['country'] or '-'}]  workflow {d.workflow}")
    print(f"status:   {d.status_label}")
    print(f"version:  {d.version}")
    print(f"assignee: {d.assignee or '(unassigned)'}")
    if d.decision:
        print(f"decision: {d.decision} by {d.decided_by}: {d.decision_reason or ''}")
    from core.cases.status import CASE_ACTIONS_BY_STATUS, CaseAction, CaseStatus
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


def cmd_act(args) -> None:
    from core.cases import actions as ca
    from core.cases.read import case_detail
    db = _database()
    version = args.version
    if version is None:
        version = case_detail(db, args.case, with_timeline=False).version
    common = {"actor": args.as_user, "expected_version": version}
    action = args.action
    if action in ("approve-block", "ask-to-reupload", "undo-reupload") and not args.block:
        raise DocketError(f"{action} needs --block document:ID or kyc:ID")
    if action == "approve":
        ca.approve_case(db, args.case, reason=args.reason, **common)
    elif action == "reject":
        ca.reject_case(db, args.case, reason=args.reason, **common)
    elif action == "ask-for-reuploads":
        n = ca.ask_for_reuploads(db, args.case, **common)
        print(f"asked for {n} re-upload(s)")
    elif action == "approve-block":
        ca.approve_block(db, args.case, args.block, **common)
    elif action == "ask-to-reupload":
        ca.ask_to_reupload_block(db, args.case, args.block, reason=args.reason, **common)
    elif action == "undo-reupload":
        ca.undo_reupload_request(db, args.case, args.block, **common)
    elif action == "assign":
        ca.assign_case(db, args.case, args.to or args.as_user, **common)
    elif action == "unassign":
        ca.assign_case(db, args.case, None, **common)
    elif action == "note":
        ca.add_note(db, args.case, args.text or "", **common)
    elif action == "edit":
        changes = {}
        for item in args.set or []:
            field, sep, value = item.partition("=")
            if not sep:
                raise DocketError(f"--set takes FIELD=VALUE, got {item!r}")
            changes[field] = value
        ca.edit_user_data(db, args.case, changes, **common)
    _show_status(args.case)


def _case_filter(db, args):
    from core.worklist.query import CaseFilter
    from core.worklist.views import find_view
    view = find_view(db, args.view) if args.view else None
    return CaseFilter(view=view, statuses=tuple(args.status or ()), assignee=args.assignee,
                      me=args.as_user, search=args.search or "")


def cmd_list(args) -> None:
    from core.worklist.query import list_cases
    db = _database()
    page = list_cases(db, _case_filter(db, args), page=args.page, page_size=args.page_size,
                      sort=args.sort, descending=not args.ascending)
    if args.json:
        _print_json({"total": page.total, "page": page.page, "pages": page.pages,
                     "rows": [r.__dict__ | {"status_label": r.status_label} for r in page.rows]})
        return
    print(f"{page.total} cases, page {page.page}/{page.pages}")
    for r in page.rows:
        print(f"{r.id:<14} {r.status_label:<24} {r.workflow:<19} {r.country:<3} "
              f"{(r.assignee or '-'):<10} {r.entity_name}")


def cmd_export(args) -> None:
    """Every case matching the filters as CSV (columns: see core/worklist/export.py)."""
    import os

    from core.worklist.export import export_cases
    if not args.as_user:
        raise DocketError("export needs --as USER (a user allowed to export)")
    db = _database()
    flt = _case_filter(db, args)
    if not args.output:
        for chunk in export_cases(db, flt, actor=args.as_user):
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
    chunks = export_cases(db, flt, actor=args.as_user, progress=progress)
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
    db = _database()
    views = list_views(db)
    counts = counts_by_view(db, views)
    for v in views:
        print(f"{v.id:>3}  {v.name:<28} {counts[v.id]:>9}")


def cmd_users(args) -> None:
    from core.access import users
    db = _database()
    if args.users_command == "list":
        for u in users.list_users(db):
            flags = " ".join(f for f, on in (("disabled", u.disabled), ("demo", u.is_demo)) if on)
            print(f"{u.username:<16} {u.role:<9} {u.name:<28} {flags}")
    elif args.users_command == "add":
        password = _read_password(args)
        users.add_user(db, args.username, args.name or args.username, args.role, password,
                       email=args.email or "", actor=args.actor)
        print(f"added {args.username} ({args.role})")
    elif args.users_command in ("disable", "enable"):
        users.set_disabled(db, args.username, args.users_command == "disable", actor=args.actor)
        print(f"{args.users_command}d {args.username}")
    elif args.users_command == "set-password":
        users.set_password(db, args.username, _read_password(args), actor=args.actor)
        print(f"password set for {args.username}")
    elif args.users_command == "set-role":
        users.set_role(db, args.username, args.role, actor=args.actor)
        print(f"{args.username} is now {args.role}")


def cmd_worker(args) -> None:
    """Deliver notifications: webhooks, email, SMS, CRM calls (see docs/NOTIFICATIONS.md)."""
    import logging
    import signal
    import threading

    from core.notifications.dispatcher import Dispatcher, DispatcherConfig
    if args.concurrency is not None and args.concurrency < 1:
        raise DocketError("--concurrency must be at least 1")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    dispatcher = Dispatcher(_database(), DispatcherConfig.from_settings(
        concurrency=args.concurrency))
    if args.once:
        n = dispatcher.run_once()
        print(f"{n} delivery attempt(s) made")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"worker {dispatcher.worker_id} delivering with {dispatcher.config.concurrency} "
          "thread(s); Ctrl-C stops it after the deliveries in flight", file=sys.stderr)
    dispatcher.run_forever(stop)


def cmd_deliveries(args) -> None:
    from core.notifications import deliveries as dl
    db = _database()
    if args.replay is not None:
        dl.replay_delivery(db, args.replay, actor=args.actor)
        print(f"delivery {args.replay} queued again")
        return
    if args.replay_failed:
        n = dl.replay_failed(db, actor=args.actor, endpoint_id=args.endpoint)
        print(f"{n} failed deliveries queued again")
        return
    if args.attempts is not None:
        for a in dl.delivery_attempts(db, args.attempts):
            nxt = f" next {a.next_attempt_at:%Y-%m-%d %H:%M:%S}" if a.next_attempt_at else ""
            print(f"#{a.number} {a.started_at:%Y-%m-%d %H:%M:%S} {a.outcome:<9} "
                  f"{a.status_code or '-':>4} {a.duration_ms:>6} ms {a.error or ''}{nxt}")
            if a.response_excerpt:
                print("    " + a.response_excerpt[:200].replace("\n", " "))
        return
    rows = dl.list_deliveries(db, status=args.status, endpoint_id=args.endpoint,
                              case_id=args.case, limit=args.limit)
    if args.json:
        _print_json([r.__dict__ for r in rows])
        return
    counts = dl.count_deliveries(db, endpoint_id=args.endpoint, case_id=args.case)
    print("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for r in rows:
        when = r.finished_at or r.next_attempt_at or r.created_at
        print(f"{r.id:>6} {r.state:<9} {r.channel:<7} {r.target:<12} {r.case_id:<12} "
              f"{r.event_type:<24} tries {r.attempts:<2} {when:%Y-%m-%d %H:%M:%S} "
              f"{r.last_status_code or ''} {(r.last_error or '')[:80]}")


def cmd_endpoints(args) -> None:
    from core.notifications import deliveries as dl
    from core.notifications import endpoints as ep
    db = _database()
    if args.endpoints_command == "add":
        created = ep.create_endpoint(db, args.url, actor=args.actor, workflow=args.workflow,
                                     event_types=args.event or (), description=args.description or "")
        print(f"endpoint {created.endpoint.id} added: {created.endpoint.url}")
        print(f"signing secret (shown once, keep it now): {created.secret}")
    elif args.endpoints_command == "list":
        for h in dl.endpoint_health(db):
            e = h.endpoint
            state = "enabled" if e.enabled else f"DISABLED ({e.disabled_reason})"
            failing = f" failing since {e.failing_since:%Y-%m-%d %H:%M}" if e.failing_since else ""
            print(f"{e.id:>4} {e.url}  workflow={e.workflow or 'all'} "
                  f"events={','.join(e.event_types) or 'all'}  {state}{failing}  "
                  f"delivered {h.delivered} pending {h.pending} failed {h.failed}")
    elif args.endpoints_command == "disable":
        ep.disable_endpoint(db, args.id, actor=args.actor, reason=args.reason)
        print(f"endpoint {args.id} disabled")
    elif args.endpoints_command == "enable":
        ep.enable_endpoint(db, args.id, actor=args.actor)
        print(f"endpoint {args.id} enabled")
    elif args.endpoints_command == "rotate-secret":
        secret = ep.rotate_secret(db, args.id, actor=args.actor)
        print(f"new signing secret (shown once; the previous one keeps signing until "
              f"`endpoints drop-old-secrets {args.id}`): {secret}")
    elif args.endpoints_command == "drop-old-secrets":
        ep.drop_previous_secrets(db, args.id, actor=args.actor)
        print(f"endpoint {args.id} now signs with its newest secret only")


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise DocketError("give the password with --password-stdin (no terminal to ask on)")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise DocketError("the two passwords differ")
    return first


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


# --- parser -------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m core",
        description="Docket, the case management dashboard, from the shell. The database is "
                    "DOCKET_DATABASE_URL, else the embedded SQLite file under data/.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, fn: Callable) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("init", "Create or upgrade the schema, default workflows and views", cmd_init)
    sp.add_argument("--demo", action="store_true", help="also seed demo cases and demo users")

    sp = add("demo", "Generate demo cases in bulk (1,000,000 in under 2 minutes)", cmd_demo)
    sp.add_argument("--cases", type=int, default=1000, help="how many cases (default 1000)")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    sp = add("import", "Import cases from a JSON file (validated whole; see docs/INTAKE.md)",
             cmd_import)
    sp.add_argument("file", help="path of the JSON file")
    sp.add_argument("--actor", default="system", help="who the audit trail names")

    sp = add("event", "Apply an outside event to a case (collection completed, process, KYC, "
                      "document upload)", cmd_event)
    sp.add_argument("case", help="case id")
    sp.add_argument("event", help="collection_completed, process_started, process_completed, "
                                  "process_failed, kyc_sent, kyc_completed, document_uploaded")
    sp.add_argument("--process", help="process name (process_* events)")
    sp.add_argument("--ubo", type=int, help="UBO id (kyc_* events)")
    sp.add_argument("--result", help="KYC vendor result as JSON (kyc_completed)")
    sp.add_argument("--detail", help="free text detail (process_failed)")
    sp.add_argument("--document", type=int, help="document id (document_uploaded)")
    sp.add_argument("--file", help="file to upload (document_uploaded)")
    sp.add_argument("--actor", default="system", help="who the audit trail names")

    sp = add("show", "Show a case: status, available actions, blocks, version", cmd_show)
    sp.add_argument("case", help="case id")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--as", dest="as_user", help="show the actions this user may take")

    sp = add("act", "Take a case or block action as a user", cmd_act)
    sp.add_argument("case", help="case id")
    sp.add_argument("action", choices=list(ACT_ACTIONS), metavar="ACTION",
                    help="; ".join(f"{k}: {v}" for k, v in ACT_ACTIONS.items()))
    sp.add_argument("--as", dest="as_user", required=True, help="acting user")
    sp.add_argument("--block", help="document:ID or kyc:ID")
    sp.add_argument("--reason", help="reason (required for reject and document re-upload)")
    sp.add_argument("--version", type=int,
                    help="case version you saw (default: the current one)")
    sp.add_argument("--to", help="assignee (assign)")
    sp.add_argument("--text", help="note text (note)")
    sp.add_argument("--set", action="append", help="FIELD=VALUE (edit; repeatable)")

    def filters(sp):
        sp.add_argument("--view", help="view name or id (see `views`)")
        sp.add_argument("--status", action="append", help="status, e.g. manual_review (repeatable)")
        sp.add_argument("--assignee", default="anyone",
                        choices=["anyone", "me", "unassigned", "someone"])
        sp.add_argument("--as", dest="as_user", help="who 'me' is")
        sp.add_argument("--search", help="name, email, case id or registration number")

    sp = add("list", "List cases of a view, filtered, sorted and paged", cmd_list)
    filters(sp)
    sp.add_argument("--page", type=int, default=1)
    sp.add_argument("--page-size", type=int, default=50)
    sp.add_argument("--sort", default="created_at",
                    choices=["created_at", "updated_at", "id", "status", "name"])
    sp.add_argument("--ascending", action="store_true")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("export", "Export every case matching the filters as CSV (needs --as USER)",
             cmd_export)
    filters(sp)
    sp.add_argument("--output", "-o", help="CSV file to write (default: stdout)")

    add("views", "List the views with their case counts", cmd_views)

    sp = add("users", "Manage users: add, list, disable, enable, set-password, set-role", cmd_users)
    usub = sp.add_subparsers(dest="users_command", required=True, metavar="USERS_COMMAND")
    u = usub.add_parser("list", help="list users")
    u = usub.add_parser("add", help="add a user (password asked, or --password-stdin)")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=["analyst", "reviewer", "admin"])
    u.add_argument("--name")
    u.add_argument("--email")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name in ("disable", "enable"):
        u = usub.add_parser(name, help=f"{name} a user")
        u.add_argument("username")
    u = usub.add_parser("set-password", help="set a user's password")
    u.add_argument("username")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    u = usub.add_parser("set-role", help="change a user's role")
    u.add_argument("username")
    u.add_argument("role", choices=["analyst", "reviewer", "admin"])
    for parser in usub.choices.values():
        parser.add_argument("--actor", default="system", help="admin making the change")

    sp = add("worker", "Deliver queued notifications (webhooks, email, SMS, CRM); several may "
                       "run at once", cmd_worker)
    sp.add_argument("--once", action="store_true", help="send what is due now, then exit")
    sp.add_argument("--concurrency", type=int,
                    help="deliveries sent at once (default DOCKET_WORKER_CONCURRENCY)")
    sp.add_argument("--verbose", "-v", action="store_true", help="log every attempt")

    sp = add("deliveries", "List notification deliveries, show attempts, replay failed ones",
             cmd_deliveries)
    sp.add_argument("--status", choices=["pending", "delivered", "failed", "skipped"])
    sp.add_argument("--endpoint", type=int, help="webhook endpoint id")
    sp.add_argument("--case", help="case id")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--attempts", type=int, metavar="ID", help="show every attempt of a delivery")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--replay", type=int, metavar="ID", help="send a delivery again (same webhook-id)")
    g.add_argument("--replay-failed", action="store_true",
                   help="send every failed delivery again (of --endpoint, if given)")
    sp.add_argument("--actor", default="system", help="admin doing the replay")

    sp = add("endpoints", "Manage webhook endpoints: add, list, disable, enable, rotate-secret",
             cmd_endpoints)
    esub = sp.add_subparsers(dest="endpoints_command", required=True, metavar="ENDPOINTS_COMMAND")
    e = esub.add_parser("add", help="add an endpoint; prints its signing secret once")
    e.add_argument("url")
    e.add_argument("--workflow", help="only cases of this workflow (default: all)")
    e.add_argument("--event", action="append",
                   help="event type, e.g. case.approved (repeatable; default: all)")
    e.add_argument("--description")
    esub.add_parser("list", help="list endpoints with their health")
    for name, text in (("disable", "disable an endpoint"), ("enable", "re-enable an endpoint"),
                       ("rotate-secret", "new signing secret (printed once); old one still signs"),
                       ("drop-old-secrets", "sign with the newest secret only")):
        e = esub.add_parser(name, help=text)
        e.add_argument("id", type=int)
        if name == "disable":
            e.add_argument("--reason")
    for parser in esub.choices.values():
        parser.add_argument("--actor", default="system", help="admin making the change")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.fn(args)
        return 0
    except DocketError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a database or system failure: one line, no traceback
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
