"""audit sealed values: a case event's before/after stored only encrypted under its case's key

`audit_events` gains `sealed_values` (AES-256-GCM under a key derived from the case's subject
key; core/store/audit_values.py, docs/RECORDS.md "Personal data is committed, not stored").
Backfill, BATCH events at a time in id order: every event with a case whose key exists (one is
made for a case without a key row, as the seal would) and readable before/after gets them
sealed, and its `before`/`after` set to NULL. Events of a case whose key was destroyed
(erased) stay as they are. The hashed bodies do not change (they hold commitments), so the
chain still verifies. Pre-chain events holding floats round-trip (the sealed JSON keeps them
as Python writes them).

PostgreSQL: the audit log's guard (`python -m core audit protect`, core/store/audit_chain_guard.py)
refuses such an UPDATE; its row trigger is disabled around the rewrite (migrations run as the
schema's owner) and enabled again in the same transaction.

Downgrade: the sealed values opened back into `before`/`after`, then the column dropped.
docs/PERFORMANCE.md ("Audit chain") has the time measured at 100k+ events.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 03:30:00
"""
import os

import sqlalchemy as sa
from alembic import op

from core.store.audit_values import Ciphers, open_sealed, seal_values
from core.store.base import utcnow

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

BATCH = 5_000
_events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('case_id'),
                   sa.column('kind'), sa.column('before', sa.JSON(none_as_null=True)),
                   sa.column('after', sa.JSON(none_as_null=True)),
                   sa.column('sealed_values', sa.LargeBinary))
_keys = sa.table('audit_subject_keys', sa.column('case_id'), sa.column('key'),
                 sa.column('created_at', sa.DateTime))
_GUARD = "docket_audit_guard"


def _guard_installed(conn) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.scalar(sa.text(
        "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = 'audit_events' AND t.tgname = :name "
        "AND c.relnamespace = current_schema()::regnamespace"), {"name": _GUARD}))


def _set_guard(conn, enabled: bool) -> None:
    conn.execute(sa.text(f"ALTER TABLE audit_events {'ENABLE' if enabled else 'DISABLE'} "
                         f"TRIGGER {_GUARD}"))


def _keys_of(conn, case_ids: set[str], cache: dict[str, bytes | None], create: bool) -> None:
    wanted = sorted(c for c in case_ids if c not in cache)
    for i in range(0, len(wanted), 500):
        for case_id, key in conn.execute(sa.select(_keys.c.case_id, _keys.c.key)
                                         .where(_keys.c.case_id.in_(wanted[i:i + 500]))):
            cache[case_id] = bytes.fromhex(key) if key else None
    missing = [c for c in wanted if c not in cache]
    if missing and create:
        now = utcnow()
        rows = [{"case_id": c, "key": os.urandom(32).hex(), "created_at": now} for c in missing]
        conn.execute(_keys.insert(), rows)
        cache.update((r["case_id"], bytes.fromhex(r["key"])) for r in rows)


def _rewrite(conn, where, change) -> int:
    """Runs `change(rows, keys)` -> update parameters over the events matching `where`, in id
    order, BATCH at a time; returns how many rows were rewritten."""
    guarded = _guard_installed(conn)
    if guarded:
        _set_guard(conn, False)
    keys: dict[str, bytes | None] = {}
    after_id, count = 0, 0
    update = (_events.update().where(_events.c.id == sa.bindparam('_id'))
              .values(before=sa.bindparam('_before'), after=sa.bindparam('_after'),
                      sealed_values=sa.bindparam('_sealed')))
    while True:
        rows = conn.execute(sa.select(_events).where(where, _events.c.id > after_id)
                            .order_by(_events.c.id).limit(BATCH)).all()
        if not rows:
            break
        params = change(conn, rows, keys)
        if params:
            conn.execute(update, params)
        count += len(params)
        after_id = rows[-1].id
    if guarded:
        _set_guard(conn, True)
    return count


def _seal_batch(conn, rows, keys) -> list[dict]:
    _keys_of(conn, {r.case_id for r in rows}, keys, create=True)
    ciphers, params = Ciphers(), []
    for r in rows:
        key = keys.get(r.case_id)
        if key is None:  # erased: its later events stay in clear, as the chain holds them
            continue
        params.append({"_id": r.id, "_before": None, "_after": None,
                       "_sealed": seal_values(key, r.case_id, r.kind, r.before, r.after,
                                              cipher=ciphers.of(r.case_id, key))})
    return params


def _open_batch(conn, rows, keys) -> list[dict]:
    _keys_of(conn, {r.case_id for r in rows}, keys, create=False)
    ciphers, params = Ciphers(), []
    for r in rows:
        key = keys.get(r.case_id)
        before = after = None
        if key is not None:
            before, after = open_sealed(key, r.case_id, r.kind, r.sealed_values,
                                        cipher=ciphers.of(r.case_id, key))
        params.append({"_id": r.id, "_before": before, "_after": after, "_sealed": None})
    return params


def upgrade() -> None:
    op.add_column('audit_events', sa.Column('sealed_values', sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    _rewrite(conn, sa.and_(_events.c.case_id.is_not(None),
                           sa.or_(_events.c.before.is_not(None), _events.c.after.is_not(None))),
             _seal_batch)


def downgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, _events.c.sealed_values.is_not(None), _open_batch)
    op.drop_column('audit_events', 'sealed_values')
