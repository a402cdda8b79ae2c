"""Signed checkpoints (core/records/checkpoint.py, core/records/signed_note.py): the key file,
the note's format and signature, checkpoints over the real chain, the attack they exist for
(an old event edited and the whole chain re-hashed after it), inclusion proofs, the worker's
daily one, and the CLI."""
from __future__ import annotations

import base64
import os
import stat
import time
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select, text, update

from core.cli.main import main as cli_main
from core.errors import InvalidInput
from core.records import checkpoint, merkle, signed_note
from core.records.signed_note import NoteBody, NoteError
from core.store import audit
from core.store.audit_chain_format import body_of, event_hash
from core.store.models import AuditEvent

T0 = datetime(2026, 12, 1, 9, 0, 0)


@pytest.fixture(autouse=True)
def key_file(tmp_path, monkeypatch):
    """Each test signs with a key file of its own, in its temporary folder."""
    path = tmp_path / "keys" / "audit-signing.key"
    monkeypatch.setenv("DOCKET_AUDIT_SIGNING_KEY", str(path))
    return path


def record_events(db, n, *, start=0):
    """n chained events without a case (their bodies hold the values in clear)."""
    for i in range(start, start + n):
        with db.unit_of_work() as s:
            audit.record(s, case_id=None, actor="admin", kind="settings.changed",
                         before={"n": i}, after={"n": i + 1})


def chain_rows(db):
    with db.read() as s:
        return s.execute(select(AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash,
                                AuditEvent.hash, AuditEvent.body)
                         .order_by(AuditEvent.seq)).all()


# --- the key -----------------------------------------------------------------------------

def test_the_key_is_created_once_private_and_its_public_half_beside_it(key_file):
    assert not key_file.exists()
    key = checkpoint.load_signing_key()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    pub = key_file.with_name("audit-signing.key.pub")
    assert pub.read_text() == checkpoint.public_key_pem()
    again = checkpoint.load_signing_key()  # read back, not made anew
    assert signed_note.raw_public_key(again.public_key()) == \
        signed_note.raw_public_key(key.public_key())
    signature = checkpoint.sign(b"manifest")
    checkpoint.read_public_key(pub.read_text()).verify(signature, b"manifest")


def test_verifying_never_creates_a_key(db, key_file):
    with pytest.raises(Exception, match="no signing key"):
        checkpoint.verifying_key()
    assert not key_file.exists()


# --- the note ----------------------------------------------------------------------------

def _body(key, size=3, head=(3, "ab" * 32)):
    return NoteBody(signed_note.origin_of(key.public_key()), size, bytes(range(32)),
                    T0, *(head if size else (None, None)))


def test_the_note_is_a_c2sp_signed_note():
    key = Ed25519PrivateKey.generate()
    note = signed_note.sign_note(_body(key), key)
    text_part, sig_line = note.split("\n\n")
    assert text_part.split("\n") == [
        f"docket audit {signed_note.key_id(key.public_key()).hex()}", "3",
        base64.b64encode(bytes(range(32))).decode(), "time 2026-12-01T09:00:00Z",
        f"head 3 {'ab' * 32}"]
    assert sig_line.startswith("\u2014 docket-audit ") and sig_line.endswith("\n")
    blob = base64.b64decode(sig_line.split(" ")[2])
    # key id ‖ Ed25519 signature over the text with its last newline
    assert blob[:4] == signed_note.key_id(key.public_key()) and len(blob) == 68
    key.public_key().verify(blob[4:], (text_part + "\n").encode())
    assert signed_note.open_note(note, key.public_key()) == _body(key)


def test_an_empty_tree_has_no_head_line():
    key = Ed25519PrivateKey.generate()
    body = _body(key, size=0)
    note = signed_note.sign_note(NoteBody(body.origin, 0, merkle.EMPTY_ROOT, T0, None, None),
                                 key)
    assert "head" not in note
    assert signed_note.open_note(note, key.public_key()).size == 0


@pytest.mark.parametrize("change", [
    lambda n: n.replace("\n3\n", "\n4\n", 1),  # the size
    lambda n: n.replace("time 2026", "time 2025"),  # an extension line
    lambda n: n.replace("head 3 ", "head 2 "),
])
def test_a_changed_note_fails_its_signature(change):
    key = Ed25519PrivateKey.generate()
    note = signed_note.sign_note(_body(key), key)
    with pytest.raises(NoteError, match="does not verify"):
        signed_note.open_note(change(note), key.public_key())


def test_another_key_does_not_verify_the_note():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = signed_note.sign_note(_body(key), key)
    with pytest.raises(NoteError, match="no signature by this key"):
        signed_note.open_note(note, other.public_key())
    with pytest.raises(NoteError, match="no signature"):
        signed_note.open_note(note.split("\n\n")[0] + "\n", key.public_key())


# --- checkpoints over the chain ----------------------------------------------------------

