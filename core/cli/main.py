"""`python -m core`: Docket from the shell. Calls the same service functions as the pages.

Every command has --help. Errors print one line on stderr and exit non-zero, no traceback.
This module only parses and maps errors; the commands are in cases.py and admin.py, what
they share in shell.py. Those keep their `from core...` imports inside the command functions
so that `python -m core --help` stays fast.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from core.access.roles import Role
from core.cli import admin, audit, case_file, cases, retention, screening, worklist
from core.errors import DocketError
from core.worklist.sort_keys import SORT_KEYS


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

    sp = add("init", "Create or upgrade the schema, default workflows and views", cases.cmd_init)
    sp.add_argument("--demo", action="store_true", help="also seed demo cases and demo users")

    sp = add("backup", "Back up the database while the app runs (SQLite: online copy; "
             "PostgreSQL: pg_dump), see docs/DEPLOY.md", admin.cmd_backup)
    sp.add_argument("file", help="the backup file to write (must not exist)")
    sp.add_argument("--force", action="store_true", help="replace FILE if it exists")

    sp = add("restore", "Replace the database with a backup (stop the app and workers first)",
             admin.cmd_restore)
    sp.add_argument("file", help="a file written by `backup`")
    sp.add_argument("--yes", action="store_true", help="confirm: everything since is lost")
    sp.add_argument("--force", action="store_true",
                    help="restore even though the database holds cases")

    sp = add("demo", "Generate demo cases in bulk (1,000,000 in about two minutes)", cases.cmd_demo)
    sp.add_argument("--cases", type=int, default=1000, help="how many cases (default 1000)")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sp.add_argument("--score-risk", action="store_true",
                    help="score the new cases' risk too (docs/RISK.md; about 0.5 ms a case): "
                         "without it they read 'not scored yet' until their first change")

    sp = add("import", "Import cases from a JSON file (validated whole; see docs/INTAKE.md)",
             cases.cmd_import)
    sp.add_argument("file", help="path of the JSON file")
    sp.add_argument("--actor", default="system", help="who the audit trail names")

    sp = add("event", "Apply an outside event to a case (collection completed, process, KYC, "
                      "document upload, relationship ended)", cases.cmd_event)
    sp.add_argument("case", help="case id")
    sp.add_argument("event", help="collection_completed, process_started, process_completed, "
                                  "process_failed, kyc_sent, kyc_completed, document_uploaded, "
                                  "relationship_ended")
    sp.add_argument("--process", help="process name (process_* events)")
    sp.add_argument("--ubo", type=int, help="UBO id (kyc_* events)")
    sp.add_argument("--result", help="KYC vendor result as JSON (kyc_completed)")
    sp.add_argument("--detail", help="free text detail (process_failed)")
    sp.add_argument("--document", type=int, help="document id (document_uploaded)")
    sp.add_argument("--file", help="file to upload (document_uploaded)")
    sp.add_argument("--actor", default="system", help="who the audit trail names")

    sp = add("show", "Show a case: status, available actions, blocks, version", cases.cmd_show)
    sp.add_argument("case", help="case id")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--as", dest="as_user", help="show the actions this user may take")

    sp = add("act", "Take a case or block action as a user", cases.cmd_act)
    sp.add_argument("case", help="case id")
    sp.add_argument("action", choices=list(cases.ACT_ACTIONS), metavar="ACTION",
                    help="; ".join(f"{k}: {v}" for k, v in cases.ACT_ACTIONS.items()))
    sp.add_argument("--as", dest="as_user", required=True, help="acting user")
    sp.add_argument("--block", help="document:ID or kyc:ID")
    sp.add_argument("--reason", help="reason (required for reject and document re-upload)")
    sp.add_argument("--version", type=int,
                    help="case version you saw (default: the current one)")
    sp.add_argument("--to", help="assignee (assign)")
    sp.add_argument("--text", help="note text (note)")
    sp.add_argument("--tag", help="the tag (tag, untag)")
    sp.add_argument("--set", action="append", help="FIELD=VALUE (edit, edit-subject; "
                                                   "repeatable)")
    sp.add_argument("--subject", help="edit-subject: entity or ubo:ID")
    sp.add_argument("--hit", type=int, help="a screening hit's id (disposition-hit, "
                                            "sign-off-hit)")
    sp.add_argument("--disposition", choices=("true_match", "false_positive",
                                               "needs_information"),
                    help="disposition-hit: the decision")

    def filters(sp):
        sp.add_argument("--view", help="view name or id (see `views`)")
        sp.add_argument("--status", action="append", help="status, e.g. manual_review (repeatable)")
        sp.add_argument("--assignee", default="anyone",
                        choices=["anyone", "me", "unassigned", "someone"])
        sp.add_argument("--as", dest="as_user", help="who 'me' is")
        sp.add_argument("--search", help="name, email, case id or registration number")
        sp.add_argument("--overdue", action="store_true", help="only cases past their due time")

    sp = add("list", "List cases of a view, filtered, sorted and paged", cases.cmd_list)
    filters(sp)
    sp.add_argument("--page", type=int, default=1)
    sp.add_argument("--page-size", type=int, default=50)
    sp.add_argument("--sort", default="created_at", choices=list(SORT_KEYS))
    sp.add_argument("--ascending", action="store_true")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("export", "Export every case matching the filters as CSV (needs --as USER)",
             cases.cmd_export)
    filters(sp)
    sp.add_argument("--sort", default="created_at", choices=list(SORT_KEYS),
                    help="the list's sort column (default created_at)")
    sp.add_argument("--order", default="desc", choices=["asc", "desc"],
                    help="ascending or descending (default desc: newest first)")
    sp.add_argument("--output", "-o", help="CSV file to write (default: stdout)")

    add("views", "List the views with their case counts", cases.cmd_views)

    sp = add("next", "Take the most urgent case of a view (assigned to you) and print its id",
             worklist.cmd_next)
    sp.add_argument("--as", dest="as_user", required=True, help="the reviewer taking it")
    sp.add_argument("--view", help="view name or id (default: every case)")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("bulk", "One action on many cases (at most 500): assign, unassign, tag, untag, "
                     "reject; each case checked on its own, the refused ones listed with why "
                     "(exit status 3)", worklist.cmd_bulk)
    sp.add_argument("action", choices=["assign", "unassign", "tag", "untag", "reject"],
                    metavar="ACTION", help="assign (--to; a reviewer: only themself), unassign, "
                    "tag/untag (--tag), reject (--reason; only the cases assigned to you); "
                    "all but assign-to-me need a lead or an admin")
    sp.add_argument("--case", action="append", help="a case id (repeatable; default: every "
                                                    "case of the filters below)")
    filters(sp)
    sp.add_argument("--sort", default="created_at", choices=list(SORT_KEYS),
                    help="the order the cases are done in (default created_at)")
    sp.add_argument("--order", default="desc", choices=["asc", "desc"])
    sp.add_argument("--to", help="assignee (assign; default: yourself)")
    sp.add_argument("--tag", help="the tag (tag, untag)")
    sp.add_argument("--reason", help="the reason (reject)")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("digest", "Queue today's overdue digest emails (assignees and admins; once a day, "
                       "for cron)", worklist.cmd_digest)
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("users", "Manage users: add, list, disable, enable, set-password, set-role, "
                      "reset-mfa, sessions, sign-out-everywhere", admin.cmd_users)
    usub = sp.add_subparsers(dest="users_command", required=True, metavar="USERS_COMMAND")
    u = usub.add_parser("list", help="list users")
    u = usub.add_parser("add", help="add a user (password asked, or --password-stdin)")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=[r.value for r in Role])
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
    u.add_argument("role", choices=[r.value for r in Role])
    u = usub.add_parser("reset-mfa", help="remove a user's second factor (a lost phone): they "
                                          "set it up again at their next sign-in")
    u.add_argument("username")
    u = usub.add_parser("sessions", help="list open sign-in sessions")
    u.add_argument("--user", help="only this user's")
    u = usub.add_parser("sign-out-everywhere",
                        help="end every session of a user (signed out at their next action)")
    u.add_argument("username")
    for parser in usub.choices.values():
        parser.add_argument("--actor", default="system", help="admin making the change")

    sp = add("worker", "Deliver queued notifications (webhooks, email, SMS, CRM), screen "
                       "queued cases against the loaded lists and write the daily signed audit "
                       "checkpoint; several may run at once",
             admin.cmd_worker)
    sp.add_argument("--once", action="store_true",
                    help="send what is due now and screen every queued case, then exit")
    sp.add_argument("--concurrency", type=int,
                    help="deliveries sent at once (default DOCKET_WORKER_CONCURRENCY)")
    sp.add_argument("--verbose", "-v", action="store_true", help="log every attempt")

    sp = add("deliveries", "List notification deliveries, show attempts, replay failed ones",
             admin.cmd_deliveries)
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

    sp = add("endpoints", "Manage webhook endpoints: add, list, disable, enable, rotate-secret, drop-old-secrets",
             admin.cmd_endpoints)
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

    sp = add("keys", "Manage API keys: add (shown once), list, revoke", admin.cmd_keys)
    ksub = sp.add_subparsers(dest="keys_command", required=True, metavar="KEYS_COMMAND")
    k = ksub.add_parser("add", help="add an API key acting as a user; prints the key once")
    k.add_argument("name", help="a name for the key, e.g. onboarding-prod")
    k.add_argument("--scopes", required=True,
                   help="comma-separated: intake, events, read, act")
    k.add_argument("--as-user", required=True, dest="as_user",
                   help="the user the key acts as (their role applies)")
    ksub.add_parser("list", help="list API keys (never the keys themselves)")
    k = ksub.add_parser("revoke", help="revoke an API key at once")
    k.add_argument("name")
    for parser in ksub.choices.values():
        parser.add_argument("--actor", default="system", help="admin making the change")

    sp = add("hooks", "Manage vendor callback sources: add (secret shown once), list, "
                      "rotate-secret, drop-old-secrets, set-mapping, disable, enable",
             admin.cmd_hooks)
    hsub = sp.add_subparsers(dest="hooks_command", required=True, metavar="HOOKS_COMMAND")
    h = hsub.add_parser("add", help="add a source (POST /api/v1/hooks/NAME); prints its "
                                    "signing secret once")
    h.add_argument("name", help="a name for the source, e.g. sumsub")
    h.add_argument("--as-user", required=True, dest="as_user",
                   help="the user its events are reported as (must be allowed to import)")
    h.add_argument("--mapping", required=True, help="the mapping file (.json, .yaml, .yml)")
    hsub.add_parser("list", help="list sources with their outcomes (never their secrets)")
    for name, text in (("rotate-secret", "new signing secret (printed once); the old ones "
                                         "still verify until drop-old-secrets"),
                       ("drop-old-secrets", "only the newest secret verifies"),
                       ("set-mapping", "replace the mapping (the secret stays)"),
                       ("disable", "refuse its callbacks"), ("enable", "accept them again")):
        h = hsub.add_parser(name, help=text)
        h.add_argument("name")
        if name == "set-mapping":
            h.add_argument("--mapping", required=True, help="the mapping file (.json, .yaml)")
    for parser in hsub.choices.values():
        parser.add_argument("--actor", default="system", help="admin making the change")

    screening.add_parser(sub)  # `screening load|lists|versions`: core/cli/screening.py
    audit.add_parser(sub)  # `audit verify|checkpoint`: core/cli/audit.py
    case_file.add_parser(sub)  # `export-case`, `verify-bundle`: core/cli/case_file.py
    retention.add_parser(sub)  # `retention run|hold|release|request-erasure`: core/cli/retention.py
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.fn(args) or 0
    except DocketError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a database or system failure: one line, no traceback
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2
