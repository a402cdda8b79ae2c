"""The admin commands of `python -m core`: users, worker, deliveries, endpoints, keys, hooks,
backup and restore.

Apart from cases.py because these run the installation (people, notifications), not cases.
`from core...` imports sit inside the command functions only so `python -m core --help`
stays fast (they pull in SQLAlchemy).
"""
from __future__ import annotations

import logging
import signal
import sys
import threading

from core.cli.shell import database, print_json, read_password
from core.errors import DocketError


def cmd_users(args) -> None:
    from core.access import users
    db = database()
    if args.users_command == "list":
        for u in users.list_users(db):
            flags = " ".join(f for f, on in (("disabled", u.disabled), ("demo", u.is_demo)) if on)
            print(f"{u.username:<16} {u.role:<9} {u.name:<28} {flags}")
    elif args.users_command == "add":
        password = read_password(args)
        users.add_user(db, args.username, args.name or args.username, args.role, password,
                       email=args.email or "", actor=args.actor)
        print(f"added {args.username} ({args.role})")
    elif args.users_command in ("disable", "enable"):
        users.set_disabled(db, args.username, args.users_command == "disable", actor=args.actor)
        print(f"{args.users_command}d {args.username}")
    elif args.users_command == "set-password":
        users.set_password(db, args.username, read_password(args), actor=args.actor)
        print(f"password set for {args.username}")
    elif args.users_command == "set-role":
        users.set_role(db, args.username, args.role, actor=args.actor)
        print(f"{args.username} is now {args.role}")
    else:
        _sign_in_commands(db, args)


def _sign_in_commands(db, args) -> None:
    """Second factors and sessions (core/signin): the way back for an admin who lost the
    phone, with the database in hand."""
    from core.signin import mfa, sessions
    if args.users_command == "reset-mfa":
        mfa.reset_mfa(db, args.username, actor=args.actor)
        print(f"second factor of {args.username} removed; their sessions ended; they set it up "
              "again at their next sign-in")
    elif args.users_command == "sessions":
        for r in sessions.list_open(db, actor=args.actor, username=args.user):
            print(f"{r.id[:12]}  {r.username:<16} {r.method:<8} {r.state:<6} "
                  f"started {r.started_at:%Y-%m-%d %H:%M}  seen {r.last_seen_at:%Y-%m-%d %H:%M}"
                  f"  {r.client_addr}")
    elif args.users_command == "sign-out-everywhere":
        ended = sessions.sign_out_everywhere(db, args.username, actor=args.actor)
        print(f"{ended} session(s) of {args.username} ended")


def cmd_worker(args) -> None:
    """Deliver notifications (webhooks, email, SMS, CRM calls; docs/NOTIFICATIONS.md),
    screen queued cases with the built-in screener (docs/SCREENING.md), write the daily
    audit checkpoint and run the daily retention dry run (docs/RECORDS.md)."""
    from core.notifications.dispatcher import Dispatcher, DispatcherConfig
    if args.concurrency is not None and args.concurrency < 1:
        raise DocketError("--concurrency must be at least 1")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    from core.screening.runner import ScreeningRunner
    db = database()
    dispatcher = Dispatcher(db, DispatcherConfig.from_settings(concurrency=args.concurrency))
    screener = ScreeningRunner(db)
    if args.once:
        n = dispatcher.run_once()
        print(f"{n} delivery attempt(s) made")
        print(f"{screener.drain()} case(s) screened")
        return
    # the daily audit checkpoint and the daily retention dry run (docs/RECORDS.md)
    from core.records import checkpoint, retention_daily
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"worker {dispatcher.worker_id} delivering with {dispatcher.config.concurrency} "
          "thread(s), screening queued cases, writing the daily audit checkpoint and running "
          "the daily retention dry run; Ctrl-C stops it after the work in flight",
          file=sys.stderr)
    screening = threading.Thread(target=screener.run_forever, args=(stop,),
                                 name="docket-screener")
    screening.start()
    checkpoints = threading.Thread(target=checkpoint.run_daily_checkpoints, args=(db, stop),
                                   name="docket-audit-checkpoint")
    checkpoints.start()
    reviews = threading.Thread(target=retention_daily.run_daily_reviews, args=(db, stop),
                               name="docket-retention-review")
    reviews.start()
    dispatcher.run_forever(stop)
    screening.join()
    checkpoints.join()
    reviews.join()