def test_a_checkpoint_commits_to_every_chained_event(db):
    record_events(db, 7)
    rows = chain_rows(db)
    cp = checkpoint.write_checkpoint(db, reason="on demand", now=T0)
    assert cp.size == len(rows) >= 7
    assert cp.root == merkle.root([bytes.fromhex(r.hash) for r in rows])
    assert (cp.head_seq, cp.head_hash) == (rows[-1].seq, rows[-1].hash)
    assert checkpoint.latest_checkpoint(db) == cp
    body = signed_note.open_note(cp.note, checkpoint.public_key())
    assert (body.size, body.root, body.time) == (cp.size, cp.root, T0)
    assert checkpoint.verify_against_checkpoint(db, cp).ok
    # events after the checkpoint are fine: it covers its prefix
    record_events(db, 3, start=100)
    check = checkpoint.verify_against_checkpoint(db, cp)
    assert check.ok and check.size == cp.size
    later = checkpoint.write_checkpoint(db, reason="again")
    assert later.size == cp.size + 3
    assert [c.id for c in checkpoint.list_checkpoints(db)] == [later.id, cp.id]


def test_an_empty_chain_has_the_empty_root(db):
    with db.unit_of_work() as s:  # the fixtures' own events (demo users) are gone
        as_attacker(s)
        s.execute(text("DELETE FROM audit_events"))
    cp = checkpoint.write_checkpoint(db, reason="first")
    assert (cp.size, cp.root, cp.head_seq) == (0, merkle.EMPTY_ROOT, None)
    assert checkpoint.verify_against_checkpoint(db, cp).ok


def as_attacker(s):
    """On PostgreSQL, a superuser's transaction that skips triggers (so also any that refuse
    to change audit rows): the attacker checkpoints are there for."""
    if s.bind.dialect.name == "postgresql":
        s.execute(text("SET LOCAL session_replication_role = replica"))


def rehash_chain_from(db, seq, new_after):
    """The attack: change event `seq`'s values and body, then recompute every hash from it
    on so the chain's own links are all correct again (as someone with write access could)."""
    with db.unit_of_work() as s:
        as_attacker(s)
        rows = s.execute(select(AuditEvent).where(AuditEvent.seq >= seq - 1)
                         .order_by(AuditEvent.seq)).scalars().all()
        prev = rows[0].hash if rows[0].seq < seq else "0" * 64
        for e in rows:
            if e.seq < seq:
                continue
            after = new_after if e.seq == seq else e.after
            body = body_of(kind=e.kind, actor=e.actor, case_id=e.case_id, at=e.at, via=e.via,
                           case_prev_seq=e.case_prev_seq, before=e.before, after=after,
                           key=None)
            digest = event_hash(e.seq, prev, body)
            s.execute(update(AuditEvent).where(AuditEvent.id == e.id)
                      .values(after=after, body=body, prev_hash=prev, hash=digest))
            prev = digest
        s.execute(text("UPDATE audit_chain_head SET hash = :h WHERE id = 1"), {"h": prev})


def test_a_recomputed_chain_fails_against_an_earlier_checkpoint(db):
    record_events(db, 10)
    cp = checkpoint.write_checkpoint(db, reason="daily")
    record_events(db, 5, start=10)
    victim = chain_rows(db)[3]
    rehash_chain_from(db, victim.seq, {"n": 999})

    # the chain's own links are clean: every hash recomputes and follows the one before
    rows, prev = chain_rows(db), "0" * 64
    for r in rows:
        assert r.prev_hash == prev and r.hash == event_hash(r.seq, r.prev_hash, r.body)
        prev = r.hash
    assert '"n":999' in rows[3].body
    # but the signed checkpoint no longer fits
    check = checkpoint.verify_against_checkpoint(db, cp)
    assert not check.ok
    assert "no longer have the checkpoint's Merkle root" in check.problem
    assert f"seq {cp.head_seq}" in check.problem  # its last covered event changed too
    # a checkpoint signed after the edit covers the edited chain, so the earlier one matters
    assert checkpoint.verify_against_checkpoint(
        db, checkpoint.write_checkpoint(db, reason="after")).ok


def test_deleted_events_fail_the_checkpoint(db):
    record_events(db, 6)
    cp = checkpoint.write_checkpoint(db, reason="daily")
    with db.unit_of_work() as s:
        as_attacker(s)
        s.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": cp.head_seq})
    check = checkpoint.verify_against_checkpoint(db, cp)
    assert not check.ok and "deleted or the chain truncated" in check.problem


def test_a_forged_checkpoint_is_refused(db):
    record_events(db, 4)
    cp = checkpoint.write_checkpoint(db, reason="daily")
    forged = cp.note.replace(f"\n{cp.size}\n", f"\n{cp.size - 1}\n", 1)
    check = checkpoint.verify_against_checkpoint(db, forged)
    assert not check.ok and "does not verify" in check.problem
    stranger = Ed25519PrivateKey.generate().public_key()
    assert not checkpoint.verify_against_checkpoint(db, cp, stranger).ok


