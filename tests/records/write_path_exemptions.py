"""The writers tests/records/writer_scan.py finds in `core/` that tests/records/test_write_paths.py
does not run through a row, each with why (one line): the audit writer itself, helpers that
write inside a command's unit of work which a row runs, and writes that are not an actor's
act (queues, caches, counters, schema, the worker's bookkeeping). A new writer that should
leave an audit event gets a row, not a line here."""
from __future__ import annotations

EXEMPT: dict[str, str] = {
    # --- not an actor's act: schema, defaults, demo data, maintenance ---
    "core.app_setup.prepare_database": "every start: schema upgrade, default workflows and views",
    "core.store.db.upgrade_schema": "Alembic schema upgrade, not data",
    "core.store.statistics.planner_statistics": "ANALYZE for the query planner, not data",
    "core.workflows.definitions.ensure_default_workflows": "default workflows at start, not an "
                                                           "actor's act",
    "core.worklist.views.ensure_default_views": "default views at start, not an actor's act",
    "core.demo.generate.seed_demo_if_empty": "demo data at a demo start (the bulk loader)",
    "core.cases.retention_state.end_relationships_of_rejected": "migration 0021 and the demo "
                                                                "loader: columns only, by design",
    "core.cli.audit_verify.cmd_protect": "PostgreSQL grants and triggers (DDL), not data",
    "core.records.retention_erase.compact_after_erasure": "VACUUM, FTS optimise, WAL truncate "
                                                          "after an erasure (row 'erasure')",
    "core.store.case_counts.compact_case_counts": "derived counters (triggers), not data",
    "core.worklist.overdue.compact_due_counts": "derived overdue counters, not data",
    "core.worklist.overdue.recount_due_counts": "derived overdue counters, not data",
    # --- caches, queues and the worker's bookkeeping ---
    "core.access.idempotency.settle": "the API's stored answer for an Idempotency-Key: a cache",
    "core.access.idempotency.purge_expired": "expired stored API answers deleted: a cache",
    "core.screening.job_queue.claim": "the screening queue's claim: worker bookkeeping",
    "core.screening.job_queue.done": "the screening queue's row done: worker bookkeeping",
    "core.screening.job_queue.release": "the screening queue's claim released: bookkeeping",
    "core.screening.rescreen.write_memories": "the screener's memo of its last screening: a "
                                              "cache",
    "core.notifications.circuit_board.publish": "a worker's circuit breaker states: bookkeeping",
    "core.notifications.circuit_board.forget": "a stopping worker's circuit states: bookkeeping",
    "core.notifications.fanout.expand_pending": "the dispatcher turns outbox rows (written in "
                                                "the audited decision) into deliveries",
    "core.notifications.leases.defer_target": "a delivery deferred behind an open circuit: "
                                              "delivery state",
    "core.notifications.leases.record_batch": "the dispatcher's outcomes via audit.record_many, "
                                              "the path row 'import' checks chained",
    "core.notifications.settle.audit_final": "the dispatcher's final outcome via audit.record, "
                                             "checked chained by every row",
    "core.notifications.mailbox.keep": "demo mode's mailbox of emails not sent (no SMTP)",
    "core.notifications.outbox.enqueue_staff_email": "staff email outbox row inside the digest's "
                                                     "unit of work",
    "core.notifications.reupload_tokens.create_reupload_token": "a link's token minted when the "
                                                                "email goes (row 'ask for "
                                                                "reuploads' audits the ask)",
    "core.worklist.digest.send_overdue_digest": "staff digest emails to the outbox; no case "
                                                "changes",
    "core.settings_store.note_app_url": "the address staff opened the app at (a default for "
                                        "links), not a saved setting",
    "core.settings_store.stored_or_create_secret": "a signing secret generated once on first "
                                                   "use",
    # --- audited through a path a row checks ---
    "core.signin.mfa.begin_enrolment": "a pending TOTP secret; audited when confirmed (row "
                                       "'second factor enrolled')",
    "core.signin.sessions.check": "a session's last-seen time; its end is audited by the _end "
                                  "that rows 'signed out' check",
    "core.signin.sessions.end_sessions_of_other_keys": "sessions of a rotated cookie key ended "
                                                       "at start, through the same _end",
    # --- derived values, no event of their own (named in the H5 report) ---
    "core.workflows.risk_cases.rescore_cases": "derived risk scores after a workflow's model "
                                               "changed (the change is audited)",
}