def cmd_deliveries(args) -> None:
    from core.notifications import deliveries as dl
    db = database()
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
        print_json([r.__dict__ for r in rows])
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
    db = database()
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


def cmd_keys(args) -> None:
    from core.access import api_keys
    db = database()
    if args.keys_command == "add":
        created = api_keys.create_key(db, args.name, scopes=args.scopes,
                                      acting_user=args.as_user, actor=args.actor)
        k = created.info
        print(f"API key {k.name} added ({k.prefix}..., scopes {','.join(k.scopes)}, "
              f"acts as {k.acting_user})")
        print(f"key (shown once, keep it now): {created.secret}")
    elif args.keys_command == "list":
        for k in api_keys.list_keys(db):
            used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
            state = f"REVOKED {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            print(f"{k.name:<24} {k.prefix}...  scopes={','.join(k.scopes)}  "
                  f"as={k.acting_user}  {used}  {state}")
    elif args.keys_command == "revoke":
        api_keys.revoke_key(db, args.name, actor=args.actor)
        print(f"API key {args.name} revoked")


def cmd_hooks(args) -> None:
    from core.intake import hook_mapping, hooks
    db = database()
    if args.hooks_command == "add":
        created = hooks.create_source(db, args.name, mapping=hook_mapping.read_mapping(args.mapping),
                                      acting_user=args.as_user, actor=args.actor)
        h = created.info
        print(f"hook source {h.name} added: POST /api/v1/hooks/{h.name}, acts as {h.acting_user}, "
              f"{len(h.mapping['rules'])} rule(s)")
        print(f"signing secret (shown once, give it to the vendor now): {created.secret}")
    elif args.hooks_command == "list":
        for h in hooks.list_sources(db):
            last = f"last {h.last_received_at:%Y-%m-%d %H:%M}" if h.last_received_at else "none yet"
            print(f"{h.name:<20} {'enabled' if h.enabled else 'DISABLED':<8} as={h.acting_user}  "
                  f"rules={len(h.mapping.get('rules', []))} secrets={h.active_secrets}  "
                  f"applied {h.applied} ignored {h.ignored} refused {h.refused}  {last}")
    elif args.hooks_command == "rotate-secret":
        secret = hooks.rotate_source_secret(db, args.name, actor=args.actor)
        print(f"new signing secret (shown once; the previous ones still verify until "
              f"`hooks drop-old-secrets {args.name}`): {secret}")
    elif args.hooks_command == "drop-old-secrets":
        hooks.drop_old_secrets(db, args.name, actor=args.actor)
        print(f"hook source {args.name} now verifies with its newest secret only")
    elif args.hooks_command == "set-mapping":
        hooks.set_source_mapping(db, args.name, hook_mapping.read_mapping(args.mapping),
                                 actor=args.actor)
        print(f"hook source {args.name}: mapping replaced")
    elif args.hooks_command in ("disable", "enable"):
        hooks.set_source_enabled(db, args.name, args.hooks_command == "enable", actor=args.actor)
        print(f"hook source {args.name} {args.hooks_command}d")


def cmd_backup(args) -> None:
    from core.store.backup import backup_database
    result = backup_database(database(), args.file, force=args.force)
    print(f"backup written: {result.path} ({result.size:,} bytes, {result.cases:,} cases)")


def cmd_restore(args) -> None:
    from core.store.backup import restore_database
    if not args.yes:
        raise DocketError("a restore replaces the whole database with the backup: stop the "
                          "app servers and workers, then run it again with --yes")
    cases = restore_database(database(), args.file, force=args.force)
    print(f"restored from {args.file}: {cases:,} cases; start the app servers again")