def test_inclusion_proofs_verify_against_the_checkpoint(db):
    record_events(db, 13)
    cp = checkpoint.write_checkpoint(db, reason="case file export")
    record_events(db, 2, start=50)  # after the checkpoint: not covered
    rows = chain_rows(db)
    wanted = [rows[0].seq, rows[5].seq, rows[cp.size - 1].seq, rows[-1].seq]
    proofs = checkpoint.inclusion_proofs(db, wanted, cp)
    assert sorted(proofs) == wanted[:3]
    for seq, p in proofs.items():
        assert p.hash == rows[p.index].hash and p.seq == rows[p.index].seq == seq
        assert merkle.verify_inclusion(p.index, cp.size, bytes.fromhex(p.hash),
                                       [bytes.fromhex(h) for h in p.proof], cp.root)
        assert not merkle.verify_inclusion(p.index, cp.size, bytes.fromhex(rows[-1].hash),
                                           [bytes.fromhex(h) for h in p.proof], cp.root)
    # against a chain rewritten since the checkpoint, no proof is handed out
    rehash_chain_from(db, rows[8].seq, {"n": 0})
    with pytest.raises(InvalidInput, match="no longer matches the checkpoint"):
        checkpoint.inclusion_proofs(db, [rows[0].seq], cp)


# --- the worker's daily checkpoint -------------------------------------------------------

def test_checkpoint_if_due_writes_one_a_day(db):
    record_events(db, 2)
    first = checkpoint.checkpoint_if_due(db, T0)  # none yet: due
    assert first is not None and first.reason == "daily" and first.created_at == T0
    assert checkpoint.checkpoint_if_due(db, T0 + timedelta(hours=23, minutes=59)) is None
    second = checkpoint.checkpoint_if_due(db, T0 + timedelta(hours=24))
    assert second is not None and second.id != first.id
    assert checkpoint.checkpoint_if_due(db, T0 + timedelta(hours=30)) is None
    # an on-demand checkpoint counts as the day's too
    checkpoint.write_checkpoint(db, reason="on demand", now=T0 + timedelta(hours=47))
    assert checkpoint.checkpoint_if_due(db, T0 + timedelta(hours=49)) is None
    assert checkpoint.checkpoint_if_due(db, T0 + timedelta(hours=71)) is not None


def test_the_app_servers_embedded_worker_writes_the_daily_checkpoint(db, monkeypatch):
    from core import app_setup
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "off")
    assert app_setup.start_background_checkpoints(db) is None
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "on")
    record_events(db, 2)
    thread = app_setup.start_background_checkpoints(db)
    assert thread is not None and app_setup.start_background_checkpoints(db) is thread
    deadline = time.monotonic() + 30
    while checkpoint.latest_checkpoint(db) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    written = checkpoint.latest_checkpoint(db)
    assert written is not None and written.reason == "daily"
    assert checkpoint.verify_against_checkpoint(db, written).ok


# --- the CLI -----------------------------------------------------------------------------

@pytest.fixture
def cli(db, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)

    def run(*argv):
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_cli_checkpoint_and_verify(cli, db, key_file, tmp_path):
    record_events(db, 5)
    code, note, err = cli("audit", "checkpoint", "--reason", "before the exam")
    assert code == 0, err
    assert note.startswith("docket audit ") and "\n\n\u2014 docket-audit " in note
    assert str(key_file) in err and "audit-signing.key.pub" in err
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(note)
    assert cli("audit", "verify-checkpoint")[0] == 0
    code, out, _ = cli("audit", "verify-checkpoint", str(saved))
    assert code == 0 and out.startswith("ok: ")
    code, out, _ = cli("audit", "checkpoints")
    assert "before the exam" in out
    code, pem, _ = cli("audit", "public-key")
    assert code == 0 and pem == checkpoint.public_key_pem()

    rehash_chain_from(db, chain_rows(db)[1].seq, {"n": -1})
    code, out, _ = cli("audit", "verify-checkpoint", str(saved))
    assert code == 1 and out.startswith("MISMATCH: ")
    assert cli("audit", "verify-checkpoint", "--all")[0] == 1
    # someone else's public key: the signature is the mismatch
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert cli("audit", "verify-checkpoint", "--public-key", str(other))[0] == 1
    # errors: no such file, no such checkpoint
    assert cli("audit", "verify-checkpoint", str(tmp_path / "missing.txt"))[0] == 2
    assert cli("audit", "verify-checkpoint", "--id", "999")[0] == 2


def test_cli_verify_without_a_key_or_a_checkpoint_is_an_error(cli, db, key_file):
    code, _, err = cli("audit", "verify-checkpoint")
    assert code == 2 and "no signing key" in err and not key_file.exists()
    checkpoint.load_signing_key()
    code, _, err = cli("audit", "verify-checkpoint")
    assert code == 2 and "no checkpoint stored yet" in err
