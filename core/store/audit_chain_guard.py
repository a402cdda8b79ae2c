"""PostgreSQL's guard on the audit log: triggers that refuse to change or delete audit rows,
and grants for the application's role (docs/DEPLOY.md, "The audit log's guard").

Installed by the schema's owner (`python -m core audit protect --app-role ROLE`), not by a
migration: the owner can always drop a trigger, so the guard binds the role the app runs as,
which owns nothing. What the triggers still allow:
- sealing: an unchained row (seq NULL) given its chain columns, nothing else changed (its
  `sealed_values` neither; core/store/audit_chain.py does it at every commit);
- erasure: before/after set to NULL, and `sealed_values` to NULL or left as it is, on a row
  whose case's subject key is destroyed;
- the head moving forward (a higher seq), a subject key being destroyed (key NULL).
Everything else (UPDATE, DELETE, TRUNCATE) raises "audit log is append-only: ...".
A superuser can still switch triggers off: that is what signed checkpoints are for.
"""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

_SAME = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}"
                     for c in ("id", "case_id", "at", "actor", "kind", "via"))
_SAME_CHAIN = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}"
                           for c in ("seq", "prev_hash", "hash", "body", "case_prev_seq"))

GUARD_SQL = [
    f"""CREATE OR REPLACE FUNCTION docket_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND {_SAME} THEN
    IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND NEW.before::text IS NOT DISTINCT FROM OLD.before::text
       AND NEW.after::text IS NOT DISTINCT FROM OLD.after::text
       AND NEW.sealed_values IS NOT DISTINCT FROM OLD.sealed_values THEN
      RETURN NEW;  -- sealing
    END IF;
    IF OLD.seq IS NOT NULL AND {_SAME_CHAIN} AND NEW.before IS NULL AND NEW.after IS NULL
       AND (NEW.sealed_values IS NULL OR NEW.sealed_values = OLD.sealed_values)
       AND EXISTS (SELECT 1 FROM audit_subject_keys k WHERE k.case_id = OLD.case_id
                   AND k.key IS NULL AND k.destroyed_at IS NOT NULL) THEN
      RETURN NEW;  -- erasure of a case whose key is destroyed
    END IF;
  END IF;
  RAISE EXCEPTION 'audit log is append-only: % on audit_events refused (docs/RECORDS.md)', TG_OP;
END $$""",
    """CREATE OR REPLACE FUNCTION docket_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit log is append-only: % on audit_chain_head refused (docs/RECORDS.md)',
    TG_OP;
END $$""",
    """CREATE OR REPLACE FUNCTION docket_audit_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.case_id = OLD.case_id AND NEW.key IS NULL
     AND NEW.destroyed_at IS NOT NULL AND NEW.created_at = OLD.created_at THEN
    RETURN NEW;  -- a key destroyed
  END IF;
  RAISE EXCEPTION 'audit log is append-only: % on audit_subject_keys refused (docs/RECORDS.md)',
    TG_OP;
END $$""",
    "DROP TRIGGER IF EXISTS docket_audit_guard ON audit_events",
    "CREATE TRIGGER docket_audit_guard BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION docket_audit_guard()",
    "DROP TRIGGER IF EXISTS docket_audit_truncate ON audit_events",
    "CREATE TRIGGER docket_audit_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION docket_audit_guard()",
    "DROP TRIGGER IF EXISTS docket_audit_head_guard ON audit_chain_head",
    "CREATE TRIGGER docket_audit_head_guard BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION docket_audit_head_guard()",
    "DROP TRIGGER IF EXISTS docket_audit_key_guard ON audit_subject_keys",
    "CREATE TRIGGER docket_audit_key_guard BEFORE UPDATE OR DELETE ON audit_subject_keys "
    "FOR EACH ROW EXECUTE FUNCTION docket_audit_key_guard()",
]
UNGUARD_SQL = [
    "DROP TRIGGER IF EXISTS docket_audit_guard ON audit_events",
    "DROP TRIGGER IF EXISTS docket_audit_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS docket_audit_head_guard ON audit_chain_head",
    "DROP TRIGGER IF EXISTS docket_audit_key_guard ON audit_subject_keys",
]
_TABLES = "audit_events, audit_chain_head, audit_subject_keys"


def grant_sql(app_role: str) -> list[str]:
    """The grants of the app's role on the audit tables: read, append, seal; no DELETE or
    TRUNCATE (the triggers narrow UPDATE to sealing and erasure)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", app_role):
        raise ValueError(f"not a plain role name: {app_role!r}")
    return [f"REVOKE ALL ON {_TABLES} FROM {app_role}",
            f"GRANT SELECT, INSERT, UPDATE ON {_TABLES} TO {app_role}"]


def protect_audit_log(conn: Connection, app_role: str | None = None) -> None:
    """Installs the triggers (and, given the app's role, its grants). PostgreSQL only."""
    if conn.dialect.name != "postgresql":
        raise ValueError("the audit log's guard is for PostgreSQL (SQLite has no roles)")
    for statement in GUARD_SQL + (grant_sql(app_role) if app_role else []):
        conn.execute(text(statement))


def unprotect_audit_log(conn: Connection) -> None:
    """Removes the triggers (the owner's choice, e.g. to restore a backup)."""
    for statement in UNGUARD_SQL:
        conn.execute(text(statement))
